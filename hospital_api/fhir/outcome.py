"""Every refusal as an OperationOutcome (``application/fhir+json``).

A domain error (:mod:`booking_core.kernel.errors`) keeps its HTTP status and wording from
the ``/api/v1`` table (:data:`hospital_api.problems.DOMAIN_PROBLEMS`); its issue's
``details.coding`` names the core's error code in :data:`ERROR_SYSTEM` (``slot_full``,
``blacklisted`` …), and a ban's end is also given as the issue's ``ban-ends`` extension
(hospital-local, with its offset). The door's own refusals raise :class:`FhirProblem`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from booking_core.kernel.errors import GuahaoError

from ..problems import DOMAIN_PROBLEMS, RETRY_AFTER_SECONDS, domain_status, plain
from .resources import ERROR_SYSTEM, EXT_BAN_ENDS, fhir_response

# core error code → FHIR issue-type (http://hl7.org/fhir/issue-type)
ISSUE_TYPES: dict[str, str] = {
    "not_found": "not-found",
    "invalid_input": "invalid",
    "invalid_id_number": "invalid",
    "real_name_mismatch": "business-rule",
    "forbidden": "forbidden",
    "slot_full": "conflict",
    "channel_full": "conflict",
    "already_booked": "duplicate",
    "already_waiting": "duplicate",
    "idempotency_key_reused": "conflict",
    "store_unavailable": "transient",
    "queued": "informational",  # 202: taken, decided by the release draw
    "already_queued": "duplicate",
}


class FhirProblem(Exception):
    """A refusal by this door (bad search value, token, body): status, issue type, our
    code and what to do about it."""

    def __init__(
        self,
        status: int,
        issue: str,
        code: str,
        diagnostics: str,
        *,
        expression: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.issue = issue
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression
        self.headers = headers or {}


def invalid(code: str, diagnostics: str, expression: str | None = None) -> FhirProblem:
    """A 400: the request itself is wrong (a search value, a body)."""
    return FhirProblem(400, "invalid", code, diagnostics, expression=expression)


def outcome(
    status: int,
    issue: str,
    code: str,
    text: str,
    *,
    expression: str | None = None,
    extension: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    entry: dict[str, Any] = {
        "severity": "fatal" if status >= 500 else "error" if status >= 300 else "information",
        "code": issue,
        "details": {"coding": [{"system": ERROR_SYSTEM, "code": code}], "text": text},
        "diagnostics": text,
    }
    if expression:
        entry["expression"] = [expression]
    if extension:
        entry["extension"] = extension
    return fhir_response({"resourceType": "OperationOutcome", "issue": [entry]}, status, headers)


def from_problem(problem: FhirProblem) -> web.Response:
    return outcome(
        problem.status,
        problem.issue,
        problem.code,
        problem.diagnostics,
        expression=problem.expression,
        headers=problem.headers,
    )


def from_domain(err: GuahaoError) -> web.Response:
    status = domain_status(err)
    params = {k: plain(v) for k, v in err.params.items()}
    _, title, template = DOMAIN_PROBLEMS.get(err.code, (status, err.code, err.code))
    try:
        text = template.format(**params)
    except (KeyError, IndexError, ValueError):
        text = title
    issue = ISSUE_TYPES.get(err.code, "transient" if status >= 500 else "business-rule")
    extension = None
    if err.code == "blacklisted":  # the date the ban ends, hospital-local, for a machine
        extension = [{"url": EXT_BAN_ENDS, "valueDateTime": params["until"]}]
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return outcome(status, issue, err.code, text, extension=extension, headers=headers)


def from_http(exc: web.HTTPException) -> web.Response:
    """aiohttp's own refusals (no route, wrong method, too large) as OperationOutcomes."""
    if exc.status == 404:
        return outcome(404, "not-supported", "not_found", "No such resource type or operation.")
    if exc.status == 405:
        allowed = sorted(getattr(exc, "allowed_methods", ()) or ())
        return outcome(
            405,
            "not-supported",
            "method_not_allowed",
            f"Use {', '.join(allowed) or 'another method'} here.",
            headers={"Allow": ", ".join(allowed)},
        )
    if exc.status == 413:
        return outcome(413, "too-long", "body_too_large", "The request body is too large.")
    return outcome(exc.status, "processing", "error", exc.reason or "Error")


def internal() -> web.Response:
    return outcome(500, "exception", "internal_error", "Something went wrong on our side.")
