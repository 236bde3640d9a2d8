"""Redacting resident ID numbers (身份证号) out of text kept for the log.

A text is kept as it came, but every ID number in it loses all but its last 4 characters.
"In it" means what the SMS grammar would read, not only 18 ASCII digits in a row: the
grammar folds full-width digits (``４４０３０５…``) and other compatibility forms (NFKC),
drops zero-width and other format characters, and joins an ID number typed in groups
(``440305 19900101 0034``), even across a line break when what ends the line is a
signature it strips (``--``, ``【…】``, trailing ``.``/``。``).

So redaction looks at the text the way the grammar does, without knowing the grammar
(the core imports no door): each character is folded on its own, with a map back to where
it came from; the text is cut into runs of digits (``[0-9]+``, an ``X`` allowed at the
end); and any window of runs next to each other whose characters add up to 18 is masked
in the original text, its last 4 characters kept. Runs are next to each other when only
separators (spaces, ``,`` ``，`` ``、`` ``;`` ``；``) stand between them on one line, or,
across lines, what ends the first line and starts the next could be stripped as a
signature and every line in between strips to nothing. That is a superset of what the
grammar joins (a failed ``ZC`` with a mistyped number is masked as well), and narrow
enough that ordinary texts (``7月15日08:30``, ``预约号123456786，已付10.00元``) keep their
digits. ``tests/sms/test_redaction.py`` checks it against the grammar with hypothesis.
"""

from __future__ import annotations

import re
import unicodedata

ID_CHARS = 18

KEPT_CHARS = 4  # the last 4, as printed on the card and shown by the console

_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")

_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})

_RUN = re.compile(r"[0-9]+[Xx]?")

_SEP = r"[^\S\n]|[,、;]"  # a separator on one line (after folding: ， is , and ； is ;)

_BLOCK = r"(?:【[^【】]*】|\[[^\[\]]*\]|〖[^〖〗]*〗|〔[^〔〕]*〕)"

# what may end a line and be stripped: separators and trailing punctuation, then maybe a
# dash signature or a trailing block with anything after it
_END = rf"(?:{_SEP}|[.。!?~])*+(?:(?:-|[—–―─‒]|【|{_BLOCK}).*)?"

_LINE_END = re.compile(_END)

# what may start a line and be stripped: separators and leading blocks
_LINE_START = re.compile(rf"(?:{_SEP}|{_BLOCK})*+")

_EMPTY_LINE = re.compile(rf"(?:{_SEP}|{_BLOCK})*+{_END}")  # a line that strips to nothing

_SAME_LINE = re.compile(rf"(?:{_SEP})*+")


def _next_to_each_other(gap: str) -> bool:
    """Whether the grammar could join two digit runs with ``gap`` between them."""
    first, *between, last = gap.split("\n") if "\n" in gap else (gap, None)
    if last is None:
        return _SAME_LINE.fullmatch(gap) is not None
    return (
        _LINE_END.fullmatch(first) is not None
        and all(_EMPTY_LINE.fullmatch(line) for line in between)
        and _LINE_START.fullmatch(last) is not None
    )


def _fold(text: str) -> tuple[str, list[int]]:
    """The text as the grammar reads it (line breaks as ``\\n``, tabs as spaces, NFKC per
    character, control and format characters dropped) and, for each of its characters,
    the index of the original character it came from."""
    folded: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if ch in _LINE_BREAKS:
            out = "\n"
        elif ch == "\t":
            out = " "
        elif unicodedata.category(ch) in _DROPPED_CATEGORIES:
            continue
        else:
            out = unicodedata.normalize("NFKC", ch)
        folded.append(out)
        origin += [i] * len(out)
    return "".join(folded), origin


def _id_windows(folded: str) -> list[list[tuple[int, int]]]:
    """The digit runs (start, end in ``folded``) of each window that could be an ID number."""
    runs = [(m.start(), m.end()) for m in _RUN.finditer(folded)]
    windows = []
    for first in range(len(runs)):
        length = 0
        for last in range(first, len(runs)):
            if last > first and not _next_to_each_other(folded[runs[last - 1][1] : runs[last][0]]):
                break
            length += runs[last][1] - runs[last][0]
            if length >= ID_CHARS:
                if length == ID_CHARS:
                    windows.append(runs[first : last + 1])
                break
    return windows


def redact_id_numbers(text: str) -> str:
    """``text`` with every ID number the grammar could read in it reduced to its last 4
    characters (the others become ``*``; what stands between groups is kept)."""
    folded, origin = _fold(text)
    masked: set[int] = set()
    for window in _id_windows(folded):
        chars = [i for start, end in window for i in range(start, end)]
        masked.update(origin[i] for i in chars[: len(chars) - KEPT_CHARS])
    if not masked:
        return text
    return "".join("*" if i in masked else ch for i, ch in enumerate(text))
