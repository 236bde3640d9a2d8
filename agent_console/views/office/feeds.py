"""Feeds (HIS 对接): the hospital's webhook URLs and HL7 endpoints, as its admin manages
them.

- The screen lists each subscription: kind, name, address, topics in words, active, and
  its deliveries pending, done and dead; a form adds one (a webhook, or an HL7 endpoint
  with its options).
- A webhook's signing secret is drawn by the core and shown on the answer to the request
  that made it (or rotated it), once: never on a list, a subscription's page or in a log.
- A subscription's page lists its deliveries, newest first, filtered by status and paged
  "older"; a delivery's page its attempts (the delivery log). Either sends again: one
  delivery, or every dead one.

A subscriber's address is checked before the core stores it (:mod:`edge.outbound`): a
loopback, link-local or private one is refused in words unless the engine allows it.
Another hospital's subscription or delivery is "not found" (the core's tenancy rule).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from booking_core import feeds
from booking_core.events import EVENT_TYPES
from booking_core.feeds import Delivery, DeliveryAttempt, DeliveryStatus, FeedKind, Subscription
from booking_core.kernel.actor import Actor
from booking_core.kernel.errors import InvalidInput
from edge.outbound import check_subscriber_address

from ...i18n import language
from ...i18n_feeds import topic_text
from ...i18n_office import office_text
from ...pages import Page
from ..common import actor, form, services, settings
from ..times import localized, zone_of
from .util import hospital_of, int_param, office_url, page

PAGE_SIZE = 50
HL7_OPTIONS = ("no_show", "id_number", "receiving_application", "receiving_facility")
DONE_WORDS = {"activated": "feed_activated", "deactivated": "feed_deactivated",
              "saved": "feed_saved"}  # fmt: skip
"""``?done=`` after a redirect: the notice the page shows (anything else shows none)."""


async def check_address_of(request: web.Request, kind: FeedKind, url: str) -> None:
    await check_subscriber_address(kind, url, allow_private=settings(request).feeds_allow_private)


def _word(lang: str, key: str) -> str:
    return office_text(lang, key)


def subscription_row(s: Subscription, counts: dict[str, int], lang: str) -> dict[str, Any]:
    """A subscription as the screen and its JSON twin show it: never its secret (times
    still UTC: localise)."""
    return {
        "id": s.id,
        "hospital": s.hospital_code,
        "kind": str(s.kind),
        "kind_text": _word(lang, f"feed_kind_{s.kind}"),
        "name": s.name,
        "url": s.url,
        "topics": [{"topic": t, "text": topic_text(lang, t)} for t in s.topics],
        "all_topics": not s.topics,
        "options": dict(s.options),
        "active": s.active,
        "counts": {str(st): counts.get(str(st), 0) for st in DeliveryStatus},
        "created_at": s.created_at,
        "secret_rotated_at": s.secret_rotated_at,
        "previous_secret_until": s.previous_secret_until,
    }


def delivery_row(d: Delivery, lang: str) -> dict[str, Any]:
    """A delivery without its payload: the log is about its state, not the patient."""
    return {
        "id": d.id,
        "message_id": d.message_id,
        "topic": d.event.topic,
        "topic_text": topic_text(lang, d.event.topic),
        "key": d.event.key,
        "status": str(d.status),
        "status_text": _word(lang, f"delivery_{d.status}"),
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "event_at": d.event.created_at,
        "due_at": d.due_at,
        "done_at": d.done_at,
    }


def attempt_row(a: DeliveryAttempt, lang: str) -> dict[str, Any]:
    return {
        "attempt": a.attempt,
        "at": a.at,
        "outcome": str(a.outcome),
        "outcome_text": _word(lang, f"outcome_{a.outcome}"),
        "status_code": a.status_code,
        "duration_ms": a.duration_ms,
        "error": a.error,
    }


def _with_counts(tx, who: Actor, hospital: str | None):
    found = yield from feeds.subscriptions(tx, who, hospital)
    out = []
    for s in found:
        out.append((s, (yield from feeds.delivery_counts(tx, who, s.id))))
    return out


def _one_with_counts(tx, who: Actor, subscription_id: int):
    s = yield from feeds.subscription(tx, who, subscription_id)
    return s, (yield from feeds.delivery_counts(tx, who, s.id))


def _topic_choices(lang: str) -> list[dict[str, str]]:
    return [{"topic": t, "text": topic_text(lang, t)} for t in EVENT_TYPES]


def _row_id(value: str | None, name: str) -> int | None:
    """A row id from a form or the query string (absent: None); 1 to 18 digits."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit() and len(value) <= 18) or int(value) < 1:
        raise InvalidInput(name, "a positive whole number")
    return int(value)


