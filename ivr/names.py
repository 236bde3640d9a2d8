"""How the voice addresses a caller (称呼): by family name and title, never by a masked
name ("张*，您好" is not something to say aloud), and in English by the family name in
pinyin, not in Chinese characters an English voice cannot read.

A title needs the caller's sex, read from their ID number (its 17th digit, which the
masked number keeps); without one the voice says no name at all ("您好" / "Hello").

pypinyin reads a character as it is read in words, and a family name is often read
otherwise: 单 is Shàn as a name (dān in words), 曾 Zēng (céng), 解 Xiè (jiě) …
:data:`SURNAME_READINGS` gives the name's reading for the polyphonic family names
(the list python-pinyin's issue #297 collects, from overtrue/pinyin); compound family
names (欧阳, 司马 …) are kept whole.
"""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin

from booking_core.patients import COMPOUND_SURNAMES

SURNAME_READINGS = {
    "万俟": "moqi", "尉迟": "yuchi", "单于": "chanyu", "长孙": "zhangsun", "乐正": "yuezheng",
    "子车": "ziju", "夹谷": "jiagu",
    "单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "朴": "piao", "查": "zha",
    "区": "ou", "盖": "ge", "秘": "bi", "覃": "qin", "乐": "yue", "缪": "miao", "种": "chong",
    "重": "chong", "冼": "xian", "华": "hua", "过": "guo", "纪": "ji", "燕": "yan",
    "繁": "po", "瞿": "qu", "折": "she", "那": "na", "佴": "nai", "难": "nan",
    "粘": "nian", "藏": "zang", "扎": "za", "翟": "zhai", "都": "du", "六": "lu",
    "薄": "bo", "贾": "jia", "居": "ju", "盛": "sheng", "柏": "bai", "牟": "mou",
    "乜": "nie", "阚": "kan", "叶": "ye", "沈": "shen", "宿": "su", "卜": "bu",
    "於": "yu", "贠": "yun", "石": "shi", "员": "yun", "召": "shao", "鲜": "xian",
}  # fmt: skip
"""The reading of a family name where pypinyin's everyday reading is not the name's."""

ZH_TITLES = {"M": "先生", "F": "女士"}
EN_TITLES = {"M": "Mr", "F": "Ms"}


def family_name(name: str) -> str:
    """The family name of a Chinese name: a compound one kept whole, else the first
    character; "" for no name."""
    name = name.strip()
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2]
    return name[:1]


def surname_pinyin(family: str) -> str:
    """The family name in pinyin, capitalised, without tones: 张 → Zhang, 单 → Shan, 欧阳 →
    Ouyang; characters pypinyin does not know are left out."""
    reading = SURNAME_READINGS.get(family)
    if reading is None:
        reading = "".join(
            p for p in lazy_pinyin(family, style=Style.NORMAL, errors="ignore") if p.isascii()
        )
    return reading[:1].upper() + reading[1:]


def zh_address(family: str, sex: str) -> str:
    """张先生 / 张女士, or "" when the family name or the sex is not known."""
    title = ZH_TITLES.get(sex)
    return f"{family}{title}" if family and title else ""


def en_address(family: str, sex: str) -> str:
    """Mr Zhang / Ms Ouyang, or "" when the family name or the sex is not known."""
    title = EN_TITLES.get(sex)
    spoken = surname_pinyin(family) if family else ""
    return f"{title} {spoken}" if spoken and title else ""
