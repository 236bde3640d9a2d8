"""The agent's softphone access token (#14): only operators who take calls get one, it
names the operator, it expires, and it never reaches the logs. Each token is decoded with
PyJWT and checked claim by claim, as Twilio would check it."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from agent_console.keys import SoftphoneSettings
from booking_core.kernel.pii import Cipher
from edge.voice_client import client_identity, operator_of
from engine.app import build_app
from engine.config import load_settings
from engine.keys import SERVICES
from tests.agent_console.helpers import GOOD_PASSWORD, add_operator, console_settings
from tests.support.world import World

ACCOUNT = "AC" + "a" * 32
API_KEY = "SK" + "b" * 32
API_SECRET = "test-api-key-secret-not-a-real-one-0123456789"  # 32+ bytes, as Twilio's are
APP = "AP" + "c" * 32
TTL = 600
PHONE = SoftphoneSettings(ACCOUNT, API_KEY, API_SECRET, APP, TTL)


@pytest.fixture
async def desk(services, hospitals, clock):
    """agent1 (agent) and viewer1 (report viewer) of H001; the clock at the real time, since
    PyJWT checks a token's expiry against the real time as Twilio does."""
    clock.set(datetime.now(UTC).replace(microsecond=0))
    return {
        "agent": await add_operator(services, "agent1", ("agent",), "H001"),
        "viewer": await add_operator(services, "viewer1", ("report_viewer",), "H001"),
    }


async def signed_in(browser, username: str, phone: SoftphoneSettings = PHONE):
    console = await browser(console_settings(softphone=phone))
    await console.sign_in(username)
    return console


async def ask_token(console, **kwargs):
    headers = {"Accept": "application/json", "X-CSRF-Token": console.csrf_token}
    headers |= kwargs.pop("headers", {})
    async with console.client.post("/console/voice/token", headers=headers, **kwargs) as resp:
        return resp.status, await resp.json(), resp.headers


def decode(token: str) -> dict:
    return jwt.decode(token, API_SECRET, algorithms=["HS256"])


async def test_an_agent_gets_a_token_that_names_them(browser, desk, clock):
    console = await signed_in(browser, "agent1")
    status, body, headers = await ask_token(console)
    assert status == 200, body
    assert headers["Cache-Control"] == "no-store"
    claims = decode(body["token"])
    assert claims["iss"] == API_KEY
    assert claims["sub"] == ACCOUNT
    identity = f"op-{desk['agent']}"
    assert claims["grants"]["identity"] == identity == body["identity"]
    voice = claims["grants"]["voice"]
    assert voice["outgoing"]["application_sid"] == APP
    assert voice["incoming"]["allow"] is True
    # Twilio's AccessToken writes no iat: it is valid from nbf (now) until exp
    assert claims["nbf"] == int(clock.now().timestamp())
    assert claims["exp"] - claims["nbf"] == TTL
    assert jwt.get_unverified_header(body["token"])["cty"] == "twilio-fpa;v=1"
    # the hospital's local time (Beijing), naming the same instant as the token's exp
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.utcoffset() == timedelta(hours=8)
    assert expires_at.timestamp() == claims["exp"]


async def test_the_lifetime_is_the_setting(browser, desk):
    console = await signed_in(browser, "agent1", replace(PHONE, token_ttl_seconds=120))
    status, body, _ = await ask_token(console)
    assert status == 200, body
    claims = decode(body["token"])
    assert claims["exp"] - claims["nbf"] == 120


async def test_a_token_expires(browser, desk, clock):
    """A token asked for one lifetime and a second ago is refused by PyJWT's expiry check."""
    console = await signed_in(browser, "agent1")
    clock.advance(seconds=-(TTL + 1))
    status, body, _ = await ask_token(console)
    assert status == 200, body
    with pytest.raises(jwt.ExpiredSignatureError):
        decode(body["token"])
    clock.advance(seconds=TTL + 1)
    assert decode((await ask_token(console))[1]["token"])["grants"]["identity"]


async def test_two_agents_get_their_own_identity(browser, services, desk):
    other = await add_operator(services, "agent2", ("agent",), "H001")
    first = await ask_token(await signed_in(browser, "agent1"))
    second = await ask_token(await signed_in(browser, "agent2"))
    assert decode(first[1]["token"])["grants"]["identity"] == f"op-{desk['agent']}"
    assert decode(second[1]["token"])["grants"]["identity"] == f"op-{other}"


async def test_a_report_viewer_gets_no_token(browser, desk):
    console = await signed_in(browser, "viewer1")
    status, body, _ = await ask_token(console)
    assert (status, body["error"]) == (403, "forbidden")
    assert "token" not in body


async def test_no_token_without_logging_in(browser, desk):
    console = await browser(console_settings(softphone=PHONE))
    await console.open_login()  # a CSRF token of the anonymous kind
    status, body, _ = await ask_token(console)
    assert status == 401
    assert "token" not in body


@pytest.mark.parametrize("csrf", [None, "forged-token"])
async def test_without_the_csrf_token_it_is_refused(browser, desk, csrf):
    console = await signed_in(browser, "agent1")
    headers = {} if csrf is None else {"X-CSRF-Token": csrf}
    async with console.client.post(
        "/console/voice/token", headers={"Accept": "application/json", **headers}
    ) as resp:
        status, body = resp.status, await resp.json()
    assert (status, body["error"]) == (403, "csrf_failed")
    assert "token" not in body


