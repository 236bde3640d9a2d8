"""Subscriptions (订阅): make one, change it, rotate its signing secret. Every change is
audited; a secret is never audited, logged or shown again after the answer that made it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from ..catalogue.repo import hospital_for
from ..events.audit import AuditAction
from ..events.model import EVENT_TYPES
from ..kernel.deps import Deps
from ..kernel.errors import InvalidInput, InvalidState
from ..kernel.unit import Tx, Unit, execute, to_epoch, val
from .commands import CreateSubscription, RotateSecret, UpdateSubscription
from .model import HL7_OPTIONS, CreatedSubscription, FeedKind, Subscription
from .repo import (
    json_list,
    json_object,
    new_secret,
    seal,
    seen_subscription,
    subscription_by_id,
)

NAME_MAX = 60
URL_MAX = 2000
MAX_OVERLAP_HOURS = 7 * 24
MAX_SUBSCRIPTIONS = 20  # per hospital: each has its own worker

FREE_TEXT = re.compile(r"[A-Za-z0-9 _.\-]{1,40}")


def _name(value: str) -> str:
    value = " ".join(value.split())
    if not value or len(value) > NAME_MAX:
        raise InvalidInput("name", f"1 to {NAME_MAX} characters")
    return value


def check_url(kind: FeedKind, url: str) -> str:
    """The URL's form for its kind (whether its address may be reached is the door's check)."""
    url = url.strip()
    if not url or len(url) > URL_MAX or any(c.isspace() for c in url):
        raise InvalidInput("url", f"an address of at most {URL_MAX} characters, no spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise InvalidInput("url", f"not an address: {err}") from None
    if kind is FeedKind.WEBHOOK:
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise InvalidInput("url", "an https:// (or http://) address with a host")
        if parts.username or parts.password:
            raise InvalidInput("url", "no user or password in the address: it is signed")
    else:
        if parts.scheme != "mllp" or not parts.hostname or port is None:
            raise InvalidInput("url", "mllp://host:port for an HL7 endpoint")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise InvalidInput("url", "mllp://host:port and nothing after it")
    return url


def check_topics(topics: tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted({t for t in topics if t not in EVENT_TYPES})
    if unknown:
        raise InvalidInput("topics", f"unknown topic(s): {', '.join(unknown)[:200]}")
    return tuple(sorted(set(topics)))


def check_options(kind: FeedKind, options: dict[str, Any]) -> dict[str, Any]:
    if kind is FeedKind.WEBHOOK:
        if options:
            raise InvalidInput("options", "a webhook takes no options")
        return {}
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key not in HL7_OPTIONS:
            raise InvalidInput("options", f"unknown option {str(key)[:40]!r}")
        allowed = HL7_OPTIONS[key]
        if not isinstance(value, str):
            raise InvalidInput("options", f"{key} is text")
        if allowed is not None and value not in allowed:
            raise InvalidInput("options", f"{key}: one of {', '.join(allowed)}")
        if allowed is None and not FREE_TEXT.fullmatch(value):
            raise InvalidInput("options", f"{key}: 1 to 40 letters, digits, space . _ -")
        out[key] = value
    return out


def create_subscription(tx: Tx, cmd: CreateSubscription, deps: Deps) -> Unit[CreatedSubscription]:
    hospital = yield from hospital_for(cmd.actor, cmd.hospital_code)
    kind = FeedKind(cmd.kind)
    name = _name(cmd.name)
    url = check_url(kind, cmd.url)
    topics = check_topics(cmd.topics)
    options = check_options(kind, cmd.options)
    count = yield val("SELECT count(*) FROM feed_subscriptions WHERE hospital_id = ?", hospital.id)
    if count >= MAX_SUBSCRIPTIONS:
        raise InvalidInput("hospital", f"at most {MAX_SUBSCRIPTIONS} subscriptions")
    secret = new_secret() if kind is FeedKind.WEBHOOK else None
    subscription_id = yield val(
        "INSERT INTO feed_subscriptions (hospital_id, kind, name, url, topics, options, "
        "active, secret, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?) "
        "RETURNING id",
        hospital.id,
        str(kind),
        name,
        url,
        json_list(topics),
        json_object(options),
        None if secret is None else seal(deps.cipher, secret),
        tx.epoch,
        tx.epoch,
    )
    tx.audit(
        cmd.actor,
        AuditAction.FEED_SUBSCRIBE,
        "subscription",
        subscription_id,
        hospital_id=hospital.id,
        after={"kind": str(kind), "name": name, "url": url, "topics": list(topics)},
    )
    subscription = yield from subscription_by_id(subscription_id)
    return CreatedSubscription(subscription, secret)


def update_subscription(tx: Tx, cmd: UpdateSubscription, deps: Deps) -> Unit[Subscription]:
    old = yield from seen_subscription(cmd.actor, cmd.subscription_id, lock=True)
    name = old.name if cmd.name is None else _name(cmd.name)
    url = old.url if cmd.url is None else check_url(old.kind, cmd.url)
    topics = old.topics if cmd.topics is None else check_topics(cmd.topics)
    options = old.options if cmd.options is None else check_options(old.kind, cmd.options)
    active = old.active if cmd.active is None else cmd.active
    before = {"name": old.name, "url": old.url, "topics": list(old.topics),
              "options": old.options, "active": old.active}  # fmt: skip
    after = {"name": name, "url": url, "topics": list(topics), "options": options,
             "active": active}  # fmt: skip
    if before == after:
        return old
    yield execute(
        "UPDATE feed_subscriptions SET name = ?, url = ?, topics = ?, options = ?, active = ?, "
        "updated_at = ? WHERE id = ?",
        name,
        url,
        json_list(topics),
        json_object(options),
        int(active),
        tx.epoch,
        old.id,
    )
    tx.audit(
        cmd.actor,
        AuditAction.FEED_EDIT,
        "subscription",
        old.id,
        hospital_id=old.hospital_id,
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
    )
    return (yield from subscription_by_id(old.id))


def rotate_secret(tx: Tx, cmd: RotateSecret, deps: Deps) -> Unit[CreatedSubscription]:
    old = yield from seen_subscription(cmd.actor, cmd.subscription_id, lock=True)
    if old.kind is not FeedKind.WEBHOOK:
        raise InvalidState(status=str(old.kind), action="rotate_secret")
    if not 0 <= cmd.overlap_hours <= MAX_OVERLAP_HOURS:
        raise InvalidInput("overlap_hours", f"0 to {MAX_OVERLAP_HOURS}")
    current = yield val("SELECT secret FROM feed_subscriptions WHERE id = ?", old.id)
    secret = new_secret()
    until = tx.now + timedelta(hours=cmd.overlap_hours)
    yield execute(
        "UPDATE feed_subscriptions SET secret = ?, previous_secret = ?, "
        "previous_secret_until = ?, secret_rotated_at = ?, updated_at = ? WHERE id = ?",
        seal(deps.cipher, secret),
        current,
        to_epoch(until),
        tx.epoch,
        tx.epoch,
        old.id,
    )
    tx.audit(
        cmd.actor,
        AuditAction.FEED_ROTATE_SECRET,
        "subscription",
        old.id,
        hospital_id=old.hospital_id,
        after={"overlap_until": until.isoformat()},
    )
    subscription = yield from subscription_by_id(old.id)
    return CreatedSubscription(subscription, secret)
