"""Identity (resident IDs, phones, serial numbers, masking), personal-data encryption,
the typed errors and the clocks: no database."""

from __future__ import annotations

import base64
import inspect
import pickle
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography.exceptions import InvalidTag
from stdnum import damm

from booking_core.kernel.clock import FrozenClock, SystemClock
from booking_core.kernel.errors import (
    ALL_ERRORS,
    Blacklisted,
    BookingError,
    GuahaoError,
    InvalidIdNumber,
    InvalidInput,
    LimitReached,
    OutsideBookingWindow,
    StoreUnavailable,
    SystemFault,
)
from booking_core.kernel.identity import (
    is_booking_no,
    is_valid_serial,
    mask_id_number,
    mask_name,
    mask_phone,
    new_booking_no,
    new_card_no,
    new_tracking_no,
    normalize_id_number,
    normalize_phone,
)
from booking_core.kernel.pii import Cipher, PiiKeyError
from tests.support.world import resident_id

TZ = ZoneInfo("Asia/Shanghai")


def _id_ending_in_x() -> str:
    for seq in range(1000):
        number = resident_id(seq)
        if number.endswith("X"):
            return number
    raise AssertionError("no ID with check digit X in 1000 sequence numbers")


def _break_checksum(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("0" if last != "0" else "1")


# --- resident ID numbers (居民身份证号) -------------------------------------------------


def test_valid_resident_id_is_returned_normalized():
    number = resident_id(7, birth="19800101")
    assert normalize_id_number(number) == number
    assert normalize_id_number(f"  {number[:6]} {number[6:]} ") == number
    assert number[6:14] == "19800101"  # the birth date where an ID number keeps it


def test_check_digit_x_is_accepted_in_either_case():
    number = _id_ending_in_x()
    assert normalize_id_number(number.lower()) == number


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (_break_checksum, "checksum"),
        (lambda n: n[:-1], "length"),
        (lambda n: n + "1", "length"),
        (lambda n: "", "length"),
        (lambda n: "A" + n[1:], "format"),
    ],
)
def test_bad_resident_id_is_refused_with_the_reason(mutate, reason):
    with pytest.raises(InvalidIdNumber) as err:
        normalize_id_number(mutate(resident_id(3)))
    assert err.value.reason == reason
    assert err.value.code == "invalid_id_number"


def test_impossible_birth_date_is_refused_even_with_a_right_checksum():
    bad = resident_id(3, birth="19801301")  # month 13, checksum computed over it
    with pytest.raises(InvalidIdNumber) as err:
        normalize_id_number(bad)
    assert err.value.reason == "birth_date"


def test_every_single_digit_typo_in_an_id_is_caught():
    number = resident_id(11)
    body = number[:17]
    for pos in range(17):
        for digit in "0123456789":
            if digit == body[pos]:
                continue
            typo = body[:pos] + digit + body[pos + 1 :] + number[17]
            with pytest.raises(InvalidIdNumber):
                normalize_id_number(typo)


# --- phones ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13912345678",
        " 139 1234 5678 ",
        "139-1234-5678",
        "+8613912345678",
        "008613912345678",
        "8613912345678",
        "+86 (139) 1234-5678",
    ],
)
def test_phone_forms_normalize_to_eleven_digits(raw):
    assert normalize_phone(raw) == "13912345678"


@pytest.mark.parametrize(
    "raw", ["", "1391234567", "139123456789", "12012345678", "0101234567", "abc", "+1 415 555 0100"]
)
def test_non_mobile_numbers_are_refused(raw):
    with pytest.raises(InvalidInput) as err:
        normalize_phone(raw)
    assert err.value.field == "phone"


# --- masking --------------------------------------------------------------------------


def test_masks_show_only_what_product_allows():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("12345") == "*****"
    number = resident_id(5)
    masked = mask_id_number(number)
    assert masked.endswith(number[-4:])
    assert masked[:-4] == "*" * (len(masked) - 4)
    assert number[:-4] not in masked
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("张") == "张*"  # a single character is never shown whole
    assert mask_name("") == ""


# --- serial numbers (预约号, 就诊卡号) --------------------------------------------------


def test_booking_numbers_are_nine_digits_with_a_valid_damm_check_digit():
    draws = [new_booking_no() for _ in range(10_000)]
    for no in draws:
        assert len(no) == 9
        assert no.isdigit()
        assert no[0] != "0"  # never loses a digit when read or typed as a number
        assert damm.is_valid(no)
        assert is_booking_no(no)
    # 8 random digits give 9e7 numbers: 10,000 draws expect ~0.56 birthday collisions, so
    # "no collision at all" would fail ~43 % of runs. Uniqueness is the store's job (a
    # unique index and a redraw, see test_lifecycle); here: random, not a counter.
    collisions = sum(n - 1 for n in Counter(draws).values() if n > 1)
    assert collisions <= 8  # P(more than 8) < 1e-9
    # spread over the whole range, not a counter: every 2-digit prefix turns up, and the
    # 4-digit prefixes come near the ~6,040 distinct ones 10,000 uniform draws give
    assert len({no[:2] for no in draws}) == 90
    assert len({no[:4] for no in draws}) > 5500


