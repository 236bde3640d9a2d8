"""A schedule imported in bulk (排班导入, #13): all or nothing, every bad row reported by its
index, sessions made as a single one is (same slots, same events), identical rows sent again
left alone; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, time, timedelta

import pytest

from booking_core import schedule
from booking_core.events import outbox
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.errors import ImportRejected, InvalidInput, NotFound
from booking_core.kernel.unit import rows
from booking_core.schedule import DepartmentLine, DoctorLine, ImportSchedule, Period, SessionLine
from booking_core.schedule import handlers as schedule_handlers
from tests.support.world import World

MONDAY = date(2026, 7, 13)


def _week(work_nos: list[str], *, start: int = 0) -> tuple[SessionLine, ...]:
    """Mornings and afternoons, Monday to Friday, for each doctor (30-minute slots, 2 places)."""
    lines = []
    for work_no in work_nos:
        for d in range(5):
            day = MONDAY + timedelta(days=d)
            for period, begin, end in (
                (Period.MORNING, time(8), time(12)),
                (Period.AFTERNOON, time(13, 30), time(17)),
            ):
                lines.append((work_no, day, period, begin, end))
    return tuple(
        SessionLine(start + i, w, day, p, b, e, 30, 2, room="301")
        for i, (w, day, p, b, e) in enumerate(lines)
    )


def _departments() -> tuple[DepartmentLine, ...]:
    return (DepartmentLine(0, "101", "心内科", ("心脏",)), DepartmentLine(1, "102", "呼吸科"))


def _doctors(n: int) -> tuple[DoctorLine, ...]:
    return tuple(
        DoctorLine(i, f"{10000 + i:05d}", "101" if i % 2 else "102", f"医生{i}", "主任医师",
                   fee=5000)
        for i in range(n)
    )  # fmt: skip


async def _table(services, sql: str, *args) -> list[dict]:
    def read(tx):
        found = yield rows(sql, *args)
        return [dict(r) for r in found]

    return await services.read(read)


async def _counts(services) -> tuple[int, int, int, int]:
    [row] = await _table(
        services,
        "SELECT (SELECT count(*) FROM departments) AS deps, (SELECT count(*) FROM doctors) AS docs,"
        " (SELECT count(*) FROM sessions) AS sess, (SELECT count(*) FROM slots) AS slots",
    )
    return row["deps"], row["docs"], row["sess"], row["slots"]


@pytest.fixture
async def world(services) -> World:
    w = World(services)
    await w.hospital("H001")
    return w


def _import(**kw) -> ImportSchedule:
    kw.setdefault("hospital_code", "H001")
    return ImportSchedule(**kw)


async def test_a_week_of_ten_doctors_is_imported_with_their_departments(services, world):
    doctors = _doctors(10)
    sessions = _week([d.work_no for d in doctors])
    result = await services.handle(
        _import(departments=_departments(), doctors=doctors, sessions=sessions)
    )
    assert result.applied
    assert result.departments == schedule.ImportCounts(created=2)
    assert result.doctors == schedule.ImportCounts(created=10)
    assert result.sessions == schedule.ImportCounts(created=100)
    assert result.slots == 100 * 15 // 2  # 8 slots a morning, 7 an afternoon
    assert len(result.session_ids) == 100
    assert await _counts(services) == (2, 10, 100, 750)
    [first] = await _table(
        services,
        "SELECT se.fee, se.room, se.start_time, se.end_time, d.code AS department "
        "FROM sessions se JOIN departments d ON d.id = se.department_id WHERE se.id = ?",
        result.session_ids[0],
    )
    assert first == {"fee": 5000, "room": "301", "start_time": "08:00", "end_time": "12:00",
                     "department": "102"}  # fmt: skip
    created = [e for e in await services.read(outbox.events) if e.topic == "session.created"]
    assert len(created) == 100
    assert {e.payload["session_id"] for e in created} == set(result.session_ids)


async def test_the_import_makes_slots_exactly_as_a_single_session_does(services, world):
    await world.department("101")
    await world.doctor("00868", "101")
    await world.doctor("00869", "101")
    single = await world.session(MONDAY, "00868", start=time(8), end=time(12))
    line = SessionLine(0, "00869", MONDAY, Period.MORNING, time(8), time(12), 30, 2, room="301")
    result = await services.handle(_import(sessions=(line,)))
    slots = "SELECT start_time, end_time, starts_at, capacity FROM slots WHERE session_id = ? "
    slots += "ORDER BY start_time"
    assert await _table(services, slots, result.session_ids[0]) == await _table(
        services, slots, single.id
    )
    [one, other] = [e for e in await services.read(outbox.events) if e.topic == "session.created"]
    assert {k: v for k, v in one.payload.items() if k not in ("session_id", "doctor")} == {
        k: v for k, v in other.payload.items() if k not in ("session_id", "doctor")
    }


async def test_every_bad_row_is_reported_and_nothing_is_written(services, world):
    doctors = (
        *_doctors(3),
        DoctorLine(3, "1234", "101", "短工号"),  # not 5 digits
        DoctorLine(4, "10009", "999", "无科室"),  # no such department
        DoctorLine(5, "10000", "101", "重复"),  # repeats row 0
    )
    good = _week(["10000", "10001", "10002"])
    sessions = (
        *good,
        SessionLine(100, "10001", MONDAY, Period.EVENING, time(18), time(17), 30, 2),  # end first
        SessionLine(101, "77777", MONDAY, Period.EVENING, time(18), time(20), 30, 2),  # no doctor
        SessionLine(102, "10002", MONDAY, Period.MORNING, time(8), time(9), 30, 2),  # repeats 20
        SessionLine(103, "10000", MONDAY, Period.EVENING, time(18), time(20), 300, 2),
    )
    with pytest.raises(ImportRejected) as caught:
        await services.handle(
            _import(departments=_departments(), doctors=doctors, sessions=sessions)
        )
    assert [(r["list"], r["index"], r["field"]) for r in caught.value.rows] == [
        ("doctors", 3, "work_no"),
        ("doctors", 4, "department"),
        ("doctors", 5, "work_no"),
        ("sessions", 100, "end"),
        ("sessions", 101, "doctor"),
        ("sessions", 102, "period"),
        ("sessions", 103, "slot_minutes"),
    ]
    assert [r["code"] for r in caught.value.rows] == [
        "digits", "unknown_department", "repeats_row", "invalid_input", "unknown_doctor",
        "repeats_row", "invalid_input",
    ]  # fmt: skip
    assert caught.value.rows[2]["params"] == {"row": "0"}
    reasons = {(r["list"], r["index"]): r["reason"] for r in caught.value.rows}
    assert reasons[("doctors", 5)] == "repeats row 0"
    assert reasons[("sessions", 100)] == "must be after start"
    assert reasons[("sessions", 102)] == "repeats row 20"
    assert await _counts(services) == (0, 0, 0, 0)
    assert not [e for e in await services.read(outbox.events) if e.topic == "session.created"]


async def test_rows_the_door_could_not_read_refuse_the_import_with_the_rest(services, world):
    refused = (schedule.RowProblem("sessions", 7, "start", "a time like 08:00"),)
    with pytest.raises(ImportRejected) as caught:
        await services.handle(
            _import(departments=_departments(), doctors=_doctors(1), refused=refused)
        )
    assert caught.value.rows == ({"list": "sessions", "index": 7, "field": "start",
                                  "reason": "a time like 08:00", "code": "invalid_input",
                                  "params": {}},)  # fmt: skip
    assert await _counts(services) == (0, 0, 0, 0)


async def test_a_check_only_import_says_what_it_would_do_and_writes_nothing(services, world):
    doctors = _doctors(4)
    result = await services.handle(
        _import(departments=_departments(), doctors=doctors,
                sessions=_week([d.work_no for d in doctors]), check_only=True)
    )  # fmt: skip
    assert not result.applied
    assert (result.departments.created, result.doctors.created) == (2, 4)
    assert (result.sessions.created, result.slots) == (40, 300)
    assert result.session_ids == ()
    assert await _counts(services) == (0, 0, 0, 0)


async def test_a_session_already_there_is_a_bad_row_unless_identical(services, world):
    doctors = _doctors(2)
    week = _week([d.work_no for d in doctors])
    first = await services.handle(_import(departments=_departments(), doctors=doctors,
                                          sessions=week))  # fmt: skip
    again = await services.handle(_import(departments=_departments(), doctors=doctors,
                                          sessions=week))  # fmt: skip
    assert again.departments == schedule.ImportCounts(unchanged=2)
    assert again.doctors == schedule.ImportCounts(unchanged=2)
    assert again.sessions == schedule.ImportCounts(unchanged=20)
    assert again.session_ids == ()
    changed = (replace(week[0], room="302"),)
    with pytest.raises(ImportRejected) as caught:
        await services.handle(_import(sessions=changed))
    [row] = caught.value.rows
    assert (row["index"], row["field"]) == (0, "period")
    assert row["reason"] == f"already scheduled (session {first.session_ids[0]})"
    assert await _counts(services) == (2, 2, 20, 150)


async def test_doctors_are_updated_and_their_new_fee_is_the_sessions_fee(services, world):
    await world.department("101")
    await world.doctor("10000", "101", fee=5000)
    line = DoctorLine(0, "10000", "101", "医生0", "主任医师", fee=8000)
    session = SessionLine(0, "10000", MONDAY, Period.MORNING, time(8), time(12), 30, 2)
    result = await services.handle(_import(doctors=(line,), sessions=(session,)))
    assert result.doctors == schedule.ImportCounts(updated=1)
    [row] = await _table(services, "SELECT fee FROM sessions WHERE id = ?", result.session_ids[0])
    assert row["fee"] == 8000


async def test_an_import_cut_off_part_way_keeps_nothing(services, world, monkeypatch):
    from booking_core.schedule import imports

    made = []
    real = imports.insert_session

    def dying(tx, cmd, hospital, doctor, plan):
        if len(made) == 5:
            raise RuntimeError("the process was killed here")
        made.append(cmd)
        return (yield from real(tx, cmd, hospital, doctor, plan))

    monkeypatch.setattr(imports, "insert_session", dying)
    doctors = _doctors(2)
    with pytest.raises(RuntimeError):
        await services.handle(_import(departments=_departments(), doctors=doctors,
                                      sessions=_week([d.work_no for d in doctors])))  # fmt: skip
    assert len(made) == 5
    assert await _counts(services) == (0, 0, 0, 0)


async def test_another_hospitals_operator_cannot_import(services, world):
    await world.hospital("H002")
    [h2] = await _table(services, "SELECT id FROM hospitals WHERE code = 'H002'")
    other = Actor("operator", "h2admin", h2["id"], Channel.AGENT)
    with pytest.raises(NotFound):
        await services.handle(_import(departments=_departments(), actor=other))
    assert await _counts(services) == (0, 0, 0, 0)


async def test_too_many_rows_are_refused_before_anything_is_read(services, world):
    too_many = tuple(
        SessionLine(i, "10000", MONDAY, Period.MORNING, time(8), time(12), 30, 2)
        for i in range(schedule.MAX_SESSIONS + 1)
    )
    with pytest.raises(InvalidInput) as caught:
        await services.handle(_import(sessions=too_many))
    assert caught.value.field == "sessions"


def test_single_sessions_and_imports_share_the_one_way_to_make_slots():
    from booking_core.schedule import imports, making

    assert schedule_handlers.plan_session is making.plan_session is imports.plan_session
    assert schedule_handlers.insert_session is making.insert_session is imports.insert_session


async def test_the_same_week_imported_twice_at_once_makes_each_session_once(services, world):
    doctors = _doctors(3)
    command = _import(departments=_departments(), doctors=doctors,
                      sessions=_week([d.work_no for d in doctors]))  # fmt: skip
    first, second = await asyncio.gather(services.handle(command), services.handle(command))
    made = sorted([first.sessions.created, second.sessions.created])
    assert made == [0, 30]  # one made them; the other, after it, found them identical
    assert sorted([first.sessions.unchanged, second.sessions.unchanged]) == [0, 30]
    assert await _counts(services) == (2, 3, 30, 225)


async def test_rows_naming_a_row_the_door_refused_are_not_reported_again(services, world):
    refused = (
        schedule.RowProblem("departments", 0, "name", "needed", key="105"),
        schedule.RowProblem("doctors", 0, "fee", "an amount", key="20001"),
    )
    doctors = (DoctorLine(1, "20002", "105", "周医生"),)  # in the refused department
    sessions = (
        SessionLine(0, "20001", MONDAY, Period.MORNING, time(8), time(12), 30, 2),  # its doctor
        SessionLine(1, "20001", MONDAY, Period.EVENING, time(20), time(19), 30, 2),  # and wrong
        SessionLine(2, "20003", MONDAY, Period.MORNING, time(8), time(12), 30, 2),  # unknown
    )
    with pytest.raises(ImportRejected) as caught:
        await services.handle(_import(doctors=doctors, sessions=sessions, refused=refused))
    assert [(r["list"], r["index"], r["field"]) for r in caught.value.rows] == [
        ("departments", 0, "name"),
        ("doctors", 0, "fee"),
        ("sessions", 1, "end"),
        ("sessions", 2, "doctor"),
    ]
