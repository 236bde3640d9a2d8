"""The ``/api/v1`` sub-application: its route table, its guards and its factory.

The engine mounts it with ``root.add_subapp("/api/v1/", make_app(services, ...))``.
Every answer that is not a success is ``application/problem+json`` (see
:mod:`hospital_api.problems`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging

from aiohttp import hdrs, web

from booking_core.bus import BookingServices
from booking_core.kernel.errors import GuahaoError
from edge.metrics import count_booking

from . import openapi
from .auth import TokenCache, bearer_token, verify
from .directory import Directory
from .keys import (
    CALLER,
    DIRECTORY,
    ON_BOOKING,
    OPENAPI,
    OUTCOME,
    ROUTE_OF,
    ROUTES,
    SERVICES,
    SETTINGS,
    TOKENS,
    ApiSettings,
    BookingCounter,
)
from .problems import Problem, from_domain, from_http, from_problem, internal
from .routing import ADMIN, ANY_ROLE, HIS, Route
from .schemas import (
    BlacklistIn,
    BlacklistOut,
    BookingIn,
    BookingOut,
    CancelIn,
    CheckInIn,
    DepartmentIn,
    DepartmentOut,
    DoctorIn,
    DoctorOut,
    ExtraPlacesIn,
    ExtraPlacesOut,
    HospitalIn,
    HospitalOut,
    PatientIn,
    PatientOut,
    PayIn,
    RescheduleIn,
    RuleIn,
    RuleOut,
    RuleQuery,
    RulesOut,
    SessionIn,
    SessionOut,
    StopIn,
    StopOut,
    TopUpIn,
    WaitlistEntryOut,
    WaitlistIn,
    WaitlistOut,
)
from .schemas_bulk import MAX_SCHEDULE_BODY_BYTES, ScheduleIn, ScheduleOut
from .schemas_feeds import (
    AttemptList,
    DeliveryList,
    DeliveryQuery,
    RedeliverIn,
    RedeliverOut,
    RotateIn,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionPatch,
    SubscriptionQuery,
    SubscriptionWithSecret,
)
from .schemas_his import (
    BlacklistPage,
    BlacklistPageQuery,
    BookingPage,
    BookingPageQuery,
    DepartmentPage,
    DepartmentQuery,
    DoctorPage,
    DoctorQuery,
    HisBlacklistIn,
    HisBlacklistOut,
    PatientPage,
    PatientPageQuery,
    PatientSearchPageIn,
    SessionPage,
    SessionQuery,
    SlotPage,
    SlotPageQuery,
    TokenList,
    TokenOut,
    TokenQuery,
)
from .views import (
    admin,
    bookings,
    bulk,
    docs,
    feeds,
    his_blacklist,
    lists,
    patients,
    schedule,
    tokens,
    waitlist,
)
from .wire import body_limit, check_length

log = logging.getLogger(__name__)

IDEMPOTENCY_HELP = (
    "Retrying with the same key and body returns the first booking (201, same body); "
    "the same key with another body is 422 idempotency_key_reused."
)

BULK_BODY_BYTES = 8 * 1024 * 1024  # a whole list in one request: 20,000 bans fit in 4 MiB

ROUTES_TABLE: list[Route] = [
    # --- schedules (排班)
    Route("PUT", "/hospitals/{code}", schedule.put_hospital, "Create or update a hospital",
          "schedules", ADMIN, HospitalIn, response=HospitalOut, statuses=(201, 200)),
    Route("PUT", "/hospitals/{code}/departments/{dept}", schedule.put_department,
          "Create or update a department (3-digit code)", "schedules", HIS, DepartmentIn,
          response=DepartmentOut, statuses=(201, 200)),
    Route("PUT", "/hospitals/{code}/doctors/{work_no}", schedule.put_doctor,
          "Create or update a doctor (5-digit work number)", "schedules", HIS, DoctorIn,
          response=DoctorOut, statuses=(201, 200)),
    Route("GET", "/hospitals/{code}/departments", lists.get_departments,
          "A hospital's departments, inactive ones too (科室)", "schedules", ANY_ROLE,
          query=DepartmentQuery, response=DepartmentPage),
    Route("GET", "/hospitals/{code}/doctors", lists.get_doctors,
          "A hospital's doctors, inactive ones too (医生)", "schedules", ANY_ROLE,
          query=DoctorQuery, response=DoctorPage),
    Route("GET", "/hospitals/{code}/sessions", lists.get_sessions,
          "A hospital's clinic sessions by day (排班), from today for 30 days unless asked",
          "schedules", ANY_ROLE, query=SessionQuery, response=SessionPage),
    Route("POST", "/hospitals/{code}/sessions", schedule.post_session,
          "Create a clinic session and its slots (出诊)", "schedules", HIS, SessionIn,
          response=SessionOut, statuses=(201,)),
    Route("POST", "/hospitals/{code}/schedule", bulk.post_schedule,
          "Import departments, doctors and sessions all or nothing (排班导入); 422 "
          "import_rejected lists every bad row by list and index", "schedules", HIS, ScheduleIn,
          response=ScheduleOut, statuses=(201, 200), max_body_bytes=MAX_SCHEDULE_BODY_BYTES),
    Route("GET", "/hospitals/{code}/sessions/{id}", schedule.get_session,
          "A clinic session with its slots", "schedules", HIS, response=SessionOut),
    Route("POST", "/hospitals/{code}/sessions/{id}/stop", schedule.stop_session,
          "Stop a session (停诊): move or cancel its bookings", "schedules", HIS, StopIn,
          response=StopOut),
    Route("POST", "/hospitals/{code}/sessions/{id}/waitlist", waitlist.join,
          "Join the waitlist (候补) of a full session: arrival order, position told",
          "waitlist", ANY_ROLE, WaitlistIn, response=WaitlistEntryOut, statuses=(201,)),
    Route("GET", "/hospitals/{code}/sessions/{id}/waitlist", waitlist.get_line,
          "A session's waitlist: those waiting in order, and those holding an offer",
          "waitlist", ANY_ROLE, response=WaitlistOut),
    Route("POST", "/hospitals/{code}/sessions/{id}/waitlist/leave", waitlist.leave,
          "Leave a session's waitlist (an offer held is declined and passes on)", "waitlist",
          ANY_ROLE, WaitlistIn, response=WaitlistEntryOut),
    Route("POST", "/hospitals/{code}/sessions/{id}/extra-places", waitlist.extra_places,
          "Add places (加号) for a named patient or for the waitlist, within the maximum",
          "waitlist", HIS, ExtraPlacesIn, response=ExtraPlacesOut, statuses=(201,)),
    Route("GET", "/slots", schedule.get_slots, "Search slots (号源), bookable now by default",
          "slots", ANY_ROLE, query=SlotPageQuery, response=SlotPage),
    # --- patients
    Route("POST", "/patients", patients.post_patient, "Register a patient (实名)", "patients",
          HIS, PatientIn, response=PatientOut, statuses=(201,)),
    Route("GET", "/patients", patients.get_patients,
          "Find patients by card (phone and ID: POST /patients/search)", "patients", ANY_ROLE,
          query=PatientPageQuery, response=PatientPage),
    Route("POST", "/patients/search", patients.search_patients,
          "Find patients by phone, card or ID, given in the body (kept out of URLs and logs)",
          "patients", ANY_ROLE, PatientSearchPageIn, response=PatientPage),
    Route("GET", "/patients/{id}", patients.get_patient, "A patient", "patients", ANY_ROLE,
          response=PatientOut),
    Route("POST", "/patients/{id}/top-up", patients.top_up, "Top up a prepaid card balance",
          "patients", HIS, TopUpIn, response=PatientOut),
    # --- bookings (预约)
    Route("POST", "/bookings", bookings.post_booking, "Book a place in a slot", "bookings",
          ANY_ROLE, BookingIn, response=BookingOut, statuses=(201,),
          headers=(("Idempotency-Key", IDEMPOTENCY_HELP),), counted=True),
    Route("GET", "/bookings", bookings.list_bookings, "List bookings", "bookings", ANY_ROLE,
          query=BookingPageQuery, response=BookingPage),
    Route("GET", "/bookings/{no}", bookings.get_booking, "A booking by its number", "bookings",
          ANY_ROLE, response=BookingOut),
    Route("POST", "/bookings/{no}/pay", bookings.pay, "Pay a booking", "bookings", ANY_ROLE,
          PayIn, response=BookingOut),
    Route("POST", "/bookings/{no}/confirm", bookings.confirm,
          "Confirm a held booking (a place offered from the waitlist) before its deadline",
          "bookings", ANY_ROLE, response=BookingOut),
    Route("POST", "/bookings/{no}/cancel", bookings.cancel, "Cancel a booking (退号)",
          "bookings", HIS, CancelIn, response=BookingOut),
    Route("POST", "/bookings/{no}/check-in", bookings.check_in,
          "Check in (取号): gives a queue number", "bookings", ANY_ROLE, CheckInIn,
          response=BookingOut),
    Route("POST", "/bookings/{no}/reschedule", bookings.reschedule,
          "Move a booking to another slot (改约)", "bookings", HIS, RescheduleIn,
          response=BookingOut),
    # --- blacklist (黑名单) and rules (规则)
    Route("GET", "/blacklist", admin.get_blacklist, "Bans in force (or all)", "blacklist", HIS,
          query=BlacklistPageQuery, response=BlacklistPage),
    Route("POST", "/blacklist", admin.post_blacklist, "Ban a patient until a date",
          "blacklist", HIS, BlacklistIn, response=BlacklistOut, statuses=(201,)),
    Route("PUT", "/blacklist/his", his_blacklist.put_his_blacklist,
          "Replace the hospital's HIS bans with this list, all or nothing (HIS 黑名单同步); "
          "a body of up to 8 MiB", "blacklist", HIS, HisBlacklistIn, response=HisBlacklistOut,
          max_body_bytes=BULK_BODY_BYTES),
    Route("DELETE", "/blacklist/{id}", admin.lift_ban, "Lift a ban", "blacklist", HIS,
          response=BlacklistOut),
    Route("GET", "/rules", admin.get_rules, "Effective and stored rules", "rules", HIS,
          query=RuleQuery, response=RulesOut),
    Route("PUT", "/rules/{key}", admin.put_rule, "Set a rule record", "rules", HIS, RuleIn,
          response=RuleOut),
    # --- feeds to the hospital's systems (HIS 对接): webhook and HL7 subscriptions
    Route("GET", "/subscriptions", feeds.list_subscriptions,
          "Webhook and HL7 subscriptions, with their deliveries pending, done and dead",
          "feeds", HIS, query=SubscriptionQuery, response=SubscriptionList),
    Route("POST", "/subscriptions", feeds.post_subscription,
          "Subscribe a webhook URL or an HL7 endpoint: the signing secret is in this answer "
          "only", "feeds", HIS, SubscriptionIn, response=SubscriptionWithSecret,
          statuses=(201,)),
    Route("GET", "/subscriptions/{id}", feeds.get_subscription, "A subscription (no secret)",
          "feeds", HIS, response=SubscriptionOut),
    Route("PATCH", "/subscriptions/{id}", feeds.patch_subscription,
          "Change a subscription's name, URL, topics, options or active switch", "feeds", HIS,
          SubscriptionPatch, response=SubscriptionOut),
    Route("POST", "/subscriptions/{id}/rotate-secret", feeds.rotate_secret,
          "A new signing secret, in this answer only; the old one signs too for overlap_hours",
          "feeds", HIS, RotateIn, response=SubscriptionWithSecret),
    Route("GET", "/subscriptions/{id}/deliveries", feeds.list_deliveries,
          "A subscription's deliveries, newest first (next: the older page, also a Link)",
          "feeds", HIS, query=DeliveryQuery, response=DeliveryList),
    Route("POST", "/subscriptions/{id}/redeliver", feeds.redeliver,
          "Send again one delivery (delivery_id) or every dead one, with the same message id",
          "feeds", HIS, RedeliverIn, response=RedeliverOut),
    Route("GET", "/deliveries/{id}/attempts", feeds.delivery_attempts,
          "A delivery and its attempts (the delivery log: status, duration, error)", "feeds",
          HIS, response=AttemptList),
    # --- API tokens
    Route("GET", "/tokens", tokens.get_tokens,
          "API tokens (never the token or its hash); a hospital's admin sees its own",
          "tokens", ADMIN, query=TokenQuery, response=TokenList),
    Route("DELETE", "/tokens/{id}", tokens.revoke_token, "Revoke an API token", "tokens", ADMIN,
          response=TokenOut),
    # --- this document, and an index of it
    Route("GET", "/", docs.get_index, "An index: the OpenAPI document's address and every "
          "endpoint", "meta", None),
    Route("GET", "/openapi.json", docs.get_openapi, "This API's OpenAPI 3.1 document", "meta",
          None),
]  # fmt: skip


def _route(request: web.Request) -> Route | None:
    return request.app[ROUTE_OF].get(request.match_info.handler)


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _count(request: web.Request, route: Route | None, outcome: str) -> None:
    counter = request.app[ON_BOOKING]
    if counter is None or route is None or not route.counted:
        return
    caller = request.get(CALLER)
    channel = "unknown" if caller is None else str(caller.actor.channel)
    count_booking(counter, channel, outcome)


@web.middleware
async def problem_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Every failure as problem+json; unexpected ones logged, never explained."""
    route = _route(request)
    try:
        response = await handler(request)
    except Problem as problem:
        outcome, response = problem.code, from_problem(problem)
    except GuahaoError as err:
        outcome, response = err.code, from_domain(err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = from_http(exc)
        outcome = str(response.status)
    except asyncio.CancelledError:
        raise
    except ConnectionResetError:
        if not _client_gone(request):
            log.exception("unexpected error in %s %s", request.method, request.path)
            outcome, response = "internal_error", internal()
        else:  # the caller hung up, mid-body say: not our fault, and no one to answer
            log.info("client went away: %s %s", request.method, request.path)
            outcome = "client_disconnected"
            response = from_problem(Problem(outcome, "The client closed the connection."))
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.path)
        outcome, response = "internal_error", internal()
    else:
        outcome = request.get(OUTCOME, str(response.status))
    _count(request, route, outcome)
    return response


