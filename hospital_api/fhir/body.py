"""Reading a request's FHIR body: size, media type, JSON, then the R4B model of what it
says it is; every failure a 4xx OperationOutcome."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from .keys import SETTINGS
from .outcome import FhirProblem, invalid

JSON_TYPES = frozenset({"application/json", "application/fhir+json"})
JSON_PATCH = "application/json-patch+json"


async def read_json(request: web.Request, types: frozenset[str] = JSON_TYPES) -> Any:
    limit = request.app[SETTINGS].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise FhirProblem(413, "too-long", "body_too_large", f"The body is over {limit} bytes.")
    if request.content_type not in types:
        raise FhirProblem(
            415,
            "not-supported",
            "unsupported_media_type",
            f"Send the body as {' or '.join(sorted(types))}.",
        )
    raw = await request.read()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise invalid("malformed_json", f"The body is not JSON: {err.msg}.") from err


def resource(data: Any, *kinds: str) -> dict[str, Any]:
    """``data`` as a valid resource of one of ``kinds`` (a dict, as sent)."""
    if not isinstance(data, dict) or data.get("resourceType") not in kinds:
        raise invalid("invalid_resource", f"The body must be a {' or '.join(kinds)} resource.")
    try:
        get_fhir_model_class(data["resourceType"]).model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise invalid(
            "invalid_resource", f"{data['resourceType']}.{where}: {first['msg']}", where
        ) from err
    return data
