"""The ``/fhir/R4`` sub-application: its route table, its guard and its factory.

The table is the truth the CapabilityStatement (``GET metadata``) is built from: each
row is one interaction or operation, who may call it (``roles`` None: public) and the
search parameters it takes. Every refusal is an OperationOutcome (:mod:`.outcome`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import hdrs, web

from booking_core.bus import BookingServices
from booking_core.kernel.errors import GuahaoError

from ..auth import TokenCache, bearer_token, verify
from ..directory import Directory
from ..routing import ANY_ROLE, HIS, Handler
from . import appointments, bulk, catalogue, operations, slots
from .keys import CALLER, DIRECTORY, SERVICES, SETTINGS, TOKENS, FhirSettings
from .outcome import FhirProblem, from_domain, from_http, from_problem, internal
from .resources import fhir_response
from .search import base_url

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FhirRoute:
    """One interaction (``read``, ``search-type``, ``update``, ``patch``) or operation
    (``$find`` …) on ``resource`` (None: the whole system)."""

    method: str
    path: str
    handler: Handler
    resource: str | None
    interaction: str
    roles: frozenset[str] | None = ANY_ROLE
    params: tuple[tuple[str, str], ...] = ()
    documentation: str = ""


def _search(kind: str, handler: Handler, *params: tuple[str, str]) -> FhirRoute:
    return FhirRoute("GET", f"/{kind}", handler, kind, "search-type", params=params)


def _read(kind: str, handler: Handler) -> FhirRoute:
    return FhirRoute("GET", f"/{kind}/{{id}}", handler, kind, "read")


# --- the CapabilityStatement (what is really here, from the table) ------------------------

SYSTEM_OPERATIONS = {
    "$bulk-publish": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/bulk-publish",
}


def capability_statement(base: str) -> dict:
    by_type: dict[str, list[FhirRoute]] = {}
    for r in ROUTES_TABLE:
        if r.resource is not None:
            by_type.setdefault(r.resource, []).append(r)
    system_operations = [
        {"name": r.interaction[1:], "definition": SYSTEM_OPERATIONS[r.interaction]}
        for r in ROUTES_TABLE
        if r.resource is None and r.interaction in SYSTEM_OPERATIONS
    ]
    resources = []
    for kind, routes in by_type.items():
        entry: dict = {"type": kind, "interaction": [], "searchParam": [], "operation": []}
        for r in routes:
            if r.interaction.startswith("$"):
                name = r.interaction[1:]
                if all(o["name"] != name for o in entry["operation"]):
                    entry["operation"].append(
                        {
                            "name": name,
                            "definition": f"https://profiles.ihe.net/ITI/Scheduling/"
                            f"OperationDefinition/appointment-{name}",
                        }
                    )
            elif all(i["code"] != r.interaction for i in entry["interaction"]):
                interaction = {"code": r.interaction}
                if r.documentation:
                    interaction["documentation"] = r.documentation
                entry["interaction"].append(interaction)
            entry["searchParam"] += [{"name": n, "type": t} for n, t in r.params]
        resources.append({k: v for k, v in entry.items() if v})
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "kind": "instance",
        "software": {"name": "guahao"},
        "implementation": {"description": "guahao booking engine", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": "Bearer tokens as /api/v1's, each scoped to its hospital; "
                             "metadata and the SMART Scheduling Links files are public.",
            # a static bearer token: none of restful-security-service's codes (OAuth, SMART)
            "security": {"service": [{"text": "Bearer token (guahao token create)"}]},
            "resource": resources,
            "operation": system_operations,
        }],
    }  # fmt: skip


async def metadata(request: web.Request) -> web.Response:
    return fhir_response(capability_statement(base_url(request)))


CANCEL_ONLY = "Cancels (status cancelled, by a his or admin token); no other change"

_PAGED = (("_count", "number"), ("_cursor", "string"))

ROUTES_TABLE: list[FhirRoute] = [
    FhirRoute("GET", "/metadata", metadata, None, "capabilities", roles=None),
    # --- the catalogue
    _search("Organization", catalogue.search_organization, ("identifier", "token")),
    _read("Organization", catalogue.read_organization),
    _search("Location", catalogue.search_location, ("identifier", "token")),
    _read("Location", catalogue.read_location),
    _search("HealthcareService", catalogue.search_healthcare_service, ("identifier", "token"),
            ("organization", "reference")),
    _read("HealthcareService", catalogue.read_healthcare_service),
    _search("Practitioner", catalogue.search_practitioner, ("identifier", "token"),
            ("organization", "reference")),
    _read("Practitioner", catalogue.read_practitioner),
    _search("PractitionerRole", catalogue.search_practitioner_role, ("identifier", "token"),
            ("organization", "reference"), ("practitioner", "reference"),
            ("service", "reference")),
    _read("PractitionerRole", catalogue.read_practitioner_role),
    # --- sessions and slots
    _search("Schedule", slots.search_schedule, ("actor", "reference"),
            ("service-type", "token"), ("date", "date"), ("active", "token"), *_PAGED),
    _read("Schedule", slots.read_schedule),
    _search("Slot", slots.search_slot, ("schedule", "reference"), ("service-type", "token"),
            ("start", "date"), ("status", "token"), *_PAGED),
    _read("Slot", slots.read_slot),
    # --- booking (IHE Scheduling): operations before the read, whose {id} would take them
    FhirRoute("GET", "/Appointment/$find", operations.find, "Appointment", "$find"),
    FhirRoute("POST", "/Appointment/$find", operations.find, "Appointment", "$find"),
    FhirRoute("POST", "/Appointment/$hold", operations.hold, "Appointment", "$hold"),
    FhirRoute("POST", "/Appointment/$book", operations.book, "Appointment", "$book"),
    _search("Appointment", appointments.search_appointment, ("patient:identifier", "token"),
            ("date", "date")),
    _read("Appointment", appointments.read_appointment),
    FhirRoute("PUT", "/Appointment/{id}", appointments.update_appointment, "Appointment",
              "update", roles=HIS, documentation=CANCEL_ONLY),
    FhirRoute("PATCH", "/Appointment/{id}", appointments.patch_appointment, "Appointment",
              "patch", roles=HIS, documentation=CANCEL_ONLY + " (JSON Patch: replace /status)"),
    # --- SMART Scheduling Links: public, as the specification has it
    FhirRoute("GET", "/$bulk-publish", bulk.manifest, None, "$bulk-publish", roles=None),
    FhirRoute("GET", "/bulk/{hospital}/$bulk-publish", bulk.hospital_manifest, None,
              "bulk-manifest", roles=None),
    FhirRoute("GET", "/bulk/{hospital}/{kind}.ndjson", bulk.ndjson, None, "bulk-file",
              roles=None),
]  # fmt: skip

ROUTE_OF: dict[Handler, FhirRoute] = {r.handler: r for r in ROUTES_TABLE}


def _route(request: web.Request) -> FhirRoute | None:
    return ROUTE_OF.get(request.match_info.handler)


@web.middleware
async def outcome_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as an OperationOutcome; unexpected ones logged, never explained."""
    try:
        return await handler(request)
    except FhirProblem as problem:
        return from_problem(problem)
    except GuahaoError as err:
        return from_domain(err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return from_http(exc)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return internal()


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The bearer token (as ``/api/v1``'s) and its role, for every route not public."""
    route = _route(request)
    if route is None or route.roles is None:
        return await handler(request)
    token = bearer_token(request.headers.get(hdrs.AUTHORIZATION))
    caller = (
        None if token is None else await verify(request.app[SERVICES], request.app[TOKENS], token)
    )
    if caller is None:
        raise FhirProblem(
            401,
            "login",
            "unauthorized",
            "Send Authorization: Bearer <token> with a token that is neither unknown nor revoked.",
            headers={hdrs.WWW_AUTHENTICATE: 'Bearer realm="guahao"'},
        )
    if caller.role not in route.roles:
        raise FhirProblem(403, "forbidden", "forbidden", f"A {caller.role} token may not do this.")
    request[CALLER] = caller
    return await handler(request)


def make_app(
    services: BookingServices,
    settings: FhirSettings | None = None,
    *,
    token_cache_seconds: int = 30,
) -> web.Application:
    settings = settings or FhirSettings()
    app = web.Application(
        middlewares=[outcome_middleware, guard_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[SERVICES] = services
    app[SETTINGS] = settings
    app[TOKENS] = TokenCache(token_cache_seconds)
    app[DIRECTORY] = Directory(services)
    for r in ROUTES_TABLE:
        app.router.add_route(r.method, r.path, r.handler)
    return app
