"""Feed subscriptions (HIS 对接): a hospital's webhook URLs and HL7 endpoints, their
signing secrets (shown once, in the answer that made or rotated them), their deliveries
and the delivery log, and sending again what was given up on.

A subscriber's address is checked before the core stores it (the SSRF guard,
:mod:`edge.outbound`): one that is or resolves to a loopback, link-local or private
address is refused (422) unless the engine allows private addresses. A hospital's token
sees only its own subscriptions; another's is "not found".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from booking_core import feeds
from booking_core.feeds import Delivery, DeliveryAttempt, DeliveryStatus, FeedKind, Subscription
from booking_core.kernel.actor import Actor
from booking_core.kernel.errors import InvalidInput
from edge.outbound import check_subscriber_address

from ..keys import SETTINGS
from ..present import local_iso
from ..schemas_feeds import (
    DeliveryQuery,
    RedeliverIn,
    RotateIn,
    SubscriptionIn,
    SubscriptionPatch,
    SubscriptionQuery,
)
from ..wire import json_response, parse_body, parse_query, path_int
from . import caller, directory, hospital_code, services


def _counts(counts: dict[str, int]) -> dict[str, int]:
    return {str(s): counts.get(str(s), 0) for s in DeliveryStatus}


def subscription_out(s: Subscription, counts: dict[str, int], tz: ZoneInfo) -> dict[str, Any]:
    """A subscription as the API shows it: never its secret."""
    return {
        "id": s.id,
        "hospital": s.hospital_code,
        "kind": str(s.kind),
        "name": s.name,
        "url": s.url,
        "topics": list(s.topics),
        "options": dict(s.options),
        "active": s.active,
        "created_at": local_iso(s.created_at, tz),
        "updated_at": local_iso(s.updated_at, tz),
        "secret_rotated_at": local_iso(s.secret_rotated_at, tz),
        "previous_secret_until": local_iso(s.previous_secret_until, tz),
        "deliveries": _counts(counts),
    }


def delivery_out(d: Delivery, tz: ZoneInfo) -> dict[str, Any]:
    """A delivery without its payload: what went is the event (docs/events.md), and the
    log is read by people who need its state, not the patient's details."""
    return {
        "id": d.id,
        "message_id": d.message_id,
        "topic": d.event.topic,
        "key": d.event.key,
        "status": str(d.status),
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "event_at": local_iso(d.event.created_at, tz),
        "first_due_at": local_iso(d.first_due_at, tz),
        "due_at": local_iso(d.due_at, tz),
        "done_at": local_iso(d.done_at, tz),
    }


def attempt_out(a: DeliveryAttempt, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "attempt": a.attempt,
        "at": local_iso(a.at, tz),
        "outcome": str(a.outcome),
        "duration_ms": a.duration_ms,
        "status_code": a.status_code,
        "error": a.error,
    }


def _with_counts(tx, actor: Actor, subscription_ids: list[int] | None, code: str | None):
    """Subscriptions and their delivery counts in one read (``subscription_ids`` None:
    every one ``actor`` sees, of hospital ``code`` when given)."""
    if subscription_ids is None:
        found = yield from feeds.subscriptions(tx, actor, code)
    else:
        found = []
        for subscription_id in subscription_ids:
            found.append((yield from feeds.subscription(tx, actor, subscription_id)))
    out = []
    for s in found:
        counts = yield from feeds.delivery_counts(tx, actor, s.id)
        out.append((s, counts))
    return out


async def _answer(request: web.Request, s: Subscription, status: int = 200, **extra: Any):
    [(s, counts)] = await services(request).read(_with_counts, caller(request).actor, [s.id], None)
    tz = await directory(request).zone(s.hospital_code)
    return json_response({**subscription_out(s, counts, tz), **extra}, status)


def _allow_private(request: web.Request) -> bool:
    return request.app[SETTINGS].feeds_allow_private


async def list_subscriptions(request: web.Request) -> web.Response:
    q = parse_query(request, SubscriptionQuery)
    found = await services(request).read(_with_counts, caller(request).actor, None, q.hospital)
    dirs = directory(request)
    items = [subscription_out(s, c, await dirs.zone(s.hospital_code)) for s, c in found]
    return json_response({"items": items})