def _notice(request: web.Request) -> str:
    done = request.query.get("done", "")
    lang = language(request)
    if done == "redelivered":
        count = int_param(request.query.get("count"), "count", 0)
        return office_text(lang, "redelivered", count=count)
    key = DONE_WORDS.get(done)
    return "" if key is None else _word(lang, key)


async def subscriptions_page(request: web.Request) -> Page:
    hospital = hospital_of(request)
    found = await services(request).read(_with_counts, actor(request), hospital)
    lang = language(request)
    tz = await zone_of(request, hospital)
    rows = localized([subscription_row(s, c, lang) for s, c in found], tz)
    return page(
        request,
        {"subscriptions": rows, "hospital": hospital, "topic_choices": _topic_choices(lang),
         "notice": _notice(request)},
    )  # fmt: skip


def _topics(fields: dict[str, str]) -> tuple[str, ...]:
    return tuple(t.strip() for t in fields.get("topics", "").split(",") if t.strip())


def _options(kind: FeedKind, fields: dict[str, str]) -> dict[str, Any]:
    if kind is not FeedKind.HL7:
        return {}
    return {k: fields[k].strip() for k in HL7_OPTIONS if fields.get(k, "").strip()}


def _kind(fields: dict[str, str]) -> FeedKind:
    value = fields.get("kind", "webhook") or "webhook"
    if value not in FeedKind._value2member_map_:
        raise InvalidInput("kind", "webhook or hl7")
    return FeedKind(value)


async def _shown_once(request: web.Request, s: Subscription, secret: str | None, note: str):
    """The answer that carries a new secret: the one time it is ever shown."""
    lang = language(request)
    counts = await services(request).read(feeds.delivery_counts, actor(request), s.id)
    tz = await zone_of(request, s.hospital_code)
    row = localized(subscription_row(s, counts, lang), tz)
    until = row["previous_secret_until"]
    note_text = office_text(
        lang, note, name=s.name, until="" if until is None else until.strftime("%Y-%m-%d %H:%M")
    )
    return {"subscription": row, "secret": secret, "note": note_text}


async def add(request: web.Request) -> Page:
    fields = await form(request)
    hospital = hospital_of(request, fields)
    if hospital is None:  # a platform operator names it
        raise InvalidInput("hospital", "the subscription's hospital")
    kind = _kind(fields)
    url = fields.get("url", "")
    await check_address_of(request, kind, url)
    made = await services(request).handle(
        feeds.CreateSubscription(
            actor=actor(request),
            hospital_code=hospital,
            kind=kind,
            name=fields.get("name", ""),
            url=url,
            topics=_topics(fields),
            options=_options(kind, fields),
        )
    )
    shown = await _shown_once(request, made.subscription, made.secret, "feed_created")
    return page(request, shown, status=201)


def _subscription_id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def subscription_page(request: web.Request) -> Page:
    subscription_id = _subscription_id(request)
    status = request.query.get("status", "")
    if status and status not in DeliveryStatus._value2member_map_:
        raise InvalidInput("status", "pending, done or dead")
    before = _row_id(request.query.get("before"), "before")
    who = actor(request)
    s, counts = await services(request).read(_one_with_counts, who, subscription_id)
    found = await services(request).read(
        feeds.deliveries,
        who,
        subscription_id,
        status=DeliveryStatus(status) if status else None,
        before_id=before,
        limit=PAGE_SIZE + 1,
    )
    shown, more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    lang = language(request)
    tz = await zone_of(request, s.hospital_code)
    older = None
    if more:
        query = {"before": shown[-1].id, **({"status": status} if status else {})}
        older = office_url(request, f"feeds/{s.id}?{urlencode(query)}")
    context = {
        "subscription": subscription_row(s, counts, lang),
        "deliveries": [delivery_row(d, lang) for d in shown],
        "status": status,
        "statuses": [{"status": str(st), "text": _word(lang, f"delivery_{st}")}
                     for st in DeliveryStatus],
        "before": before,
        "older": older,
        "topic_choices": _topic_choices(lang),
        "hl7_options": HL7_OPTIONS,
        "notice": _notice(request),
    }  # fmt: skip
    return page(request, localized(context, tz))


