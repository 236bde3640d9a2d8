"""ID numbers stay out of the message log however they are typed (#10 item 5).

A ``ZC`` in full-width digits or with the number in groups used to register the patient
and be stored verbatim in ``messages.body``: the log's redaction only knew 18 ASCII
digits in a row, while the grammar reads far more. Redaction now reads the text as the
grammar does; the property below checks it against the grammar itself.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking_core import patients
from booking_core.kernel.actor import SYSTEM
from booking_core.kernel.redaction import redact_id_numbers
from booking_core.kernel.unit import rows
from booking_core.messages.handlers import redact
from sms.commands import Register, format
from sms.gateway import Incoming
from sms.grammar import parse
from sms.inbox import Inbox
from sms.replies import Replies
from tests.sms.test_grammar import commands, id_numbers, names

PHONE = "13912345678"
FULL_WIDTH = "ZC ４４０３０５１９９００１０１００２６ 张二"  # 440305199001010026
IN_GROUPS = "ZC 440305 19900101 0034 张三"  # 440305199001010034


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", unicodedata.normalize("NFKC", text))


async def _inbound_bodies(services) -> list[str]:
    def read(tx):
        found = yield rows("SELECT body FROM messages WHERE direction = 'in' ORDER BY id")
        return [r["body"] for r in found]

    return await services.read(read)


@pytest.mark.parametrize(
    ("text", "id_number", "name", "logged"),
    [
        (FULL_WIDTH, "440305199001010026", "张二", "ZC **************００２６ 张二"),
        (IN_GROUPS, "440305199001010034", "张三", "ZC ****** ******** 0034 张三"),
    ],
)
async def test_a_zc_typed_full_width_or_in_groups_registers_and_logs_only_the_last_4(
    world, services, text, id_number, name, logged
):
    await world.hospital()
    inbox = Inbox(services, Replies(), "H001")
    reply = await inbox.take(
        Incoming(gateway="test", provider_id="in1", phone=PHONE, body=text), send_reply=False
    )
    assert reply.startswith("注册成功")
    (patient,) = await services.read(
        patients.find_patients, SYSTEM, services.cipher, hospital_code="H001", phone=PHONE
    )
    assert patient.name == name
    assert patient.id_last4 == id_number[-4:]
    assert await _inbound_bodies(services) == [logged]
    assert id_number[:14] not in _digits(logged)


# --- the property: whatever the grammar reads as an ID number, the log does not keep ------

SEPARATORS = [" ", "  ", ",", "，", "、", ";", "；", "\u3000", "\t"]
LINE_ENDS = ["\n", ".\n", "。\n", " --发自手机\n", "【签名】\n", "~\n", "\r\n", "\n\n"]
INVISIBLE = ["\u200b", "\ufeff", "\u200d", "\x00"]


def _full_width(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch


@st.composite
def register_texts(draw) -> tuple[str, str]:
    """(a text a phone might send for ``ZC``, the ID number in it)."""
    id_number = draw(id_numbers())
    if draw(st.booleans()):
        id_number = id_number.lower()  # 002x
    cuts = sorted(draw(st.sets(st.integers(1, 17), max_size=4)))
    groups = [id_number[a:b] for a, b in zip([0, *cuts], [*cuts, 18], strict=True)]
    gaps = st.sampled_from(SEPARATORS + LINE_ENDS)
    number = groups[0] + "".join(draw(gaps) + group for group in groups[1:])
    wide = draw(st.sets(st.integers(0, len(number) - 1)))
    number = "".join(_full_width(ch) if i in wide else ch for i, ch in enumerate(number))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(number)))
        number = number[:at] + draw(st.sampled_from(INVISIBLE)) + number[at:]
    name = draw(names)
    keyword = draw(st.sampled_from(["ZC", "zc", "Zc", "ＺＣ"]))
    sep = draw(st.sampled_from(SEPARATORS))
    glued = draw(st.sampled_from(["", sep]))
    if draw(st.booleans()):
        text = f"{keyword}{glued}{number}{sep}{name}"
    else:
        text = f"{keyword}{sep}{name}{sep}{number}"
    return text + draw(
        st.sampled_from(["", "。", " --张三", "\n发自我的iPhone", "【医院】"])
    ), id_number


@settings(max_examples=1500, suppress_health_check=[HealthCheck.filter_too_much])
@given(register_texts())
def test_any_text_whose_parse_yields_an_id_number_is_logged_without_its_digits(drawn):
    text, id_number = drawn
    command = parse(text)
    if not isinstance(command, Register):
        return  # the grammar refused it: nothing was registered (it is redacted anyway)
    assert command.id_number == id_number.upper()
    logged = redact(text)
    assert id_number[:14] not in _digits(logged)
    assert _digits(logged) == _digits(id_number[-4:])  # the last 4 stay, as on the card
    assert not isinstance(parse(logged), Register)


@settings(max_examples=500)
@given(commands.filter(lambda c: not isinstance(c, Register)))
def test_texts_without_an_id_number_are_logged_as_sent(command):
    text = format(command)
    assert redact_id_numbers(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "预约成功！张三 7月15日08:30 心内科 张伟，预约号123456786，已付50.00元。",
        "GQ 123456786 0716 0900",
        "GHDH00868 0715 0830 张三",
        "ZC 110105 张三 19491231002X",  # not one number: the grammar does not join it either
    ],
)
def test_ordinary_digits_are_kept(text):
    assert redact_id_numbers(text) == text


def test_a_number_typed_in_groups_across_a_signature_line_is_redacted():
    text = "ZC 110105 --\n【张三】19491231\u200b002X 张三"
    assert isinstance(parse(text), Register)
    assert redact_id_numbers(text) == "ZC ****** --\n【张三】********\u200b002X 张三"