def test_damm_check_digit_catches_every_single_typo_and_adjacent_swap():
    for no in (new_booking_no() for _ in range(20)):
        for pos in range(9):
            for digit in "0123456789":
                if digit != no[pos]:
                    assert not is_booking_no(no[:pos] + digit + no[pos + 1 :])
        for pos in range(8):
            swapped = no[:pos] + no[pos + 1] + no[pos] + no[pos + 2 :]
            if swapped != no:
                assert not is_booking_no(swapped)


def test_is_booking_no_refuses_wrong_shapes():
    no = new_booking_no()
    assert not is_booking_no(no[:-1])
    assert not is_booking_no(no + "0")
    assert not is_booking_no("12345678a")
    assert not is_booking_no("")


def test_card_and_tracking_numbers_carry_a_check_digit():
    for _ in range(1000):
        card = new_card_no()
        assert len(card) == 10
        assert card[0] != "0"
        assert is_valid_serial(card, 10)
        tracking = new_tracking_no()
        assert len(tracking) == 7
        assert is_valid_serial(tracking, 7)


# --- personal data at rest (AES-GCM + HMAC blind index) ---------------------------------


@pytest.fixture
def key() -> str:
    return Cipher.generate_key()


def test_generated_key_is_32_random_bytes_in_base64(key):
    assert len(base64.b64decode(key)) == 32
    assert Cipher.generate_key() != key


@pytest.mark.parametrize("plaintext", ["13912345678", resident_id(9), "张三", ""])
def test_encrypt_decrypt_round_trip(key, plaintext):
    c = Cipher.from_base64(key)
    token = c.encrypt(plaintext, context="id_number")
    assert c.decrypt(token, context="id_number") == plaintext
    assert Cipher.from_base64(key).decrypt(token, context="id_number") == plaintext


def test_ciphertext_is_randomized_and_hides_the_plaintext(key):
    c = Cipher.from_base64(key)
    a = c.encrypt("13912345678", context="phone")
    b = c.encrypt("13912345678", context="phone")
    assert a != b
    assert "13912345678" not in a
    assert b"13912345678" not in base64.b64decode(a)


def test_context_is_bound_a_phone_ciphertext_does_not_decrypt_as_an_id(key):
    c = Cipher.from_base64(key)
    token = c.encrypt("13912345678", context="phone")
    with pytest.raises(InvalidTag):
        c.decrypt(token, context="id_number")


def test_another_key_cannot_decrypt(key):
    token = Cipher.from_base64(key).encrypt("13912345678", context="phone")
    with pytest.raises(InvalidTag):
        Cipher.from_base64(Cipher.generate_key()).decrypt(token, context="phone")


def test_tampered_ciphertext_is_refused(key):
    c = Cipher.from_base64(key)
    raw = bytearray(base64.b64decode(c.encrypt("13912345678", context="phone")))
    raw[-1] ^= 0x01
    with pytest.raises(InvalidTag):
        c.decrypt(base64.b64encode(bytes(raw)).decode(), context="phone")
    raw = bytearray(base64.b64decode(c.encrypt("13912345678", context="phone")))
    raw[0] = 0x02
    with pytest.raises(PiiKeyError, match="version"):
        c.decrypt(base64.b64encode(bytes(raw)).decode(), context="phone")


def test_blind_index_is_stable_and_depends_on_key_and_context(key):
    a, b = Cipher.from_base64(key), Cipher.from_base64(key)
    other = Cipher.from_base64(Cipher.generate_key())
    idx = a.blind_index("13912345678", context="phone")
    assert idx == b.blind_index("13912345678", context="phone")
    assert len(idx) == 32
    assert int(idx, 16) >= 0  # hex
    assert idx != other.blind_index("13912345678", context="phone")
    assert idx != a.blind_index("13912345678", context="id_number")
    assert idx != a.blind_index("13912345679", context="phone")
    assert "13912345678" not in idx


def test_bad_keys_are_refused():
    with pytest.raises(PiiKeyError, match="32 bytes"):
        Cipher(b"short")
    with pytest.raises(PiiKeyError, match="32 bytes"):
        Cipher.from_base64(base64.b64encode(b"x" * 16).decode())
    with pytest.raises(PiiKeyError, match="base64"):
        Cipher.from_base64("not base64 at all!")


# --- typed errors ---------------------------------------------------------------------