async def delivery_page(request: web.Request) -> Page:
    delivery_id = int(request.match_info["id"])
    who = actor(request)
    found = await services(request).read(feeds.delivery, who, delivery_id)
    log = await services(request).read(feeds.attempts, who, delivery_id)
    s = await services(request).read(feeds.subscription, who, found.subscription_id)
    lang = language(request)
    tz = await zone_of(request, s.hospital_code)
    context = {
        "subscription": {"id": s.id, "name": s.name, "hospital": s.hospital_code},
        "delivery": delivery_row(found, lang),
        "attempts": [attempt_row(a, lang) for a in log],
        "notice": _notice(request),
    }
    return page(request, localized(context, tz))


async def edit(request: web.Request) -> Page:
    """Change what the form gives: name, address, topics (``topics_given``: the ticked
    ones, none for every topic), HL7 options (``options_given``)."""
    subscription_id = _subscription_id(request)
    fields = await form(request)
    who = actor(request)
    old = await services(request).read(feeds.subscription, who, subscription_id)
    url = fields.get("url")
    if url is not None and url.strip() != old.url:
        await check_address_of(request, old.kind, url)
    await services(request).handle(
        feeds.UpdateSubscription(
            actor=who,
            subscription_id=subscription_id,
            name=fields.get("name"),
            url=url,
            topics=_topics(fields) if fields.get("topics_given") else None,
            options=_options(old.kind, fields) if fields.get("options_given") else None,
        )
    )
    return page(
        request,
        {"id": subscription_id, "message": "feed_saved"},
        redirect=office_url(request, f"feeds/{subscription_id}?done=saved"),
    )


async def set_active(request: web.Request) -> Page:
    subscription_id = _subscription_id(request)
    fields = await form(request)
    value = fields.get("active", "")
    if value not in ("0", "1"):
        raise InvalidInput("active", "1 or 0")
    changed = await services(request).handle(
        feeds.UpdateSubscription(
            actor=actor(request), subscription_id=subscription_id, active=value == "1"
        )
    )
    done = "activated" if changed.active else "deactivated"
    return page(
        request,
        {"id": changed.id, "active": changed.active, "message": DONE_WORDS[done]},
        redirect=office_url(request, f"feeds/{changed.id}?done={done}"),
    )


async def rotate(request: web.Request) -> Page:
    subscription_id = _subscription_id(request)
    fields = await form(request)
    hours = int_param(fields.get("overlap_hours"), "overlap_hours", 24)
    who = actor(request)
    old = await services(request).read(feeds.subscription, who, subscription_id)
    if old.kind is not FeedKind.WEBHOOK:
        raise InvalidInput("subscription", "an HL7 endpoint has no secret")
    rotated = await services(request).handle(
        feeds.RotateSecret(actor=who, subscription_id=subscription_id, overlap_hours=hours)
    )
    return page(
        request, await _shown_once(request, rotated.subscription, rotated.secret,
                                   "feed_secret_rotated"),
    )  # fmt: skip


async def redeliver(request: web.Request) -> Page:
    subscription_id = _subscription_id(request)
    fields = await form(request)
    delivery = _row_id(fields.get("delivery"), "delivery")
    count = await services(request).handle(
        feeds.Redeliver(actor=actor(request), subscription_id=subscription_id, delivery_id=delivery)
    )
    back = f"feeds/{subscription_id}" if delivery is None else f"feeds/deliveries/{delivery}"
    back += f"?done=redelivered&count={count}"
    note = office_text(language(request), "redelivered", count=count)
    return page(
        request,
        {"id": subscription_id, "count": count, "notice": note},
        redirect=office_url(request, back),
    )
