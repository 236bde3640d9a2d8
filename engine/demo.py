"""Demo data (``guahao demo``): one hospital, 6 departments, 12 doctors (00868
among them), sessions for the next 7 days, a few patients, a demo agent, a hospital
admin (a one-time password, changed at the first log-in), a caller the phone line
passed to the agents (so the desk's ``t`` has someone to take), and an admin API
token; the passwords and the token are printed once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from argon2 import PasswordHasher
from stdnum.cn import ric

from booking_core import bookings, calls, catalogue, schedule
from booking_core.bus import BookingServices
from booking_core.kernel.actor import Actor, Channel
from booking_core.kernel.identity import mask_name
from booking_core.operators import AddOperator, Role
from booking_core.patients import RegisterPatient
from booking_core.schedule import Period

DEMO_ACTOR = Actor("system", "demo", None, Channel.SYSTEM)
HOSPITAL = ("H001", "协和示范医院")
DEPARTMENTS = (
    ("101", "心血管内科", ("心内", "心内科")),
    ("102", "呼吸内科", ("呼吸",)),
    ("103", "消化内科", ("消化",)),
    ("201", "普通外科", ("普外", "外科")),
    ("301", "儿科", ("小儿科",)),
    ("401", "眼科", ()),
)
DOCTORS = (  # work number, name, department, title, specialty, fee in fen
    ("00868", "张建国", "101", "主任医师", "高血压 冠心病", 5000),
    ("00871", "李晓梅", "101", "副主任医师", "心律失常", 3000),
    ("01203", "王志强", "102", "主任医师", "慢阻肺 哮喘", 5000),
    ("01207", "赵丽", "102", "主治医师", "肺部感染", 1500),
    ("02115", "陈静", "103", "主任医师", "胃肠镜 胃炎", 5000),
    ("02118", "刘洋", "103", "主治医师", "肝病", 1500),
    ("03301", "杨帆", "201", "主任医师", "甲状腺 乳腺", 5000),
    ("03305", "黄磊", "201", "副主任医师", "疝气 胆囊", 3000),
    ("04410", "周敏", "301", "主任医师", "小儿呼吸", 5000),
    ("04412", "吴婷", "301", "主治医师", "儿童保健", 1500),
    ("05520", "徐明", "401", "主任医师", "白内障 青光眼", 5000),
    ("05523", "孙悦", "401", "主治医师", "屈光 近视", 1500),
)
PATIENTS = (("张三", "19560312"), ("李四", "19480705"), ("王芳", "19901122"), ("赵敏", "20150601"))
SESSIONS = (
    (Period.MORNING, time(8, 0), time(12, 0)),
    (Period.AFTERNOON, time(14, 0), time(17, 30)),
)
WINDOW_DAYS = 7


KIOSK_DOCTOR = "00868"  # sees the evening clinic the demo's kiosk patient is booked in
WAITING_PATIENT = 1  # 李四 (the second demo patient) waits for an agent


@dataclass(frozen=True)
class DemoLogin:
    operator: str
    password: str
    patients: tuple[tuple[str, str, str], ...]  # name, card number, phone
    admin: str = "admin"
    admin_password: str = ""  # one-time: changed at the first log-in
    waiting_call: str = ""  # the CallSid of the caller waiting for an agent
    kiosk_booking: str = ""  # the first patient's booking tonight, to check in at the kiosk


def demo_id_number(seq: int, birth: str) -> str:
    body = f"110105{birth}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


async def create_demo(services: BookingServices, now: datetime) -> DemoLogin:
    """The demo's data, for a hospital whose local time is ``now``."""
    today = now.date()
    code, name = HOSPITAL
    handle = services.handle
    await handle(catalogue.UpsertHospital(code=code, name=name, actor=DEMO_ACTOR))
    for dept, dept_name, aliases in DEPARTMENTS:
        await handle(
            catalogue.UpsertDepartment(
                hospital_code=code, code=dept, name=dept_name, aliases=aliases, actor=DEMO_ACTOR
            )
        )
    for work_no, doc_name, dept, title, specialty, fee in DOCTORS:
        await handle(
            catalogue.UpsertDoctor(
                hospital_code=code,
                work_no=work_no,
                department_code=dept,
                name=doc_name,
                title=title,
                specialty=specialty,
                fee=fee,
                actor=DEMO_ACTOR,
            )
        )
    for offset in range(WINDOW_DAYS + 1):
        day = today + timedelta(days=offset)
        for i, (work_no, *_rest) in enumerate(DOCTORS):
            for period, start, end in SESSIONS:
                if period is Period.AFTERNOON and (i + offset) % 2:
                    continue  # every doctor works mornings, afternoons every other day
                await handle(
                    schedule.CreateSession(
                        hospital_code=code,
                        doctor_work_no=work_no,
                        day=day,
                        period=period,
                        start=start,
                        end=end,
                        slot_minutes=15,
                        places_per_slot=3,
                        room=f"{work_no[1:3]}{i % 2 + 1:02d}诊室",
                        actor=DEMO_ACTOR,
                    )
                )
    patients = []
    patients_made = []
    for seq, (p_name, birth) in enumerate(PATIENTS, start=1):
        phone = f"1380013{seq:04d}"
        patient = await handle(
            RegisterPatient(
                hospital_code=code,
                name=p_name,
                id_number=demo_id_number(seq, birth),
                phone=phone,
                actor=DEMO_ACTOR,
            )
        )
        patients.append((p_name, patient.card_no, phone))
        patients_made.append(patient.id)
        if seq - 1 == WAITING_PATIENT:
            waiting = (patient.id, p_name, patient.card_no, phone)
    password = await _operator(handle, "demo", "演示坐席", Role.AGENT, code, first_login=False)
    admin_password = await _operator(
        handle, "admin", "管理员", Role.HOSPITAL_ADMIN, code, first_login=True
    )
    call_sid = await waiting_caller(services, *waiting)
    first_patient = patients_made[0]
    booking_no = await tonights_booking(services, now, first_patient)
    return DemoLogin(
        "demo", password, tuple(patients), "admin", admin_password, call_sid, booking_no
    )