async def test_the_token_is_not_given_by_get(browser, desk):
    """POST only: a GET (a prefetch, a cached page, a link) gets no token, nor a JSON twin."""
    console = await signed_in(browser, "agent1")
    for path in ("/console/voice/token", "/console/voice/token.json"):
        async with console.client.get(path, headers={"Accept": "application/json"}) as resp:
            assert resp.status in (404, 405), path
            assert "eyJ" not in await resp.text()


@pytest.mark.parametrize(
    ("phone", "missing"),
    [
        (SoftphoneSettings(), ["twilio_account_sid", "twilio_api_key_sid",
                               "twilio_api_key_secret", "twilio_twiml_app_sid"]),
        (replace(PHONE, api_key_secret=""), ["twilio_api_key_secret"]),
        (replace(PHONE, twiml_app_sid=""), ["twilio_twiml_app_sid"]),
    ],
)  # fmt: skip
async def test_not_configured_is_a_503_that_says_what_is_missing(browser, desk, phone, missing):
    console = await signed_in(browser, "agent1", phone)
    status, body, _ = await ask_token(console)
    assert status == 503
    assert body["error"] == "softphone_not_configured"
    assert body["missing"] == missing
    assert all(name in body["message"] for name in missing)
    assert "token" not in body


async def test_not_configured_in_english_and_as_a_page(browser, desk):
    console = await signed_in(browser, "agent1", SoftphoneSettings())
    status, body, _ = await ask_token(console, params={"lang": "en"})
    assert status == 503
    assert body["message"].startswith("The softphone is not set up yet")
    headers = {"Accept": "text/html", "X-CSRF-Token": console.csrf_token}
    async with console.client.post("/console/voice/token", headers=headers) as resp:
        assert resp.status == 503
        assert "twilio_api_key_sid" in await resp.text()


async def test_the_token_and_the_secret_are_never_logged(browser, desk, caplog):
    caplog.set_level(logging.DEBUG)
    console = await signed_in(browser, "agent1")
    status, body, _ = await ask_token(console)
    assert status == 200
    token = body["token"]
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert f"op-{desk['agent']}" in logged  # the issue is logged, by identity
    for part in (token, *token.split("."), API_SECRET):
        assert part not in logged


def test_the_softphone_settings_never_show_the_secret():
    assert API_SECRET not in repr(PHONE)
    assert API_SECRET not in repr(console_settings(softphone=PHONE))


def test_an_identity_names_its_operator_and_nothing_else():
    assert client_identity(17) == "op-17"
    assert operator_of("op-17") == operator_of("client:op-17") == 17
    for other in ("op-", "op-0", "op-017", "op-1x", "agent1", "client:agent1", "op-" + "9" * 19):
        assert operator_of(other) is None, other


async def test_the_engine_signs_with_its_settings(aiohttp_client, tmp_path, clock):
    """From the engine's settings (the secret from a file) to a token Twilio would accept."""
    clock.set(datetime.now(UTC).replace(microsecond=0))
    secret_file = tmp_path / "twilio_api_key_secret"
    secret_file.write_text(API_SECRET + "\n", encoding="utf-8")
    env = {
        "GUAHAO_PII_KEY": Cipher.generate_key(),
        "GUAHAO_DB": str(tmp_path / "g.db"),
        "GUAHAO_TWILIO_ACCOUNT_SID": ACCOUNT,
        # the account SID also turns on texting over Twilio, which wants these two
        "GUAHAO_TWILIO_AUTH_TOKEN": "test-auth-token",
        "GUAHAO_TWILIO_SMS_FROM": "+10000000000",
        "GUAHAO_TWILIO_API_KEY_SID": API_KEY,
        "GUAHAO_TWILIO_API_KEY_SECRET_FILE": str(secret_file),
        "GUAHAO_TWILIO_TWIML_APP_SID": APP,
        "GUAHAO_VOICE_TOKEN_TTL_SECONDS": "300",
    }
    app = build_app(load_settings(env=env), clock=clock)
    client = await aiohttp_client(app)
    services = app[SERVICES]
    await World(services, "H001").hospital(name="医院H001")
    agent = await add_operator(services, "agent1", ("agent",), "H001")
    async with client.get("/console/login.json") as resp:
        csrf = (await resp.json())["csrf_token"]
    form = {"username": "agent1", "password": GOOD_PASSWORD, "csrf_token": csrf}
    async with client.post(
        "/console/login", data=form, headers={"Accept": "application/json"}
    ) as resp:
        assert resp.status == 200
        csrf = (await resp.json())["csrf_token"]
    headers = {"Accept": "application/json", "X-CSRF-Token": csrf}
    async with client.post("/console/voice/token", headers=headers) as resp:
        assert resp.status == 200
        claims = decode((await resp.json())["token"])
    assert (claims["iss"], claims["sub"]) == (API_KEY, ACCOUNT)
    assert claims["grants"]["identity"] == f"op-{agent}"
    assert claims["grants"]["voice"]["outgoing"]["application_sid"] == APP
    assert claims["exp"] - claims["nbf"] == 300
