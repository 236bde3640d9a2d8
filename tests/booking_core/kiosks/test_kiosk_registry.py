"""The kiosk registry, each kiosk's status and its jobs' sends (#12), on both stores:
registered with a drawn id and the door's password hash (never the password), disabled,
given a new password; the broker's accounts; online/offline and each device since when,
told to the console only on a change; the jobs to publish again, in the order they were
made; the console's devices screen."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from booking_core import kiosks
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.errors import InvalidInput, InvalidState, NotFound
from tests.booking_core.helpers import audit_rows, events, last_event_id
from tests.booking_core.kiosks.hall import HASH, hall, jobs
from tests.support.world import World

ADMIN = Actor("operator", "admin01", None, Channel.AGENT)


def register(name: str = "门诊大厅1号机", code: str = "H001", **kw) -> kiosks.RegisterKiosk:
    kw.setdefault("password_hash", HASH)
    return kiosks.RegisterKiosk(actor=ADMIN, hospital_code=code, name=name, **kw)


def status(kiosk_id: str, online: bool = True, **devices: dict) -> kiosks.RecordKioskStatus:
    return kiosks.RecordKioskStatus(kiosk_id=kiosk_id, online=online, devices=devices)


OK = {"state": "ok"}


# --- the registry ------------------------------------------------------------------------


async def test_a_kiosk_is_registered_with_a_drawn_id_and_its_hash(services, world):
    await world.hospital()
    before = await last_event_id(services)
    kiosk = await services.handle(register(location=" 门诊楼  一层 "))
    assert re.fullmatch(r"k[0-9a-f]{8}", kiosk.kiosk_id)
    assert (kiosk.name, kiosk.location, kiosk.hospital_code, kiosk.disabled, kiosk.online) == (
        "门诊大厅1号机",
        "门诊楼 一层",
        "H001",
        False,
        None,
    )
    assert await services.read(kiosks.broker_accounts, SYSTEM) == [
        kiosks.BrokerAccount(kiosk.kiosk_id, HASH)
    ]
    assert await services.read(kiosks.kiosk, kiosk.kiosk_id, SYSTEM) == kiosk
    [event] = await events(services, before)
    assert (event.topic, event.key, event.payload) == (
        "kiosk.registered",
        kiosk.kiosk_id,
        {"kiosk_id": kiosk.kiosk_id, "name": "门诊大厅1号机", "location": "门诊楼 一层"},
    )
    [audit] = await audit_rows(services, kiosk.kiosk_id)
    assert (audit["action"], audit["actor"]) == ("kiosk.registered", "operator:admin01")
    assert HASH not in str(audit)
    second = await services.handle(register("2号机"))
    assert second.kiosk_id != kiosk.kiosk_id


async def test_a_kiosk_is_refused_a_taken_name_or_a_hash_the_password_file_cannot_hold(
    services, world
):
    await world.hospital()
    await services.handle(register())
    with pytest.raises(InvalidInput) as taken:
        await services.handle(register())
    assert taken.value.params["field"] == "name"
    for bad in ("", "$7$a:b", "$7$a b", "$7$a\n", "x" * 513):
        with pytest.raises(InvalidInput) as err:
            await services.handle(register("3号机", password_hash=bad))
        assert err.value.params["field"] == "password_hash"
    with pytest.raises(InvalidInput):
        await services.handle(register(" "))
    with pytest.raises(NotFound):
        await services.handle(register(code="H404"))
    assert len(await services.read(kiosks.broker_accounts, SYSTEM)) == 1


async def test_a_disabled_kiosk_leaves_the_broker_and_its_unsent_jobs_fail(services):
    h = await hall(services)
    sent_booking = await h.book(h.today[0])
    sent = await services.handle(
        kiosks.CheckInAtKiosk(kiosk_id=h.kiosk.kiosk_id, booking_no=sent_booking)
    )
    await services.handle(kiosks.MarkJobSent(job_id=sent.job.job_id))
    other = await h.world.patient("王五")
    unsent_booking = await h.book(h.today[1], other)
    unsent = await services.handle(
        kiosks.CheckInAtKiosk(kiosk_id=h.kiosk.kiosk_id, booking_no=unsent_booking)
    )
    before = await last_event_id(services)

    disabled = await services.handle(kiosks.DisableKiosk(actor=ADMIN, kiosk_id=h.kiosk.kiosk_id))

    assert disabled.disabled
    assert await services.read(kiosks.broker_accounts, SYSTEM) == []
    assert (await services.read(kiosks.kiosk, h.kiosk.kiosk_id, SYSTEM)).disabled
    by_id = {j.job_id: j for j in await jobs(services)}
    assert (by_id[unsent.job.job_id].status, by_id[unsent.job.job_id].reason) == (
        "failed",
        "kiosk_disabled",
    )
    assert by_id[sent.job.job_id].status == "sent"  # perhaps printed: its ack is awaited
    assert [e.topic for e in await events(services, before)] == ["kiosk.disabled"]
    again = await services.handle(kiosks.DisableKiosk(kiosk_id=h.kiosk.kiosk_id))
    assert again == disabled
    assert [e.topic for e in await events(services, before)] == ["kiosk.disabled"]
    # a replacement may take its name
    await services.handle(register(h.kiosk.name))


async def test_a_new_password_replaces_the_old_in_the_broker_accounts(services, world):
    await world.hospital()
    kiosk = await services.handle(register())
    before = await last_event_id(services)
    await services.handle(
        kiosks.ResetKioskPassword(actor=ADMIN, kiosk_id=kiosk.kiosk_id, password_hash="$7$new")
    )
    assert await services.read(kiosks.broker_accounts, SYSTEM) == [
        kiosks.BrokerAccount(kiosk.kiosk_id, "$7$new")
    ]
    assert [e.topic for e in await events(services, before)] == ["kiosk.password_reset"]
    assert [a["action"] for a in await audit_rows(services, kiosk.kiosk_id)] == [
        "kiosk.registered",
        "kiosk.password_reset",
    ]
    await services.handle(kiosks.DisableKiosk(kiosk_id=kiosk.kiosk_id))
    with pytest.raises(InvalidState):
        await services.handle(
            kiosks.ResetKioskPassword(kiosk_id=kiosk.kiosk_id, password_hash="$7$again")
        )


async def test_an_unknown_kiosk_is_not_found(services, world):
    await world.hospital()
    with pytest.raises(NotFound) as err:
        await services.read(kiosks.kiosk, "k00000000", SYSTEM)
    assert err.value.params == {"entity": "kiosk", "key": "k00000000"}
    with pytest.raises(NotFound):
        await services.handle(kiosks.DisableKiosk(kiosk_id="k00000000"))


# --- status ------------------------------------------------------------------------------


async def test_a_status_is_kept_with_since_when_and_told_only_when_it_changes(
    services, world, clock
):
    await world.hospital()
    kiosk = await services.handle(register())
    k = kiosk.kiosk_id
    before = await last_event_id(services)
    first = await services.handle(status(k, printer=OK, card_reader=OK, terminal=OK))
    assert (first.changed, first.came_online, first.kiosk.online, first.kiosk.since) == (
        True,
        True,
        True,
        clock.now(),
    )
    assert [d.device for d in first.devices] == ["card_reader", "printer", "terminal"]
    clock.advance(seconds=60)
    same = await services.handle(status(k, printer=OK, card_reader=OK, terminal=OK))
    assert (same.changed, same.came_online) == (False, False)
    assert [e.topic for e in await events(services, before)] == ["kiosk.status_changed"]

    opened_at = clock.advance(seconds=5)
    paper = {"state": "paper_out", "reason": "DLE EOT 4: paper end"}
    out = await services.handle(status(k, printer=paper, card_reader=OK, terminal=OK))
    assert (out.changed, out.came_online) == (True, False)
    devices = {d.device: d for d in out.devices}
    assert (devices["printer"].state, devices["printer"].since) == ("paper_out", opened_at)
    assert devices["terminal"].since == first.kiosk.since  # unchanged: since then
    assert out.kiosk.since == first.kiosk.since  # online all along
    clock.advance(seconds=5)
    pending = {"state": "ok", "pending_reversals": 1}
    more = await services.handle(status(k, printer=paper, card_reader=OK, terminal=pending))
    assert more.changed
    assert {d.device: d.pending_reversals for d in more.devices}["terminal"] == 1
    last = (await events(services, before))[-1]
    assert last.payload["devices"]["terminal"]["pending_reversals"] == 1
    assert last.payload["devices"]["printer"] == {
        "state": "paper_out",
        "reason": "DLE EOT 4: paper end",
        "since": opened_at.isoformat(),
        "pending_reversals": 0,
    }
    assert last.payload["online"] is True


async def test_the_will_takes_a_kiosk_offline_and_keeps_its_devices(services, world, clock):
    await world.hospital()
    k = (await services.handle(register())).kiosk_id
    await services.handle(status(k, printer=OK))
    gone_at = clock.advance(minutes=3)
    will = await services.handle(kiosks.RecordKioskStatus(kiosk_id=k, online=False, reason="lost"))
    assert (will.changed, will.kiosk.online, will.kiosk.since, will.kiosk.reason) == (
        True,
        False,
        gone_at,
        "lost",
    )
    assert [d.device for d in will.devices] == ["printer"]
    again = await services.handle(kiosks.RecordKioskStatus(kiosk_id=k, online=False, reason="lost"))
    assert not again.changed
    clock.advance(minutes=1)
    back = await services.handle(status(k, printer=OK))
    assert (back.changed, back.came_online, back.kiosk.reason) == (True, True, "")


async def test_a_status_older_than_the_one_recorded_changes_nothing(services, world, clock):
    await world.hospital()
    k = (await services.handle(register())).kiosk_id
    now = clock.now()
    await services.handle(
        kiosks.RecordKioskStatus(kiosk_id=k, online=True, devices={"printer": OK}, at=now)
    )
    late = await services.handle(
        kiosks.RecordKioskStatus(
            kiosk_id=k,
            online=True,
            devices={"printer": {"state": "paper_out"}},
            at=now - timedelta(seconds=60),
        )
    )
    assert not late.changed
    assert [d.state for d in late.devices] == ["ok"]


async def test_a_status_that_does_not_read_as_one_is_refused(services, world):
    await world.hospital()
    k = (await services.handle(register())).kiosk_id
    for devices in (
        {"Printer!": OK},
        {"printer": {"state": ""}},
        {"printer": {"state": "ok", "pending_reversals": -1}},
        {"printer": "ok"},
    ):
        with pytest.raises(InvalidInput):
            await services.handle(
                kiosks.RecordKioskStatus(kiosk_id=k, online=True, devices=devices)
            )


# --- jobs to send again ---------------------------------------------------------------------


async def test_unacknowledged_jobs_are_sent_again_in_the_order_they_were_made(services, clock):
    h = await hall(services)
    k = h.kiosk.kiosk_id
    made = []
    for n, slot in enumerate(h.today[:3]):
        patient = h.patient if n == 0 else await h.world.patient(f"病人{n}")
        booking_no = await h.book(slot, patient)
        made.append(
            (
                await services.handle(kiosks.CheckInAtKiosk(kiosk_id=k, booking_no=booking_no))
            ).job.job_id
        )
        clock.advance(seconds=1)

    # the kiosk has never said it is online: the sweep leaves it alone
    clock.advance(seconds=30)
    assert await services.read(kiosks.jobs_to_send, SYSTEM) == []
    # it comes online: everything unacknowledged, at once and in order
    await services.handle(status(k, printer=OK))
    back = await services.read(kiosks.jobs_to_send, SYSTEM, kiosk_id=k, older_than_seconds=0)
    assert [j.job_id for j in back] == made
    for job_id in made:
        await services.handle(kiosks.MarkJobSent(job_id=job_id))
    await h.ack(made[1])
    clock.advance(seconds=29)
    assert await services.read(kiosks.jobs_to_send, SYSTEM) == []
    clock.advance(seconds=1)
    due = await services.read(kiosks.jobs_to_send, SYSTEM)
    assert [(j.job_id, j.attempts) for j in due] == [(made[0], 1), (made[2], 1)]
    # acked meanwhile: marking it sent changes nothing
    acked = await services.handle(kiosks.MarkJobSent(job_id=made[1]))
    assert (acked.status, acked.attempts) == ("done", 1)
    # an offline kiosk's jobs wait for it
    await services.handle(kiosks.RecordKioskStatus(kiosk_id=k, online=False, reason="lost"))
    assert await services.read(kiosks.jobs_to_send, SYSTEM) == []


async def test_the_devices_screen_shows_each_kiosk_its_devices_jobs_and_failures(services, clock):
    h = await hall(services)
    k = h.kiosk.kiosk_id
    second = await services.handle(register("2号机"))
    await services.handle(status(k, printer={"state": "paper_out"}, terminal=OK))
    booking_no = await h.book()
    done = await services.handle(kiosks.CheckInAtKiosk(kiosk_id=k, booking_no=booking_no))
    await h.ack(done.job.job_id, "failed", reason="paper_out")
    reprint = await services.handle(kiosks.ReprintTicket(booking_no=booking_no))
    elsewhere = World(services).at("H002")
    await elsewhere.hospital()
    await services.handle(register("乙1号机", "H002"))

    screen = await services.read(kiosks.kiosks, SYSTEM, hospital_code="H001")

    assert [o.kiosk.name for o in screen] == ["2号机", "门诊大厅1号机"]
    idle, busy = screen
    assert (idle.kiosk.kiosk_id, idle.kiosk.online, idle.devices, idle.last_jobs) == (
        second.kiosk_id,
        None,
        (),
        (),
    )
    assert {d.device: d.state for d in busy.devices} == {"printer": "paper_out", "terminal": "ok"}
    assert [j.job_id for j in busy.last_jobs] == [reprint.job_id, done.job.job_id]
    assert [(j.job_id, j.reason) for j in busy.failures] == [(done.job.job_id, "paper_out")]
    assert busy.open_jobs == 1
    hospital_admin = Actor("operator", "h1", h.kiosk.hospital_id, Channel.AGENT)
    assert len(await services.read(kiosks.kiosks, hospital_admin)) == 2
    assert len(await services.read(kiosks.kiosks, SYSTEM)) == 3
