"""GET /api/v1/tokens and DELETE /api/v1/tokens/{id} (admin): a hospital's admin sees and
revokes its own hospital's tokens only, never a token or its hash; a revoked token is
refused at once by this process, though its verification was cached."""

from __future__ import annotations

from hospital_api import schemas_his as fs
from hospital_api.auth import hash_token
from tests.hospital_api.helpers import hospital_with_session


async def test_a_hospital_admin_lists_and_revokes_its_own_tokens(api):
    await hospital_with_session(api.services, "H001")
    await hospital_with_session(api.services, "H002")
    platform = await api.token("admin", name="ops")
    admin1 = await api.token("admin", "H001", name="admin-1")
    kiosk1 = await api.token("kiosk", "H001", name="kiosk-1")
    his2 = await api.token("his", "H002", name="his-2")

    status, body = await api.call("GET", "/tokens", admin1)
    assert status == 200, body
    fs.TokenList.model_validate(body)
    assert [(t["name"], t["hospital"]) for t in body["items"]] == [
        ("admin-1", "H001"),
        ("kiosk-1", "H001"),
    ]
    assert body["items"][0]["created_at"] == "2026-07-10T09:00:00+08:00"  # hospital time
    secrets = [h["Authorization"].split()[1] for h in (platform, admin1, kiosk1, his2)]
    text = str(body)
    assert not any(s in text or hash_token(s) in text for s in secrets)

    status, body = await api.call("GET", "/tokens", platform)
    assert [t["name"] for t in body["items"]] == ["ops", "admin-1", "kiosk-1", "his-2"]
    assert body["items"][0]["hospital"] is None
    status, body = await api.call("GET", "/tokens?hospital=H002", admin1)
    assert (status, body["code"]) == (404, "not_found")
    status, body = await api.call("GET", "/tokens", kiosk1)
    assert (status, body["code"]) == (403, "forbidden")

    status, body = await api.call("GET", "/slots?hospital=H001", kiosk1)
    assert status == 200  # the kiosk's token verified, and now cached (30 s)
    status, body = await api.call("GET", "/tokens", admin1)
    kiosk_id = body["items"][1]["id"]
    status, body = await api.call("DELETE", f"/tokens/{kiosk_id}", admin1)
    assert status == 200, body
    fs.TokenOut.model_validate(body)
    assert body["revoked_at"] == "2026-07-10T09:00:00+08:00"
    status, body = await api.call("GET", "/slots?hospital=H001", kiosk1)
    assert (status, body["code"]) == (401, "unauthorized")  # at once, not 30 s later
    status, again = await api.call("DELETE", f"/tokens/{kiosk_id}", admin1)
    assert (status, again["revoked_at"]) == (200, "2026-07-10T09:00:00+08:00")  # idempotent

    status, body = await api.call("GET", "/tokens", admin1)
    assert [t["name"] for t in body["items"]] == ["admin-1"]
    status, body = await api.call("GET", "/tokens?all=true", admin1)
    assert [t["name"] for t in body["items"]] == ["admin-1", "kiosk-1"]

    status, body = await api.call("GET", "/tokens", platform)
    ids = {t["name"]: t["id"] for t in body["items"]}
    status, body = await api.call("DELETE", f"/tokens/{ids['his-2']}", admin1)
    assert (status, body["code"]) == (404, "not_found")  # another hospital's: not there
    status, body = await api.call("DELETE", f"/tokens/{ids['ops']}", admin1)
    assert (status, body["code"]) == (404, "not_found")  # the platform's: not listed either
    status, body = await api.call("DELETE", f"/tokens/{ids['admin-1']}", admin1)
    assert (status, body["code"]) == (422, "invalid_request")  # not itself
    status, body = await api.call("DELETE", "/tokens/999", platform)
    assert (status, body["code"]) == (404, "not_found")
    status, body = await api.call("GET", "/slots?hospital=H002", his2)
    assert status == 200  # untouched