LAST_START = time(23, 30)  # the latest the evening clinic starts: one 15-minute place to 23:45


async def tonights_booking(services: BookingServices, now: datetime, patient_id: int) -> str:
    """An evening clinic today (夜间门诊, doctor 00868, from 18:00 or, later in the day,
    from the quarter hour at least half an hour on, so that it can still be booked; for two
    hours, or to 23:45) and a booking of its last place for ``patient_id`` (confirmed, paid
    at the hospital): the patient who walks up to the demo's kiosk, swipes their card, is
    checked in and takes a ticket (check-in is open all day until the session ends).
    "" when the day is too far gone for one (from 23:00 on)."""
    code, _name = HOSPITAL
    soon = now + timedelta(minutes=45 - now.minute % 15)
    start = max(time(18, 0), soon.time().replace(second=0, microsecond=0))
    if soon.date() != now.date() or start > LAST_START:
        return ""
    # two hours, or to 23:45 (never past midnight: a session is one local day)
    end_minutes = min(23 * 60 + 45, start.hour * 60 + start.minute + 120)
    end = time(*divmod(end_minutes, 60))
    session = await services.handle(
        schedule.CreateSession(
            hospital_code=code,
            doctor_work_no=KIOSK_DOCTOR,
            day=now.date(),
            period=Period.EVENING,
            start=start,
            end=end,
            slot_minutes=15,
            places_per_slot=3,
            room="夜间门诊01诊室",
            actor=DEMO_ACTOR,
        )
    )
    detail = await services.read(schedule.session_detail, session.id, DEMO_ACTOR)
    view = await services.handle(
        bookings.BookSlot(
            slot_id=detail.slots[-1].id,
            patient_id=patient_id,
            channel=Channel.SMS,
            actor=DEMO_ACTOR,
        )
    )
    return view.booking.booking_no


async def _operator(
    handle, username: str, name: str, role: str, hospital: str, *, first_login: bool
) -> str:
    """A demo operator with a random password (printed once); ``first_login``: a one-time
    password the operator replaces at the first log-in."""
    password = secrets.token_urlsafe(12)
    await handle(
        AddOperator(
            username=username,
            display_name=name,
            password_hash=PasswordHasher().hash(password),
            roles=(role,),
            hospital_code=hospital,
            must_change_password=first_login,
            actor=DEMO_ACTOR,
        )
    )
    return password


async def waiting_caller(
    services: BookingServices, patient_id: int, name: str, card_no: str, phone: str
) -> str:
    """A caller the phone line identified and passed to the agents while booking, made
    with the call commands the IVR uses: the call, its identifying step, the transfer
    with the context the desk's screen pop shows."""
    call_sid = "CA" + secrets.token_hex(16)
    code, _name = HOSPITAL
    await services.handle(
        calls.StartCall(
            call_sid=call_sid,
            hospital_code=code,
            caller="+86" + phone,
            called="+861080000000",
            state="{}",
            digits="!incoming",
            response="",
            actor=DEMO_ACTOR,
        )
    )
    await services.handle(
        calls.RecordCallStep(
            call_sid=call_sid,
            step=1,
            digits=card_no,
            state="{}",
            response="",
            patient_id=patient_id,
            actor=DEMO_ACTOR,
        )
    )
    context = {
        "reason": "asked",
        "step": "book_dept",
        "digits": card_no,
        "lang": "zh",
        "patient_id": patient_id,
        "patient_name": mask_name(name),
    }
    await services.handle(
        calls.TransferCall(
            call_sid=call_sid, queue="guahao-agents", context=context, actor=DEMO_ACTOR
        )
    )
    return call_sid
