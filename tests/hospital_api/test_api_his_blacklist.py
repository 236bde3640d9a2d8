"""PUT /api/v1/blacklist/his: the hospital's system replaces its whole list of bans, all or
nothing, every bad entry named by its index; other sources' bans stay."""

from __future__ import annotations

import io
import json

from booking_core import blacklist
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.unit import rows
from hospital_api import schemas_his as fs
from hospital_api.web import BULK_BODY_BYTES
from tests.hospital_api.helpers import hospital_with_session
from tests.support.world import World, resident_id


async def bans(api) -> list[tuple[int, str]]:
    return [
        (e.patient_id, e.source) for e in await api.services.read(blacklist.list_blacklist, SYSTEM)
    ]


async def test_the_his_replaces_its_list_and_only_its_list(api):
    await hospital_with_session(api.services, "H001")
    world = World(api.services, "H001")
    id_b = resident_id()
    a, b = await world.patient("甲"), await world.patient("乙", id_number=id_b)
    his = await api.token("his", "H001")
    admin = await api.token("admin")
    status, body = await api.call(
        "POST", "/blacklist", admin,
        json={"patient_id": b.id, "until": "2026-08-31", "reason": "倒号"},
    )  # fmt: skip
    assert status == 201

    status, body = await api.call(
        "PUT", "/blacklist/his", his,
        json={"entries": [{"card_no": a.card_no, "until": "2026-08-31", "reason": "欠费"}]},
    )  # fmt: skip
    assert status == 200, body
    fs.HisBlacklistOut.model_validate(body)
    assert body["hospital"] == "H001"
    assert (len(body["added"]), body["lifted"], body["unchanged"]) == (1, [], [])
    assert await bans(api) == [(b.id, "admin"), (a.id, "his")]

    status, body2 = await api.call(
        "PUT", "/blacklist/his", his,
        json={"entries": [{"id_number": id_b, "until": "2026-08-31", "reason": "冒名"}]},
    )  # fmt: skip
    assert status == 200, body2
    assert body2["lifted"] == body["added"]
    assert await bans(api) == [(b.id, "admin"), (b.id, "his")]
    status, listed = await api.call("GET", "/blacklist?source=his", his)
    assert status == 200, listed
    assert [(e["id"], e["source"]) for e in listed["items"]] == [(body2["added"][0], "his")]


async def test_bad_entries_are_a_422_naming_each_and_nothing_changes(api):
    await hospital_with_session(api.services, "H001")
    a = await World(api.services, "H001").patient("甲")
    his = await api.token("his", "H001")
    stranger = resident_id(5151)
    before = await api.rows("blacklist", "outbox", "audit")
    status, body = await api.call(
        "PUT", "/blacklist/his", his,
        json={"entries": [
            {"card_no": a.card_no, "until": "2026-08-31", "reason": "欠费"},
            {"card_no": "000000", "until": "2026-08-31", "reason": "欠费"},
            {"id_number": stranger, "until": "2026-08-31", "reason": "欠费"},
            {"card_no": a.card_no, "until": "2026-07-01", "reason": "欠费"},
        ]},
    )  # fmt: skip
    assert status == 422, body
    assert body["code"] == "invalid_request"
    assert [(e["field"], e["type"]) for e in body["errors"]] == [
        ("entries.1", "not_found"),
        ("entries.2", "not_found"),
        ("entries.3", "invalid_input"),
    ]
    assert stranger not in str(body)  # masked: only its last 4
    assert await api.rows("blacklist", "outbox", "audit") == before

    status, body = await api.call(
        "PUT", "/blacklist/his", his, json={"entries": [{"until": "2026-08-31", "reason": "x"}]}
    )
    assert status == 422  # neither card nor ID: the schema's
    assert body["errors"][0]["field"].startswith("entries.0")


async def test_who_may_replace(api):
    await hospital_with_session(api.services, "H001")
    await hospital_with_session(api.services, "H002")
    a = await World(api.services, "H001").patient("甲")
    entry = {"card_no": a.card_no, "until": "2026-08-31", "reason": "欠费"}
    kiosk = await api.token("kiosk", "H001")
    status, body = await api.call("PUT", "/blacklist/his", kiosk, json={"entries": [entry]})
    assert (status, body["code"]) == (403, "forbidden")
    other = await api.token("his", "H002")
    status, body = await api.call(
        "PUT", "/blacklist/his", other, json={"hospital": "H001", "entries": [entry]}
    )
    assert (status, body["code"]) == (404, "not_found")
    status, body = await api.call("PUT", "/blacklist/his", other, json={"entries": [entry]})
    assert status == 422  # H001's card is no one at H002
    platform = await api.token("admin")
    status, body = await api.call("PUT", "/blacklist/his", platform, json={"entries": [entry]})
    assert status == 422  # a platform token names the hospital
    assert body["errors"][0]["field"] == "hospital"
    status, body = await api.call(
        "PUT", "/blacklist/his", platform, json={"hospital": "H001", "entries": [entry]}
    )
    assert status == 200


async def test_a_long_list_fits_though_other_bodies_stay_small(api):
    await hospital_with_session(api.services, "H001")
    world = World(api.services, "H001")
    await world.patients(1200)

    def all_cards(tx):
        found = yield rows("SELECT card_no FROM patients ORDER BY id")
        return [r["card_no"] for r in found]

    cards = await api.services.store.read(all_cards)
    body = {
        "entries": [{"card_no": c, "until": "2026-08-31", "reason": "欠费未结清"} for c in cards]
    }
    raw = json.dumps(body, ensure_ascii=False).encode()
    assert len(raw) > 65536  # more than the API takes elsewhere
    his = await api.token("his", "H001")
    status, answer = await api.call(
        "PUT", "/blacklist/his", his, data=raw, headers={"Content-Type": "application/json"}
    )
    assert status == 200, answer
    assert len(answer["added"]) == 1200

    padded = json.dumps({"patient_id": 1, "until": "2026-08-31", "reason": "x" * 70000})
    status, problem = await api.call(
        "POST", "/blacklist", his, data=padded, headers={"Content-Type": "application/json"}
    )
    assert (status, problem["code"]) == (413, "body_too_large")
    huge = b'{"entries": [' + b" " * (BULK_BODY_BYTES + 1) + b"]}"
    status, problem = await api.call(
        "PUT", "/blacklist/his", his, data=io.BytesIO(huge),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert (status, problem["code"]) == (413, "body_too_large")
