"""The Twilio signature middleware both Twilio doors use, on a bare app (no door): Twilio's
published vector is what "valid" means, and a request that fails is refused before any
handler runs."""

from __future__ import annotations

import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from edge.signature import FORM, TWILIO_ACCOUNT, BytesValidator, signature_middleware

TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_URL = "https://edge.example-hospital.test"
ACCOUNT = "AC" + "0" * 32
PUBLISHED_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PUBLISHED_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
PUBLISHED_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_twilios_published_vector_is_what_valid_means():
    """Twilio's documented example (token 12345): a refactor cannot change "valid"."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    validator = RequestValidator("12345")
    assert validator.compute_signature(url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert validator.validate(url, params, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    assert not validator.validate(url, {**params, "Digits": "1235"}, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


def test_the_middlewares_validator_agrees_with_the_published_vector():
    validator = BytesValidator("12345")
    assert validator.compute_signature(PUBLISHED_URL, PUBLISHED_PARAMS) == PUBLISHED_SIGNATURE
    assert validator.validate(PUBLISHED_URL, PUBLISHED_PARAMS, PUBLISHED_SIGNATURE)
    changed = {**PUBLISHED_PARAMS, "Digits": "1235"}
    assert not validator.validate(PUBLISHED_URL, changed, PUBLISHED_SIGNATURE)


def _app(token: str = TOKEN, public_url: str = PUBLIC_URL, account: str = "") -> web.Application:
    """A door-less app behind the middleware: its handler echoes the form it was given."""

    async def echo(request: web.Request) -> web.Response:
        return web.json_response(dict(request[FORM]))

    app = web.Application(middlewares=[signature_middleware(token, public_url)])
    app[TWILIO_ACCOUNT] = account
    app.router.add_post("/hook", echo)
    return app


def _form(**extra: str) -> dict[str, str]:
    return {"CallSid": "CA" + "1" * 32, "From": "+8613900000001", "Digits": "1", **extra}


def _signed(params: dict[str, str], url: str = PUBLIC_URL + "/hook") -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, params)}


async def test_the_published_vector_passes_the_signature_check(aiohttp_client):
    """Signed as Twilio's example is, the request gets past the signature (403) to the
    shape check of its identifiers (the example's CallSid is too short: 400)."""
    client = await aiohttp_client(_app("12345", "https://mycompany.com"))
    headers = {"X-Twilio-Signature": PUBLISHED_SIGNATURE}
    async with client.post("/myapp.php?foo=1&bar=2", data=PUBLISHED_PARAMS, headers=headers) as r:
        assert r.status == 400
        assert "CallSid" in await r.text()
    changed = {**PUBLISHED_PARAMS, "Digits": "1235"}
    async with client.post("/myapp.php?foo=1&bar=2", data=changed, headers=headers) as r:
        assert r.status == 403


async def test_a_signed_form_reaches_the_handler(aiohttp_client):
    client = await aiohttp_client(_app())
    form = _form()
    async with client.post("/hook", data=form, headers=_signed(form)) as resp:
        assert resp.status == 200
        assert await resp.json() == form


@pytest.mark.parametrize(
    "signature",
    ["", "forged-signature=", RequestValidator("not-the-token").compute_signature("x", {})],
)
async def test_an_unsigned_or_forged_request_is_refused(aiohttp_client, signature):
    client = await aiohttp_client(_app())
    async with client.post("/hook", data=_form(), headers={"X-Twilio-Signature": signature}) as r:
        assert r.status == 403


async def test_the_url_signed_is_the_public_one(aiohttp_client):
    client = await aiohttp_client(_app())
    form = _form()
    internal = _signed(form, str(client.make_url("/hook")))  # what a proxy forwards to
    async with client.post("/hook", data=form, headers=internal) as resp:
        assert resp.status == 403


@pytest.mark.parametrize(("token", "public_url"), [("", PUBLIC_URL), (TOKEN, ""), (TOKEN, "x")])
async def test_without_a_token_and_a_public_url_nothing_is_accepted(
    aiohttp_client, token, public_url
):
    client = await aiohttp_client(_app(token, public_url))
    form = _form()
    async with client.post("/hook", data=form, headers=_signed(form)) as resp:
        assert resp.status == 403
        assert "not configured" in await resp.text()


async def test_another_accounts_signed_form_is_refused(aiohttp_client):
    client = await aiohttp_client(_app(account=ACCOUNT))
    ours = _form(AccountSid=ACCOUNT)
    async with client.post("/hook", data=ours, headers=_signed(ours)) as resp:
        assert resp.status == 200
    theirs = _form(AccountSid="AC" + "f" * 32)
    async with client.post("/hook", data=theirs, headers=_signed(theirs)) as resp:
        assert resp.status == 400
        assert "AccountSid" in await resp.text()
