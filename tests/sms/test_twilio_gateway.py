"""The Twilio SMS gateway against a fake Twilio REST API on a local port."""

from __future__ import annotations

import base64
import gc
import logging
import warnings
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from sms.gateway import Gateway, GatewayError, Outgoing
from sms.twilio_gateway import TwilioGateway, estimate_parts, mask_numbers, to_e164
from tests.fakes.twilio_rest import ACCOUNT, SENDER, TOKEN, FakeTwilio, count_segments

PHONE = "13800138000"
E164 = "+8613800138000"
MASKED = "138****8000"
CALLBACK = "https://sms.example-hospital.test/twilio/sms/status"
SERVICE = "MG" + "0" * 31 + "7"
NOTICE = (
    "【协和医院】张三您好，您已预约7月11日上午心内科00868主任医师，就诊序号3，"
    "请于8:30前持身份证到门诊一楼自助机取号。如需取消请回复QX 12345678。"
)


@pytest.fixture
async def fake():
    async with FakeTwilio() as server:
        yield server


@pytest.fixture
async def gateway(fake):
    async with TwilioGateway(
        ACCOUNT, TOKEN, from_=SENDER, status_callback=CALLBACK, api_base=fake.base_url
    ) as gw:
        yield gw


def notice(body: str = NOTICE, phone: str = PHONE, key: str = "booking-confirmed:1:p1"):
    return Outgoing(key=key, phone=phone, body=body)


def just_before() -> datetime:
    return datetime.now(UTC) - timedelta(milliseconds=1)


# -- send ------------------------------------------------------------------------------


async def test_a_chinese_notice_is_created_with_callback_and_auth(fake, gateway):
    assert isinstance(gateway, Gateway)
    assert (gateway.name, gateway.can_check) == ("twilio", True)

    sent = await gateway.send(notice())

    [create] = fake.creates
    assert create.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert create.authorized
    assert create.form == {"To": E164, "From": SENDER, "Body": NOTICE, "StatusCallback": CALLBACK}
    [message] = fake.messages.values()
    assert message.body == NOTICE
    assert sent.provider_id == message.sid
    assert sent.provider_id.startswith("SM")
    assert sent.status == "queued"
    assert len(NOTICE) > 70
    assert sent.parts == count_segments(NOTICE) == 2


async def test_a_messaging_service_sends_without_from(fake):
    async with TwilioGateway(
        ACCOUNT, TOKEN, messaging_service_sid=SERVICE, api_base=fake.base_url
    ) as gateway:
        sent = await gateway.send(notice())

    [create] = fake.creates
    assert create.form == {"To": E164, "MessagingServiceSid": SERVICE, "Body": NOTICE}
    assert sent.status == "accepted"
    assert sent.parts == 2  # Twilio says 0 until the service picks a sender: estimated


async def test_wrong_credentials_are_refused_and_retried_later(fake):
    async with TwilioGateway(
        ACCOUNT, "not-the-token", from_=SENDER, api_base=fake.base_url
    ) as gateway:
        with pytest.raises(GatewayError) as caught:
            await gateway.send(notice())

    assert [r.authorized for r in fake.requests] == [False]
    assert not fake.messages
    assert "20003" in str(caught.value)
    assert caught.value.retry  # our configuration, not this notice: keep it for later


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (21211, "Invalid 'To' Phone Number: +8613800138000"),
        (21610, "Attempt to send to unsubscribed recipient"),
        (21614, "'To' number +8613800138000 is not a valid mobile number"),
    ],
)
async def test_an_error_of_the_recipient_is_final(fake, gateway, code, text):
    fake.fail_next(status=400, code=code, message=text)

    with pytest.raises(GatewayError) as caught:
        await gateway.send(notice())

    assert caught.value.retry is False
    assert str(code) in str(caught.value)
    assert PHONE not in str(caught.value)
    assert not fake.messages


@pytest.mark.parametrize(("status", "code"), [(503, None), (500, 20500), (429, 20429)])
async def test_twilio_trouble_is_retried(fake, gateway, status, code):
    fake.fail_next(status=status, code=code)

    with pytest.raises(GatewayError) as caught:
        await gateway.send(notice())

    assert caught.value.retry is True
    assert str(status) in str(caught.value)
    # and it clears: the next try goes out
    assert (await gateway.send(notice())).provider_id in fake.messages


@pytest.mark.parametrize("how", ["drop", "error"])
async def test_a_lost_answer_is_retried_and_find_sent_then_finds_the_message(fake, gateway, how):
    since = just_before()
    fake.crash_after_accept(how=how)

    with pytest.raises(GatewayError) as caught:
        await gateway.send(notice())
    assert caught.value.retry is True

    [accepted] = fake.messages.values()  # it did go out
    found = await gateway.find_sent(notice(), since)
    assert found is not None
    assert found.provider_id == accepted.sid
    assert found.status == "queued"
    assert found.parts == 2


