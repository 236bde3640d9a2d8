"""One-time codes (TOTP) for platform and hospital admins: enrolment at the first log-in,
wrong and replayed codes refused, and counted towards the lockout."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pyotp

from agent_console.auth import qr_svg
from tests.agent_console.helpers import add_operator, code_at, table

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


async def test_admin_enrols_at_first_login_then_needs_a_code_each_time(
    browser, services, clock, hospitals
):
    await add_operator(services, "hadmin", ("hospital_admin",), "H001")
    alice = await browser()
    status, body = await alice.login("hadmin")
    assert (status, body["stage"]) == (200, "totp_enrol")
    assert (await alice.get("/operators"))[0] == 401  # not before the code

    status, enrol = await alice.get("/login/totp")
    secret = enrol["secret"]
    assert enrol["uri"].startswith("otpauth://totp/")
    assert (await alice.totp("000000" if code_at(secret, clock) != "000000" else "111111"))[
        0
    ] == 401
    status, body = await alice.totp(code_at(secret, clock))
    assert (status, body["stage"]) == (200, "ready")
    assert (await alice.get("/operators"))[0] == 200

    [row] = await table(services, "SELECT totp_secret_enc FROM operators WHERE id = 1")
    assert secret not in row["totp_secret_enc"]  # encrypted at rest

    clock.advance(seconds=60)
    bob = await browser()
    status, body = await bob.login("hadmin")
    assert body["stage"] == "totp"
    assert "secret" not in (await bob.get("/login/totp"))[1]
    assert (await bob.totp(code_at(secret, clock)))[1]["stage"] == "ready"


async def test_a_replayed_code_is_refused(browser, services, clock, hospitals):
    await add_operator(services, "root", ("platform_admin",), totp_secret=SECRET)
    alice = await browser()
    await alice.login("root")
    code = code_at(SECRET, clock)
    assert (await alice.totp(code))[1]["stage"] == "ready"

    bob = await browser()  # someone who saw the code over the shoulder, same 30 s
    await bob.login("root")
    status, body = await bob.totp(code)
    assert (status, body["error"]) == (401, "totp_failed")
    clock.advance(seconds=30)
    assert (await bob.totp(code_at(SECRET, clock)))[1]["stage"] == "ready"


async def test_a_code_a_step_either_side_is_accepted_but_not_older(
    browser, services, clock, hospitals
):
    await add_operator(services, "root", ("platform_admin",), totp_secret=SECRET)
    alice = await browser()
    await alice.login("root")
    assert (await alice.totp(code_at(SECRET, clock, steps=-3)))[0] == 401
    assert (await alice.totp(code_at(SECRET, clock, steps=-1)))[0] == 200


async def test_wrong_codes_count_towards_the_lock(browser, services, clock, hospitals):
    await add_operator(services, "root", ("platform_admin",), totp_secret=SECRET)
    alice = await browser()
    await alice.login("root")
    wrong = "123456" if pyotp.TOTP(SECRET).now() != "123456" else "654321"
    for _ in range(4):
        assert (await alice.totp(wrong))[0] == 401
    assert (await alice.totp(wrong))[0] == 401  # the 5th failure
    status, body = await alice.totp(code_at(SECRET, clock))
    assert (status, body["error"]) == (429, "login_locked")


async def test_agents_need_no_code(browser, services, hospitals):
    await add_operator(services, "agent1", ("agent",), "H001")
    alice = await browser()
    assert (await alice.login("agent1"))[1]["stage"] == "ready"


async def test_the_set_up_page_shows_the_secret_as_a_qr_code(browser, services, hospitals):
    """The page draws the otpauth URI as an inline SVG QR code (segno) beside the secret;
    the JSON twin keeps to the URI and the secret."""
    await add_operator(services, "hadmin", ("hospital_admin",), "H001")
    alice = await browser()
    await alice.login("hadmin")
    _status, enrol = await alice.get("/login/totp")
    assert "qr" not in " ".join(enrol)
    async with alice.client.get("/console/login/totp", headers={"Accept": "text/html"}) as resp:
        assert resp.status == 200
        page = await resp.text()
    found = re.search(r'<figure class="totp-qr">(<svg.*?</svg>)', page, re.S)
    assert found, page
    drawn = _modules(found.group(1))
    assert drawn == _modules(qr_svg(enrol["uri"]))
    assert drawn != _modules(qr_svg(enrol["uri"] + "x"))
    assert enrol["secret"] in page[found.end() :]  # the secret, to type in, beside it


def _modules(svg: str) -> str:
    """The dark modules of an SVG QR code (segno draws them as one path of class qrline)."""
    [path] = [p for p in ET.fromstring(svg).iter("path") if p.get("class") == "qrline"]
    return path.get("d")
