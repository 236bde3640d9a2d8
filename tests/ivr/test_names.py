"""How the voice addresses a caller (#14): by family name and title, in pinyin on the
English line, and by no name at all when the title cannot be known — never a masked name
("张*") said aloud, never Chinese characters to an English voice."""

from __future__ import annotations

import pytest

from ivr.names import en_address, family_name, surname_pinyin, zh_address
from ivr.speech import FILTERS


@pytest.mark.parametrize(
    ("name", "family", "spoken"),
    [
        ("张三", "张", "Zhang"),
        ("单雄信", "单", "Shan"),  # not dān: a family name's own reading
        ("曾国藩", "曾", "Zeng"),  # not céng
        ("解缙", "解", "Xie"),  # not jiě
        ("区建国", "区", "Ou"),  # not qū
        ("欧阳修", "欧阳", "Ouyang"),  # a compound family name, whole
        ("诸葛亮", "诸葛", "Zhuge"),
        ("尉迟恭", "尉迟", "Yuchi"),
        ("李", "李", "Li"),
    ],
)
def test_the_family_name_and_how_it_is_read(name, family, spoken):
    assert family_name(name) == family
    assert surname_pinyin(family) == spoken


def test_a_title_needs_the_sex_or_no_name_is_said():
    assert zh_address("张", "M") == "张先生"
    assert zh_address("欧阳", "F") == "欧阳女士"
    assert en_address("单", "M") == "Mr Shan"
    assert en_address("欧阳", "F") == "Ms Ouyang"
    assert zh_address("张", "U") == ""  # no ID number: no title, so no name
    assert en_address("张", "U") == ""
    assert zh_address("", "M") == ""


def test_the_prompt_filters_take_the_family_name_and_sex():
    assert FILTERS["zh"]["address"](("张", "F")) == "张女士"
    assert FILTERS["en"]["address"](("张", "F")) == "Ms Zhang"