@web.middleware
async def guard_middleware(request: web.Request, handler) -> web.StreamResponse:
    """Body size before anything is read, then the bearer token and its role."""
    route = _route(request)
    if route is None:  # no such route or method: the router's own 404/405
        return await handler(request)
    app = request.app
    check_length(request, body_limit(request))
    if route.roles is None:
        return await handler(request)
    token = bearer_token(request.headers.get(hdrs.AUTHORIZATION))
    if token is None:
        raise Problem(
            "unauthorized",
            "Send Authorization: Bearer <token>.",
            headers={hdrs.WWW_AUTHENTICATE: 'Bearer realm="guahao"'},
        )
    caller = await verify(app[SERVICES], app[TOKENS], token)
    if caller is None:
        raise Problem(
            "unauthorized",
            "The token is unknown or revoked.",
            headers={hdrs.WWW_AUTHENTICATE: 'Bearer realm="guahao", error="invalid_token"'},
        )
    request[CALLER] = caller
    if caller.role not in route.roles:
        raise Problem(
            "forbidden",
            f"A {caller.role} token may not {request.method} this endpoint.",
            role=caller.role,
        )
    return await handler(request)


@functools.cache
def _openapi_document() -> bytes:
    """The OpenAPI document of the route table, built once per process (pydantic's schemas
    of every model take ~90 ms; every app built, a test's or a worker's, serves the same)."""
    document = openapi.build(ROUTES_TABLE)
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def make_app(
    services: BookingServices,
    *,
    token_cache_seconds: int = 30,
    max_body_bytes: int = 65536,
    on_booking: BookingCounter | None = None,
    default_timezone: str = "Asia/Shanghai",
    feeds_allow_private: bool = False,
) -> web.Application:
    """The API sub-app; ``on_booking(channel, result)`` hears every POST /bookings outcome
    ("created", "replayed" or the problem code). ``feeds_allow_private``: a subscriber may
    be at a loopback, link-local or private address (a HIS on the hospital's network)."""
    app = web.Application(
        middlewares=[problem_middleware, guard_middleware], client_max_size=max_body_bytes
    )
    app[SERVICES] = services
    app[SETTINGS] = ApiSettings(
        token_cache_seconds=token_cache_seconds,
        max_body_bytes=max_body_bytes,
        default_timezone=default_timezone,
        feeds_allow_private=feeds_allow_private,
    )
    app[TOKENS] = TokenCache(token_cache_seconds)
    app[DIRECTORY] = Directory(services)
    app[ON_BOOKING] = on_booking
    app[ROUTES] = tuple(ROUTES_TABLE)
    app[ROUTE_OF] = {r.handler: r for r in ROUTES_TABLE}
    app[OPENAPI] = _openapi_document()
    for r in ROUTES_TABLE:
        app.router.add_route(r.method, r.path, r.handler)
    return app