SAMPLE_PARAMS = {
    "channel": "sms",
    "call_sid": "CA" + "0" * 32,
    "entity": "booking",
    "key": "123456789",
    "field": "phone",
    "reason": "checksum",
    "source": "no_show",  # blacklisted: who banned
    "patient_id": 7,
    "card_no": "1234567890",
    "slot_id": 3,
    "booking_no": "123456789",
    "until": datetime(2026, 10, 8, tzinfo=TZ),
    "opens_at": datetime(2026, 7, 10, 7, 30, tzinfo=TZ),
    "draw_at": datetime(2026, 7, 10, 7, 30, 10, tzinfo=TZ),
    "closed_at": datetime(2026, 7, 17, 8, 0, tzinfo=TZ),
    "rule": "per_department_per_day",
    "limit": 1,
    "deadline": datetime(2026, 7, 17, 8, 0, tzinfo=TZ),
    "status": "cancelled",
    "action": "pay",
    "session_id": 4,
    "balance": 100,
    "needed": 5000,
    "available": 2,
    "rows": ({"list": "sessions", "index": 3, "field": "start", "reason": "must be after start"},),
    "state": "break",
    "appeal_id": 4,
    "filed_at": datetime(2026, 7, 10, 9, 0, tzinfo=TZ),
    "department": "儿科",
    "day": date(2026, 10, 1),
    "name": "国庆节",
    "free": 2,  # 候补 (waitlist_not_needed)
    "position": 3,  # 候补 (already_waiting)
    "added": 5,  # 加号 (extra_places_exhausted)
}


def _sample(cls: type[GuahaoError]) -> GuahaoError:
    names = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    missing = [n for n in names if n not in SAMPLE_PARAMS]
    assert not missing, f"{cls.__name__}: add sample values for {missing}"
    return cls(**{n: SAMPLE_PARAMS[n] for n in names})


def test_every_error_has_a_unique_stable_code():
    codes = [cls.code for cls in ALL_ERRORS]
    assert len(codes) == len(set(codes))
    assert all(code and code != "error" and code == code.lower() for code in codes)
    assert {"slot_full", "blacklisted", "outside_window", "limit_reached"} <= set(codes)


def test_errors_are_split_into_the_callers_side_and_ours():
    for cls in ALL_ERRORS:
        assert issubclass(cls, BookingError) != issubclass(cls, SystemFault)
    assert issubclass(StoreUnavailable, SystemFault)
    assert issubclass(LimitReached, BookingError)


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_error_carries_params_reads_them_as_attributes_and_pickles(cls):
    err = _sample(cls)
    for name, value in err.params.items():
        assert getattr(err, name) == value
    assert str(err).startswith(cls.code)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is cls
    assert again.params == err.params
    assert str(again) == str(err)
    with pytest.raises(AttributeError):
        _ = err.no_such_param


def test_error_message_shows_instants_in_iso_form():
    err = OutsideBookingWindow(opens_at=datetime(2026, 7, 10, 7, 30, tzinfo=TZ))
    assert str(err) == "outside_window(opens_at=2026-07-10T07:30:00+08:00)"
    assert err.opens_at == datetime(2026, 7, 10, 7, 30, tzinfo=TZ)
    ban = Blacklisted(until=datetime(2026, 10, 8, tzinfo=TZ), reason="3 no-shows", source="no_show")
    assert ban.params == {
        "until": datetime(2026, 10, 8, tzinfo=TZ),
        "reason": "3 no-shows",
        "source": "no_show",
    }
    assert "until=2026-10-08T00:00:00+08:00" in str(ban)


def test_limit_reached_names_the_rule():
    err = LimitReached(rule="max_active_per_patient", limit=5)
    assert (err.code, err.rule, err.limit) == ("limit_reached", "max_active_per_patient", 5)


# --- clocks ---------------------------------------------------------------------------


def test_frozen_clock_stands_still_and_moves_only_when_told():
    clock = FrozenClock(datetime(2026, 7, 10, 9, 0, tzinfo=TZ))
    assert clock.now() == datetime(2026, 7, 10, 1, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    assert clock.now() == clock.now()
    assert clock.advance(minutes=15) == datetime(2026, 7, 10, 1, 15, tzinfo=UTC)
    assert clock.advance(timedelta(seconds=1)) == datetime(2026, 7, 10, 1, 15, 1, tzinfo=UTC)
    clock.set(datetime(2026, 7, 11, tzinfo=TZ))
    assert clock.now() == datetime(2026, 7, 10, 16, 0, tzinfo=UTC)


def test_frozen_clock_refuses_a_naive_instant():
    with pytest.raises(ValueError, match="aware"):
        FrozenClock(datetime(2026, 7, 10, 9, 0))
    clock = FrozenClock(datetime(2026, 7, 10, tzinfo=UTC))
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2026, 7, 10))


def test_system_clock_is_aware_utc():
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
