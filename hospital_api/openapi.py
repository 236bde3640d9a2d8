"""The OpenAPI 3.1 document, built from the route table and the pydantic schemas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .problems import PROBLEM_CONTENT_TYPE
from .routing import Route
from .schemas import PATH_PARAMETERS, Problem

REF = "#/components/schemas/{model}"
API_VERSION = "1.0.0"

_STATUS_TEXT = {200: "OK", 201: "Created"}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": _ref(Problem)}},
    }


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {k: v for k, v in prop.items() if k != "description"},
        }
        if "description" in prop:
            param["description"] = prop["description"]
        params.append(param)
    return params


def _path_parameter(name: str) -> dict[str, Any]:
    schema = dict(PATH_PARAMETERS[name])
    description = schema.pop("description")
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema}  # fmt: skip


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.handler.__name__,
        "summary": route.summary,
        "tags": [route.tag],
    }
    params: list[dict[str, Any]] = [_path_parameter(name) for name in route.path_params]
    params += [
        {
            "name": name,
            "in": "header",
            "required": False,
            "description": text,
            "schema": {"type": "string", "maxLength": 200},
        }
        for name, text in route.headers
    ]
    if route.query is not None:
        params += _query_parameters(route.query)
    if params:
        op["parameters"] = params
    if route.body is not None:
        needs_body = bool(route.body.model_json_schema().get("required"))
        op["requestBody"] = {
            "required": needs_body,
            "content": {"application/json": {"schema": _ref(route.body)}},
        }
    responses: dict[str, Any] = {}
    for status in route.statuses:
        answer: dict[str, Any] = {"description": _STATUS_TEXT.get(status, str(status))}
        if route.response is not None:
            answer["content"] = {"application/json": {"schema": _ref(route.response)}}
        responses[str(status)] = answer
    if route.roles is not None:
        responses["401"] = _problem("No valid bearer token")
        responses["403"] = _problem("The token's role may not do this")
        op["security"] = [{"bearer": []}]
        op["x-roles"] = sorted(route.roles)
    else:
        op["security"] = []
    paged = [m for m in (route.query, route.body) if m is not None and "cursor" in m.model_fields]
    if paged:
        responses["400"] = _problem("The cursor was not given by this API, or for other filters")
    if route.body is not None or route.query is not None or route.path_params:
        responses["422"] = _problem("The request does not match the schema, or a value is invalid")
    responses["default"] = _problem("A problem (RFC 9457), named by its code")
    op["responses"] = responses
    return op


def build(routes: Sequence[Route], *, title: str = "guahao hospital API") -> dict[str, Any]:
    models: list[tuple[type[BaseModel], str]] = [(Problem, "serialization")]
    for r in routes:
        if r.body is not None:
            models.append((r.body, "validation"))
        if r.response is not None:
            models.append((r.response, "serialization"))
    unique = list(dict.fromkeys(models))
    _, top = models_json_schema(unique, ref_template=REF)  # type: ignore[arg-type]
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        paths.setdefault(r.openapi_path, {})[r.method.lower()] = _operation(r)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": API_VERSION,
            "description": "Hospital outpatient booking (挂号): schedules, slots, patients, "
            "bookings, blacklist and rules. Errors are application/problem+json; money is "
            "integer fen; times are hospital-local ISO 8601.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `guahao token create` (role his, kiosk or admin)",
                }
            },
        },
    }