async def test_a_hanging_api_times_out_as_retryable(fake):
    fake.stall_next(30)
    async with TwilioGateway(
        ACCOUNT, TOKEN, from_=SENDER, api_base=fake.base_url, timeout=0.2
    ) as gateway:
        with pytest.raises(GatewayError) as caught:
            await gateway.send(notice())

    assert caught.value.retry is True
    assert "no answer within 0.2 s" in str(caught.value)


async def test_a_refused_connection_is_retryable():
    async with FakeTwilio() as gone:
        base = gone.base_url  # a port nobody listens on once it is closed
    async with TwilioGateway(ACCOUNT, TOKEN, from_=SENDER, api_base=base) as gateway:
        with pytest.raises(GatewayError) as caught:
            await gateway.send(notice())
    assert caught.value.retry is True


# -- find_sent -------------------------------------------------------------------------


async def test_find_sent_finds_an_earlier_identical_send(fake, gateway):
    since = just_before()
    first = await gateway.send(notice())
    fake.set_status(first.provider_id, "delivered")

    found = await gateway.find_sent(notice(key="booking-confirmed:1:p1"), since)

    assert found is not None
    assert (found.provider_id, found.status, found.parts) == (first.provider_id, "delivered", 2)
    [listing] = [r for r in fake.requests if r.method == "GET"]
    assert listing.query["To"] == E164
    assert listing.query["From"] == SENDER
    assert not any(key.startswith("DateSent") for key in listing.query)  # see find_sent


async def test_find_sent_matches_the_body_the_phone_and_the_sender_exactly(fake, gateway):
    since = just_before()
    fake.add_message(E164, NOTICE + " ")  # a different body
    fake.add_message("+8613900000001", NOTICE)  # another phone
    fake.add_message(E164, NOTICE, from_="+861069000001")  # another sender of the account
    fake.add_message(E164, NOTICE, direction="inbound")  # not ours to send

    assert await gateway.find_sent(notice(), since) is None

    other = await gateway.send(notice(body="【协和医院】您的预约已取消。"))
    assert await gateway.find_sent(notice(), since) is None
    found = await gateway.find_sent(notice(body="【协和医院】您的预约已取消。"), since)
    assert found is not None
    assert found.provider_id == other.provider_id


async def test_find_sent_ignores_an_older_identical_message(fake, gateway):
    now = datetime.now(UTC)
    fake.add_message(E164, NOTICE, created=now - timedelta(hours=2), sent=now - timedelta(hours=2))
    fake.add_message(E164, NOTICE, created=now - timedelta(seconds=30))  # still queued

    assert await gateway.find_sent(notice(), now) is None


async def test_find_sent_allows_for_whole_second_dates(fake, gateway):
    now = datetime.now(UTC)
    recent = fake.add_message(E164, NOTICE, created=now - timedelta(seconds=1))

    found = await gateway.find_sent(notice(), now)

    assert found is not None
    assert found.provider_id == recent.sid


async def test_find_sent_reads_further_pages(fake, gateway):
    since = just_before()
    ours = await gateway.send(notice())
    for n in range(60):  # newer messages to the same phone push ours to the second page
        fake.add_message(E164, f"【协和医院】提醒{n}")

    found = await gateway.find_sent(notice(), since)

    assert found is not None
    assert found.provider_id == ours.provider_id
    pages = [r for r in fake.requests if r.method == "GET"]
    assert len(pages) == 2
    assert pages[1].query["PageToken"].startswith("PASM")


async def test_find_sent_stops_at_the_first_message_sent_before_since(fake, gateway):
    now = datetime.now(UTC)
    for n in range(120):  # a long history
        old = now - timedelta(days=1, minutes=n)
        fake.add_message(E164, f"【协和医院】旧通知{n}", created=old, sent=old)

    assert await gateway.find_sent(notice(), now) is None
    assert len([r for r in fake.requests if r.method == "GET"]) == 1


async def test_find_sent_failing_is_retryable(fake):
    async with TwilioGateway(ACCOUNT, "wrong", from_=SENDER, api_base=fake.base_url) as gateway:
        with pytest.raises(GatewayError) as caught:
            await gateway.find_sent(notice(), just_before())
    assert caught.value.retry is True


# -- resources and logs ----------------------------------------------------------------


