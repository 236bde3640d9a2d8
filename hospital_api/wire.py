"""Reading requests and writing answers: size and content-type checks, strict schema
parsing into pydantic models, JSON encoding."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from .keys import ROUTE_OF, SETTINGS
from .problems import Problem
from .schemas import MAX_ID

M = TypeVar("M", bound=BaseModel)

READ_CHUNK_BYTES = 16384


def dumps(data: Any) -> bytes:
    return orjson.dumps(data)


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, body=dumps(data), content_type="application/json", headers=headers
    )


def too_large(limit: int) -> Problem:
    return Problem("body_too_large", f"The request body is larger than {limit} bytes.", limit=limit)


def check_length(request: web.Request, limit: int) -> None:
    """Refuse before reading when the declared length is already too much."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise too_large(limit)


def body_limit(request: web.Request) -> int:
    """The most bytes this request's body may have: its route's own limit (a bulk feed, a
    schedule in bulk) or the API's ``max_body_bytes``, whichever is more."""
    route = request.app[ROUTE_OF].get(request.match_info.handler)
    own = None if route is None else route.max_body_bytes
    return max(own or 0, request.app[SETTINGS].max_body_bytes)


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


async def read_body(request: web.Request) -> bytes:
    """The raw body, at most :func:`body_limit` even when sent chunked; JSON only."""
    limit = body_limit(request)
    check_length(request, limit)
    if not request.body_exists:
        return b""
    if not _is_json(request.content_type):
        raise Problem(
            "unsupported_media_type",
            "Send the body as application/json.",
            content_type=request.content_type,
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(READ_CHUNK_BYTES)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _field(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(body)"


def schema_problem(err: ValidationError, where: str = "body") -> Problem:
    errors = [
        {"field": _field(e["loc"]), "message": e["msg"], "type": e["type"]} for e in err.errors()
    ]
    return Problem(
        "invalid_request",
        f"The request {where} does not match the schema.",
        errors=errors,
    )


def parse_json(model: type[M], raw: bytes) -> M:
    """Strict parsing: malformed JSON is 400, a schema mismatch 422 with every field."""
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as err:
        invalid = [e for e in err.errors() if e["type"] == "json_invalid"]
        if invalid:
            raise Problem(
                "malformed_json", "The body is not valid JSON.", reason=invalid[0]["msg"]
            ) from None
        raise schema_problem(err) from None


async def parse_body(request: web.Request, model: type[M]) -> M:
    return parse_json(model, await read_body(request))


def parse_query(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as err:
        raise schema_problem(err, "query") from None


def path_str(request: web.Request, name: str, pattern: re.Pattern[str], what: str) -> str:
    value = request.match_info[name]
    if not pattern.fullmatch(value):
        raise Problem(
            "invalid_request",
            f"{name} must be {what}.",
            errors=[{"field": name, "message": f"must be {what}", "type": "path"}],
        )
    return value


_INT = re.compile(r"[1-9][0-9]{0,18}")


def path_int(request: web.Request, name: str) -> int:
    """A positive id of at most 63 bits (what the store's integers hold)."""
    what = f"a whole number from 1 to {MAX_ID}"
    value = int(path_str(request, name, _INT, what))
    if value > MAX_ID:
        raise Problem(
            "invalid_request",
            f"{name} must be {what}.",
            errors=[{"field": name, "message": f"must be {what}", "type": "path"}],
        )
    return value
