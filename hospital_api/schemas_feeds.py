"""Schemas of the feed subscriptions (HIS 对接: webhooks and HL7 endpoints), their
deliveries and the delivery log. Instants are ISO 8601 in the subscription's hospital's
zone. A signing secret appears in two answers only, the one that made it (POST) and the
one that rotated it: never in a GET."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from booking_core.events import EVENT_TYPES

from .schemas import HOSPITAL_CODE, Body, Id, Out, Query

TOPICS = sorted(EVENT_TYPES)
MAX_TOPICS = 100  # there are fewer than 40 topics: the bound only stops abuse
MAX_OPTIONS = 10
MAX_OVERLAP_HOURS = 7 * 24  # the core's bound too
MAX_PAGE = 200

Topic = Annotated[
    str, Field(max_length=64, json_schema_extra={"enum": TOPICS}, description="an event topic")
]
OptionValue = Annotated[str, Field(max_length=40)]
Kind = Literal["webhook", "hl7"]
Status = Literal["pending", "done", "dead"]

NAME = Field(min_length=1, max_length=60, description="what the hospital calls it")
URL = Field(
    min_length=1,
    max_length=2000,
    description="https://… for a webhook, mllp://host:port for an HL7 endpoint; its host must "
    "be a public address unless the engine allows private ones",
)
TOPICS_FIELD = Field(max_length=MAX_TOPICS, description="the topics it wants; empty: every one")
OPTIONS = Field(
    max_length=MAX_OPTIONS,
    description='HL7 only: no_show ("S26" or "S17"), id_number ("masked" or "full"), '
    "receiving_application, receiving_facility; a webhook takes none",
)


class SubscriptionIn(Body):
    hospital: str | None = Field(None, pattern=HOSPITAL_CODE, description="default: the token's")
    kind: Kind = "webhook"
    name: str = NAME
    url: str = URL
    topics: list[Topic] = Field(default_factory=list, max_length=MAX_TOPICS)
    options: dict[str, OptionValue] = Field(default_factory=dict, max_length=MAX_OPTIONS)


class SubscriptionPatch(Body):
    """What to change; what is left out stays as it is."""

    name: str | None = Field(None, min_length=1, max_length=60)
    url: str | None = Field(None, min_length=1, max_length=2000)
    topics: list[Topic] | None = Field(None, max_length=MAX_TOPICS)
    options: dict[str, OptionValue] | None = Field(None, max_length=MAX_OPTIONS)
    active: bool | None = Field(None, description="false: no new deliveries until true again")


class RotateIn(Body):
    overlap_hours: int = Field(
        24,
        ge=0,
        le=MAX_OVERLAP_HOURS,
        description="how long the replaced secret still signs too (a second signature)",
    )


class RedeliverIn(Body):
    delivery_id: int | None = Id("one delivery, whatever its state; absent: every dead one", None)


class SubscriptionQuery(Query):
    hospital: str | None = Field(None, pattern=HOSPITAL_CODE, description="only this one's")


class DeliveryQuery(Query):
    status: Status | None = None
    before: int | None = Id("only deliveries older than this one (the `next` link's)", None)
    limit: int = Field(50, ge=1, le=MAX_PAGE)


class DeliveryCounts(Out):
    pending: int
    done: int
    dead: int


class SubscriptionOut(Out):
    id: int
    hospital: str
    kind: Kind
    name: str
    url: str
    topics: list[str] = Field(description="empty: every topic")
    options: dict[str, str]
    active: bool
    created_at: str
    updated_at: str
    secret_rotated_at: str | None
    previous_secret_until: str | None = Field(
        description="while the replaced secret still signs too"
    )
    deliveries: DeliveryCounts


class SubscriptionList(Out):
    items: list[SubscriptionOut]


class SubscriptionWithSecret(SubscriptionOut):
    secret: str | None = Field(
        description="the signing secret (whsec_…), shown in this answer only: keep it now. "
        "None for an HL7 endpoint"
    )


class DeliveryOut(Out):
    id: int
    message_id: str = Field(description="the webhook-id: the same on every attempt")
    topic: str
    key: str = Field(description="the aggregate (a booking number …): its events stay in order")
    status: Status
    attempts: int
    last_status: int | None = Field(description="the receiver's last HTTP status")
    last_error: str
    event_at: str | None
    first_due_at: str
    due_at: str
    done_at: str | None


class DeliveryList(Out):
    items: list[DeliveryOut] = Field(description="newest first")
    next: str | None = Field(description="the next (older) page, when there is one")


class AttemptOut(Out):
    attempt: int
    at: str
    outcome: Literal["delivered", "retry", "rejected"]
    duration_ms: int
    status_code: int | None
    error: str


class AttemptList(Out):
    delivery: DeliveryOut
    items: list[AttemptOut] = Field(description="first attempt first")


class RedeliverOut(Out):
    count: int = Field(description="how many deliveries are due again now")