async def test_the_http_session_is_closed(fake):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gateway = TwilioGateway(ACCOUNT, TOKEN, from_=SENDER, api_base=fake.base_url)
        await gateway.send(notice())
        await gateway.find_sent(notice(), just_before())
        await gateway.aclose()
        del gateway
        gc.collect()

    assert [str(w.message) for w in caught] == []


async def test_a_gateway_can_be_used_again_after_aclose(fake, gateway):
    await gateway.send(notice())
    await gateway.aclose()
    await gateway.send(notice())
    assert len(fake.messages) == 2


async def test_phone_numbers_are_masked_in_logs(fake, gateway, caplog):
    caplog.set_level(logging.DEBUG)
    since = just_before()
    await gateway.send(notice())
    await gateway.find_sent(notice(), since)
    fake.fail_next(code=21211, message=f"Invalid 'To' Phone Number: {E164}")
    with pytest.raises(GatewayError):
        await gateway.send(notice())

    ours = [r for r in caplog.records if r.name.startswith(("sms", "twilio"))]
    assert len(ours) >= 3
    assert MASKED in caplog.text
    assert PHONE not in caplog.text
    assert "8613800138000" not in caplog.text


# -- small pieces ----------------------------------------------------------------------


def test_phone_numbers_for_twilio_and_for_logs():
    assert to_e164("13800138000") == "+8613800138000"
    assert to_e164("+8613800138000") == "+8613800138000"
    assert to_e164("008613800138000") == "+8613800138000"
    assert mask_numbers("'To' number +8613800138000 is bad") == "'To' number +86****8000 is bad"


@pytest.mark.parametrize(
    ("body", "parts"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("{" * 80, 1),
        ("{" * 81, 2),
        ("a" * 100 + "`", 2),
        ("诊" * 70, 1),
        ("诊" * 71, 2),
        ("诊" * 135, 3),
    ],
)
def test_segments(body, parts):
    assert count_segments(body) == parts
    assert estimate_parts(body) == parts


def test_a_sender_is_required():
    with pytest.raises(ValueError, match="from_ or messaging_service_sid"):
        TwilioGateway(ACCOUNT, TOKEN)


# -- the fake's own promises -----------------------------------------------------------


async def test_the_fake_signs_status_callbacks_like_twilio(fake, gateway, aiohttp_client):
    seen: list[dict[str, str]] = []

    async def status(request: web.Request) -> web.Response:
        form = await request.post()
        valid = RequestValidator(TOKEN).validate(
            CALLBACK, form, request.headers.get("X-Twilio-Signature", "")
        )
        seen.append(dict(form))
        return web.Response(status=204 if valid else 403)

    app = web.Application()
    app.router.add_post("/twilio/sms/status", status)
    client = await aiohttp_client(app)
    sent = await gateway.send(notice())

    result = await fake.report_status(
        client, sent.provider_id, "undelivered", error_code=30003, post_to="/twilio/sms/status"
    )

    assert result[0] == 204
    assert seen[0]["MessageSid"] == sent.provider_id
    assert seen[0]["MessageStatus"] == "undelivered"
    assert seen[0]["ErrorCode"] == "30003"
    assert (seen[0]["To"], seen[0]["From"], seen[0]["AccountSid"]) == (E164, SENDER, ACCOUNT)
    assert fake.messages[sent.provider_id].date_sent is not None


async def test_the_fake_filters_by_date_sent_days_and_fetches_one(fake):
    day = datetime(2026, 7, 10, 23, 30, tzinfo=UTC)
    early = fake.add_message(E164, "早", created=day, sent=day)
    late = fake.add_message(E164, "晚", created=day, sent=day + timedelta(hours=1))  # 7-11 GMT
    fake.add_message(E164, "未发")  # queued: no DateSent
    base = f"{fake.base_url}/2010-04-01/Accounts/{ACCOUNT}/Messages"

    login = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    async with aiohttp.ClientSession(headers={"Authorization": f"Basic {login}"}) as http:

        async def sids(**query: str) -> list[str]:
            async with http.get(f"{base}.json", params=query) as resp:
                assert resp.status == 200
                return [m["sid"] for m in (await resp.json())["messages"]]

        assert await sids(**{"DateSent>": "2026-07-11"}) == [late.sid]
        assert await sids(**{"DateSent<": "2026-07-10T23:59:59Z"}) == [early.sid]
        assert await sids(DateSent="2026-07-10") == [early.sid]
        assert len(await sids(To=E164)) == 3
        async with http.get(f"{base}/{late.sid}.json") as resp:
            assert (await resp.json())["body"] == "晚"
        async with http.get(f"{base}/SMnope.json") as resp:
            assert (resp.status, (await resp.json())["code"]) == (404, 20404)