async def post_subscription(request: web.Request) -> web.Response:
    data = await parse_body(request, SubscriptionIn)
    code = hospital_code(request, data.hospital)
    assert code is not None
    kind = FeedKind(data.kind)
    await check_subscriber_address(kind, data.url, allow_private=_allow_private(request))
    made = await services(request).handle(
        feeds.CreateSubscription(
            actor=caller(request).actor,
            hospital_code=code,
            kind=kind,
            name=data.name,
            url=data.url,
            topics=tuple(data.topics),
            options=dict(data.options),
        )
    )
    return await _answer(request, made.subscription, 201, secret=made.secret)


def _subscription_id(request: web.Request) -> int:
    return path_int(request, "id")


async def get_subscription(request: web.Request) -> web.Response:
    found = await services(request).read(
        feeds.subscription, caller(request).actor, _subscription_id(request)
    )
    return await _answer(request, found)


async def patch_subscription(request: web.Request) -> web.Response:
    subscription_id = _subscription_id(request)
    data = await parse_body(request, SubscriptionPatch)
    who = caller(request)
    old = await services(request).read(feeds.subscription, who.actor, subscription_id)
    if data.url is not None and data.url.strip() != old.url:
        await check_subscriber_address(old.kind, data.url, allow_private=_allow_private(request))
    changed = await services(request).handle(
        feeds.UpdateSubscription(
            actor=who.actor,
            subscription_id=subscription_id,
            name=data.name,
            url=data.url,
            topics=None if data.topics is None else tuple(data.topics),
            options=None if data.options is None else dict(data.options),
            active=data.active,
        )
    )
    return await _answer(request, changed)


async def rotate_secret(request: web.Request) -> web.Response:
    subscription_id = _subscription_id(request)
    data = await parse_body(request, RotateIn)
    who = caller(request)
    old = await services(request).read(feeds.subscription, who.actor, subscription_id)
    if old.kind is not FeedKind.WEBHOOK:
        raise InvalidInput("subscription", "an HL7 endpoint has no secret to rotate")
    rotated = await services(request).handle(
        feeds.RotateSecret(
            actor=who.actor, subscription_id=subscription_id, overlap_hours=data.overlap_hours
        )
    )
    return await _answer(request, rotated.subscription, secret=rotated.secret)


def _next_link(request: web.Request, q: DeliveryQuery, oldest: int) -> str:
    params: dict[str, Any] = {"before": oldest, "limit": q.limit}
    if q.status is not None:
        params["status"] = q.status
    return f"{request.path}?{urlencode(params)}"


async def list_deliveries(request: web.Request) -> web.Response:
    subscription_id = _subscription_id(request)
    q = parse_query(request, DeliveryQuery)
    who = caller(request)
    found = await services(request).read(
        feeds.deliveries,
        who.actor,
        subscription_id,
        status=None if q.status is None else DeliveryStatus(q.status),
        before_id=q.before,
        limit=q.limit + 1,  # one more than asked: is there another page?
    )
    page, more = found[: q.limit], len(found) > q.limit
    sub = await services(request).read(feeds.subscription, who.actor, subscription_id)
    tz = await directory(request).zone(sub.hospital_code)
    link = _next_link(request, q, page[-1].id) if more else None
    headers = None if link is None else {"Link": f'<{link}>; rel="next"'}
    body = {"items": [delivery_out(d, tz) for d in page], "next": link}
    return json_response(body, headers=headers)


async def delivery_attempts(request: web.Request) -> web.Response:
    delivery_id = path_int(request, "id")
    who = caller(request)
    found = await services(request).read(feeds.delivery, who.actor, delivery_id)
    log = await services(request).read(feeds.attempts, who.actor, delivery_id)
    sub = await services(request).read(feeds.subscription, who.actor, found.subscription_id)
    tz = await directory(request).zone(sub.hospital_code)
    return json_response(
        {"delivery": delivery_out(found, tz), "items": [attempt_out(a, tz) for a in log]}
    )


async def redeliver(request: web.Request) -> web.Response:
    subscription_id = _subscription_id(request)
    data = await parse_body(request, RedeliverIn)
    count = await services(request).handle(
        feeds.Redeliver(
            actor=caller(request).actor,
            subscription_id=subscription_id,
            delivery_id=data.delivery_id,
        )
    )
    return json_response({"count": count})
