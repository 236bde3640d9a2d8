"""Names as people type and tell them apart: traditional characters folded to simplified
(張三 → 张三), the pinyin-initial keys the desk searches by (拼音码: ``zs``, ``zhangs`` → 张三),
and what tells two patients of one phone apart (sex and birth year, from the ID number).

Folding: OpenCC's ``t2s`` (the maintained converter, C++ with wheels), one character at a
time, and never a character that is already in the simplified standard set (GB 2312): a
name is not a phrase, and a simplified character that t2s would change in running text
(於 → 于: 於 is a surname of its own) stays the person's.

Pinyin keys: for each reading of the family name (a polyphonic surname like 单 shan/dan
gets a key per reading, so whichever the agent thinks of finds it), its first letter and
its whole pinyin, each followed by the given name's initials in everyday readings:
张三 → `` zs zhangs``. The keys are lower-case ASCII, each after a space, and a search
matches the start of a key. Names are stored in clear (the search by part of a name needs
them); the keys say no more than the name.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import cache

from opencc import OpenCC
from pypinyin import Style, lazy_pinyin, pinyin

from ..kernel.identity import mask_name, sex_of

# Family names of two characters (复姓): the desk's 拼音码 and the phone line's pinyin
# (ivr/names.py) both read them whole; one list for both.
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "司空",
        "夏侯",
        "令狐",
        "轩辕",
        "端木",
        "南宫",
        "万俟",
        "单于",
        "闻人",
        "呼延",
        "独孤",
        "西门",
        "百里",
        "钟离",
        "公羊",
        "澹台",
        "公冶",
        "宗政",
        "濮阳",
        "淳于",
        "太叔",
        "申屠",
        "仲孙",
        "鲜于",
        "闾丘",
        "亓官",
        "司寇",
        "子车",
        "颛孙",
        "巫马",
        "公西",
        "漆雕",
        "乐正",
        "壤驷",
        "公良",
        "拓跋",
        "夹谷",
        "宰父",
        "谷梁",
        "段干",
        "东郭",
        "南门",
        "羊舌",
        "微生",
        "梁丘",
        "左丘",
        "东门",
        "第五",
        "太史",
        "赫连",
    ]
)
MAX_SURNAME_READINGS = 3  # 单: shan, dan, chan


@cache
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def _simplified_already(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def fold_name(text: str) -> str:
    """``text`` with traditional characters in simplified form (張三 → 张三); characters of
    the simplified standard set, letters and digits as they are."""
    return "".join(
        c if c.isascii() or _simplified_already(c) else _t2s().convert(c) or c for c in text
    )


_SPACE_IN_CHINESE = re.compile(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])")


def clean_name(text: str) -> str:
    """A name as registered: folded (:func:`fold_name`), runs of white space one space, none
    between two Chinese characters (王 小红 → 王小红; John  Smith → John Smith)."""
    return _SPACE_IN_CHINESE.sub("", fold_name(" ".join(text.split())))


def family_name(name: str) -> str:
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2]
    return name[:1]


def _letters(syllables: Iterable[str]) -> str:
    return "".join(s for s in syllables if s.isascii() and s.isalpha()).lower()


def _surname_readings(family: str) -> list[str]:
    if len(family) > 1:  # a compound surname: its everyday reading
        whole = _letters(lazy_pinyin(family, style=Style.NORMAL, errors="ignore"))
        return [whole] if whole else []
    found = pinyin(family, style=Style.NORMAL, heteronym=True, errors="ignore")
    readings = [_letters([r]) for r in (found[0] if found else [])]
    return [r for r in readings if r][:MAX_SURNAME_READINGS]


def name_keys(name: str) -> str:
    """The pinyin keys of a name, each after a space: 张三 → `` zs zhangs``; "" for a name
    with no Chinese character pypinyin can read (a foreign name is found by its letters)."""
    name = fold_name("".join(name.split()))
    family = family_name(name)
    given = _letters(s[:1] for s in lazy_pinyin(name[len(family) :], errors="ignore"))
    keys: list[str] = []
    for reading in _surname_readings(family):
        if len(family) > 1:
            initials = _letters(s[:1] for s in lazy_pinyin(family, errors="ignore"))
        else:
            initials = reading[:1]
        for key in (initials + given, reading + given):
            if key not in keys:
                keys.append(key)
    return "".join(" " + k for k in keys)


def is_pinyin_query(text: str) -> bool:
    """Letters only (what an agent types for 拼音码)."""
    return text.isascii() and text.isalpha()


def birth_year_of(id_number: str) -> int | None:
    """The birth year of a valid 18-digit resident ID number (digits 7 to 10)."""
    year = id_number[6:10]
    return int(year) if len(id_number) == 18 and year.isdigit() else None


def sex_from_last4(id_last4: str) -> str:
    """M, F or U from the last 4 of an ID number (the 17th digit is the 3rd of them)."""
    return sex_of(id_last4) if len(id_last4) == 4 else "U"


def given_char(name: str) -> str:
    """The given name's last character (张小明 → 明), or "": in a family people call each
    other by it (brothers and sisters often share the first, 辈分字)."""
    return name[len(family_name(name)) :][-1:]


def tell_apart(people: list[tuple[int, str, str, int | None]]) -> dict[int, str]:
    """Labels for people listed together (id, name, sex M/F/U, birth year): the masked name
    (``张*``), and when two would read the same the given name's last character in
    brackets (``张*(明)`` for 张小明; not for a two-character name, which it would
    complete). The lists show sex and birth year beside it."""
    masked = {pid: mask_name(name) for pid, name, _sex, _year in people}
    counts = Counter(masked.values())
    labels: dict[int, str] = {}
    for pid, name, _sex, _year in people:
        label = masked[pid]
        char = given_char(name)
        if counts[label] > 1 and char and len(name) > 2:
            label = f"{label}({char})"
        labels[pid] = label
    return labels
