"""The OpenAPI 3.1 document describes every route of the table."""

from __future__ import annotations

import json

from booking_core.rules import RuleKey
from hospital_api import openapi
from hospital_api.web import ROUTES_TABLE, make_app


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


async def test_openapi_document_covers_the_route_table(api):
    async with api.client.get("/api/v1/openapi.json") as resp:  # public: no token
        assert resp.status == 200
        assert resp.content_type == "application/json"
        doc = json.loads(await resp.text())
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": "/api/v1"}]
    schemas = doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert {"type", "title", "status", "detail", "code"} <= set(schemas["Problem"]["properties"])
    for ref in set(refs(doc)):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, ref

    operation_ids = set()
    for route in ROUTES_TABLE:
        op = doc["paths"][route.openapi_path][route.method.lower()]
        operation_ids.add(op["operationId"])
        assert op["summary"]
        for status in route.statuses:
            assert str(status) in op["responses"]
            if route.response is not None:
                schema = op["responses"][str(status)]["content"]["application/json"]["schema"]
                assert schema == {"$ref": f"#/components/schemas/{route.response.__name__}"}
        problem = op["responses"]["default"]["content"]["application/problem+json"]["schema"]
        assert problem == {"$ref": "#/components/schemas/Problem"}
        if route.body is not None:
            body = op["requestBody"]["content"]["application/json"]["schema"]
            assert body == {"$ref": f"#/components/schemas/{route.body.__name__}"}
            assert schemas[route.body.__name__]["additionalProperties"] is False
        if route.roles is None:
            assert op["security"] == []
        else:
            assert op["security"] == [{"bearer": []}]
            assert "401" in op["responses"]
        declared = {p["name"] for p in op.get("parameters", ()) if p["in"] == "path"}
        assert declared == set(route.path_params)
        if route.query is not None:
            query = {p["name"] for p in op["parameters"] if p["in"] == "query"}
            fields = route.query.model_fields.items()  # by what a URL calls them
            assert query == {field.alias or name for name, field in fields}
    assert len(operation_ids) == len(ROUTES_TABLE)

    book = doc["paths"]["/bookings"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in book["parameters"] if p["in"] == "header"}


def test_every_registered_route_is_in_the_table(services):
    app = make_app(services)
    registered = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD"
    }
    assert registered == {(r.method, r.path) for r in ROUTES_TABLE}
    must_have = {
        ("PUT", "/hospitals/{code}"),
        ("PUT", "/hospitals/{code}/departments/{dept}"),
        ("PUT", "/hospitals/{code}/doctors/{work_no}"),
        ("POST", "/hospitals/{code}/sessions"),
        ("POST", "/hospitals/{code}/sessions/{id}/stop"),
        ("GET", "/slots"),
        ("POST", "/patients"),
        ("GET", "/patients"),
        ("POST", "/patients/{id}/top-up"),
        ("POST", "/bookings"),
        ("GET", "/bookings/{no}"),
        ("GET", "/bookings"),
        ("POST", "/bookings/{no}/pay"),
        ("POST", "/bookings/{no}/cancel"),
        ("POST", "/bookings/{no}/check-in"),
        ("POST", "/bookings/{no}/reschedule"),
        ("GET", "/blacklist"),
        ("POST", "/blacklist"),
        ("DELETE", "/blacklist/{id}"),
        ("GET", "/rules"),
        ("PUT", "/rules/{key}"),
        ("GET", "/openapi.json"),
    }
    assert must_have <= registered


def test_the_document_states_the_real_constraints():
    doc = openapi.build(ROUTES_TABLE)
    path_schemas = {}
    for path in doc["paths"].values():
        for op in path.values():
            for p in op.get("parameters", ()):
                if p["in"] == "path":
                    path_schemas[p["name"]] = p["schema"]
    assert path_schemas["dept"] == {"type": "string", "pattern": "^[0-9]{3}$"}
    assert path_schemas["work_no"] == {"type": "string", "pattern": "^[0-9]{5}$"}
    assert path_schemas["no"] == {"type": "string", "pattern": "^[0-9]{9}$"}
    assert path_schemas["id"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    assert "pattern" in path_schemas["code"]
    assert set(path_schemas["key"]["enum"]) == {k.value for k in RuleKey}

    def integers(node, where=""):
        """Every integer schema in the document, with where it is."""
        if isinstance(node, dict):
            if node.get("type") == "integer":
                yield where, node
            for key, value in node.items():
                yield from integers(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                yield from integers(item, f"{where}/{i}")

    schemas = doc["components"]["schemas"]
    inputs = [route.body.__name__ for route in ROUTES_TABLE if route.body is not None]
    found = list(integers({name: schemas[name] for name in inputs}))
    found += [
        (p["name"], schema)
        for path in doc["paths"].values()
        for op in path.values()
        for p in op.get("parameters", ())
        for _, schema in integers(p["schema"])
    ]
    assert len(found) > 10
    for where, schema in found:  # nothing a client sends is unbounded
        assert "minimum" in schema or "exclusiveMinimum" in schema, where
        assert schema.get("maximum", 2**64) <= 2**63 - 1, where
    patient = schemas["PatientIn"]["properties"]["id_number"]
    assert "real_name" in patient["description"]
