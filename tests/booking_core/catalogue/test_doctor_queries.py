"""Finding doctors (查医生): by work number, and by name or specialty forgiving a typo."""

from __future__ import annotations

import pytest

from booking_core.catalogue import doctor, find_doctors, rank
from booking_core.kernel.actor import SYSTEM, Actor, Channel
from booking_core.kernel.errors import NotFound


@pytest.fixture
async def doctors(world, services):
    await world.hospital()
    await world.department("101", "心内科")
    await world.department("102", "消化内科")
    for work_no, dept, name, title, specialty, active in [
        ("00868", "101", "张伟", "主任医师", "高血压、冠心病", True),
        ("00869", "101", "李娜", "副主任医师", "心律失常，心力衰竭", True),
        ("00901", "102", "王芳", "主治医师", "胃炎 胃溃疡", True),
        ("00902", "102", "张静", "主治医师", "肝病", False),
    ]:
        await world.doctor(
            work_no, dept, 3000, name=name, title=title, specialty=specialty, active=active
        )


async def _find(services, keyword):
    found = await services.read(find_doctors, "H001", keyword, SYSTEM)
    return [card.doctor.work_no for card in found]


async def test_one_doctor_by_work_number_with_its_department(services, doctors):
    card = await services.read(doctor, "H001", "00901", SYSTEM)
    assert (card.doctor.name, card.department_code, card.department_name) == (
        "王芳",
        "102",
        "消化内科",
    )
    with pytest.raises(NotFound) as missing:
        await services.read(doctor, "H001", "00999", SYSTEM)
    assert missing.value.params == {"entity": "doctor", "key": "00999"}
    with pytest.raises(NotFound):  # inactive: not bookable, not found
        await services.read(doctor, "H001", "00902", SYSTEM)


async def test_names_then_specialties_then_near_misses(services, doctors):
    assert await _find(services, "张") == ["00868"]  # 张静 is inactive
    assert await _find(services, "张伟") == ["00868"]
    assert await _find(services, "冠心") == ["00868"]
    assert await _find(services, "胃溃疡") == ["00901"]
    assert await _find(services, "高血亚") == ["00868"]  # a typo
    assert await _find(services, "心衰") == ["00869"]  # close to 心力衰竭
    assert await _find(services, "骨科") == []


async def test_another_hospitals_actor_sees_nothing(services, doctors):
    stranger = Actor("patient", "sms:x", 999, Channel.SMS)
    with pytest.raises(NotFound):
        await services.read(find_doctors, "H001", "张", stranger)
    with pytest.raises(NotFound):
        await services.read(doctor, "H001", "00868", stranger)


def test_rank_orders_exact_name_before_contained_before_specialty_before_fuzzy():
    assert rank("张伟", "张伟", "") < rank("张", "张伟", "") < rank("高血压", "张伟", "高血压")
    assert rank("高血压", "张伟", "高血压") < rank("高血亚", "张伟", "高血压")
    assert rank("Wang", "wang fang", "") == (1, 0.0)  # case and spacing folded
    assert rank("x", "张伟", "高血压") is None
    assert rank("  ", "张伟", "高血压") is None
