"""GET /api/v1/openapi.json describes every route the server has, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from openrum.server import Server
from openrum.settings import Settings
from openrum.store.duckdb import DuckDBStore
from openrum.web.openapi import ENDPOINTS, document
from tests.beacons import beacon
from tests.conftest import LiveServer

# Routes the web app's router does not hold: the collector's (raw ASGI) and the sign-in page
# (the auth layer's). The live server must answer them.
OUTSIDE_ROUTER = {
    ("POST", "/api/v1/beacon"),
    ("OPTIONS", "/api/v1/beacon"),
    ("GET", "/ingest/boomerang/{app}"),
    ("POST", "/ingest/boomerang/{app}"),
    ("POST", "/ingest/faro/{app}"),
    ("POST", "/ingest/otlp/{app}/v1/traces"),
    ("POST", "/ingest/otlp/{app}/v1/logs"),
    ("GET", "/openrum.js"),
    ("GET", "/healthz"),
    ("GET", "/login"),
    ("POST", "/login"),
}
# A real request body for every body type the description names.
EXAMPLES: dict[str, dict[str, Any]] = {
    "Beacon": beacon(),
    "NewToken": {"name": "ci", "app": "a", "read_only": True},
    "NewApp": {"name": "Shop", "origins": ["https://shop.example"]},
    "AppChange": {"name": "Shop", "config": {"sample_rate": 0.5}},
    "Erasure": {"app": "a", "session_id": "s1"},
    "Query": {
        "app": "a",
        "metrics": ["count", "p75:lcp"],
        "dimensions": ["country"],
        "filters": [["device", "=", "mobile"]],
        "from": "2026-11-20T00:00:00Z",
    },
    "StatusChange": {"app": "a", "fingerprints": ["f1", "f2"], "status": "ignored", "events": 5},
    "Upload": {"app": "a", "release": "1.2", "files": {"app.js.map": "{}"}},
    "Rule": {
        "app": "a",
        "name": "x",
        "metric": "apdex",
        "condition": {"op": "below", "threshold": 0.8},
    },
    "Channel": {"name": "ops", "kind": "slack", "url": "https://hooks.slack.example/x"},
    "Check": {"app": "a", "name": "Home", "url": "https://shop.example/"},
    "Silence": {"start": "2026-11-20T11:00:00Z", "end": "2026-11-20T12:00:00Z", "app": "a"},
}


def live_routes(server: Server) -> set[tuple[str, str]]:
    """(method, path) of every route of the web app, as tests/test_docs.py enumerates them,
    less HEAD (Starlette adds it to GET) and the dashboard's catch-all (it has no methods)."""
    found = set()
    for route in server.web.routes:
        for method in getattr(route, "methods", None) or []:
            if method != "HEAD":
                found.add((method, route.path))
    return found


def test_the_document_is_openapi_3_1() -> None:
    doc = document()
    assert doc["openapi"] == "3.1.0" and doc["info"]["version"]
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "session"}
    for path, item in doc["paths"].items():
        assert path.startswith("/")
        for method, op in item.items():
            assert method in {"get", "post", "put", "patch", "delete", "options"}
            assert op["summary"] and op["responses"], (method, path)
            ref = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if ref:
                name = ref["schema"]["$ref"].rsplit("/", 1)[1]
                assert name in doc["components"]["schemas"]
    assert json.loads(json.dumps(doc)) == doc


def test_the_document_and_the_live_routes_agree(store: DuckDBStore, tmp_path: Path) -> None:
    server = Server(store, Settings.load({}, environ={}), tmp_path)
    documented = {
        (method.upper(), path) for path, item in document()["paths"].items() for method in item
    }
    live = live_routes(server) | OUTSIDE_ROUTER
    assert live - documented == set(), "routes missing from the OpenAPI description"
    assert documented - live == set(), "documented routes the server does not have"


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if e.body is not None], ids=lambda e: f"{e.method} {e.path}"
)
def test_request_body_schemas_accept_real_bodies(endpoint: Any) -> None:
    doc = document()
    op = doc["paths"][endpoint.path][endpoint.method.lower()]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[1]
    schema = doc["components"]["schemas"][name]
    example = EXAMPLES[name]
    # The server's own decoder takes it, and the schema names every field it has and needs.
    msgspec.convert(example, endpoint.body)
    assert set(example) <= set(schema["properties"]), name
    assert set(schema.get("required", [])) <= set(example), name


def test_a_live_server_serves_the_description(live_server: LiveServer) -> None:
    status, headers, raw = live_server.request("GET", "/api/v1/openapi.json")
    assert status == 200 and headers["content-type"].startswith("application/json")
    doc = json.loads(raw)
    assert doc["openapi"] == "3.1.0" and "/api/v1/query" in doc["paths"]
    assert live_server.request("GET", "/api/v1/openapi.json", auth=False)[0] == 401
    # The routes outside the router are there: neither unknown nor the wrong method.
    for method, path in sorted(OUTSIDE_ROUTER):
        status, headers, _ = live_server.request(method, path, b"" if method == "POST" else None)
        assert status not in (404, 405), (method, path, status)
        media = doc["paths"][path][method.lower()]["responses"]
        content = next(iter(media.values())).get("content")
        if content and status < 300:
            assert headers["content-type"].startswith(next(iter(content))), (method, path)
