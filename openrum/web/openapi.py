"""``GET /api/v1/openapi.json``: an OpenAPI 3.1 description of every public endpoint.

Request bodies are described by the msgspec types the server decodes them with
(``msgspec.json.schema_components``), so the description cannot drift from the validation.
Responses are described as JSON objects (their shapes are in docs/api.md), except where a route
answers something else. tests/test_openapi.py checks the table against the live routes.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openrum import __version__
from openrum.alerts.channels import Channel
from openrum.alerts.checks import Check
from openrum.alerts.rules import Rule
from openrum.alerts.silences import Silence
from openrum.collect.beacon import Beacon
from openrum.query.model import Query
from openrum.web.api import Erasure, NewApp, NewToken
from openrum.web.apps import AppChange
from openrum.web.auth import COOKIE
from openrum.web.errors import StatusChange
from openrum.web.sourcemaps import Upload

# What a query parameter means, for the parameters routes share.
PARAMETERS = {
    "app": "An application id.",
    "from": "Start of the time range, ISO-8601 (default: query_default_hours before `to`).",
    "to": "End of the time range, ISO-8601 (default: now).",
    "filters": "JSON list of [dimension, operator, value], as in POST /api/v1/query.",
    "user_type": "`real` (default), `synthetic`, `bot` or `all`.",
    "limit": "At most this many rows.",
    "cursor": "The `next` of the previous page.",
    "with_errors": "`true`: only sessions with errors.",
    "with_rage_clicks": "`true`: only sessions with rage clicks.",
    "live": "`true`: only sessions still in progress.",
    "measure": "The measure to bucket (e.g. `lcp`).",
    "buckets": "How many buckets.",
    "against": "The release to compare with (default: the one before).",
    "session_id": "A session id.",
    "user_tag": "A user tag (the agent's setUser).",
    "incident": "Only this incident's deliveries.",
    "state": "`firing` or `resolved`.",
    "next": "Where to go after signing in: a path on this server.",
    "sort": "Error groups: `errors` (default), `sessions`, `frustrated` or `last_seen`.",
    "status": "Error groups of these statuses (comma-separated): `unresolved`, `resolved`, "
    "`ignored`, `regressed`.",
    "runs": "How many of each check's latest runs to include (default 30).",
}
_SCOPE = ("app", "from", "to", "filters", "user_type", "limit")
_PUBLIC: list[dict[str, list[str]]] = []  # no authentication
_READ: None = None  # the document-wide default: a login cookie or a bearer token


class Endpoint(msgspec.Struct, frozen=True):
    """One route: what it does, its body type (a msgspec type, or None), its query parameters,
    its success status and media type, and who may call it (None: the document's default)."""

    method: str
    path: str
    summary: str
    body: Any = None
    query: tuple[str, ...] = ()
    status: int = 200
    media: str | None = "application/json"
    security: list[dict[str, list[str]]] | None = _READ


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/v1/beacon",
        "Beacon ingest (docs/protocol.md).",
        Beacon,
        status=202,
        media=None,
        security=_PUBLIC,
    ),
    Endpoint(
        "OPTIONS",
        "/api/v1/beacon",
        "CORS preflight for JSON beacons.",
        status=204,
        media=None,
        security=_PUBLIC,
    ),
    *(
        Endpoint(method, path, summary, status=status, media=None, security=_PUBLIC)
        for method, path, summary, status in (
            ("GET", "/ingest/boomerang/{app}", "Boomerang's image beacon (docs/ingest.md).", 202),
            ("POST", "/ingest/boomerang/{app}", "Boomerang's beacon (docs/ingest.md).", 202),
            ("POST", "/ingest/faro/{app}", "The Faro Web SDK's payload (docs/ingest.md).", 202),
            ("POST", "/ingest/otlp/{app}/v1/traces", "OTLP/HTTP traces (docs/ingest.md).", 200),
            ("POST", "/ingest/otlp/{app}/v1/logs", "OTLP/HTTP logs (docs/ingest.md).", 200),
        )
    ),
    Endpoint("GET", "/openrum.js", "The agent bundle.", media="text/javascript", security=_PUBLIC),
    Endpoint("GET", "/healthz", "Whether the server stores what it accepts.", security=_PUBLIC),
    Endpoint(
        "GET", "/metrics", "Prometheus metrics (public when metrics_public).", media="text/plain"
    ),
    Endpoint(
        "GET", "/login", "The sign-in page.", query=("next",), media="text/html", security=_PUBLIC
    ),
    Endpoint(
        "POST",
        "/login",
        "Sign in (form: username, password); sets the session cookie.",
        query=("next",),
        status=303,
        media=None,
        security=_PUBLIC,
    ),
    Endpoint("GET", "/api/v1/openapi.json", "This description."),
    Endpoint("GET", "/api/v1/me", "Who you are, and the CSRF token of a login."),
    Endpoint("POST", "/api/v1/logout", "End the login session.", status=204, media=None),
    Endpoint("GET", "/api/v1/tokens", "API tokens (administrators)."),
    Endpoint("POST", "/api/v1/tokens", "Create a token (administrators).", NewToken, status=201),
    Endpoint(
        "DELETE",
        "/api/v1/tokens/{token_id}",
        "Revoke a token (administrators).",
        status=204,
        media=None,
    ),
    Endpoint("GET", "/api/v1/apps", "Applications with their snippets."),
    Endpoint("POST", "/api/v1/apps", "Create an application (administrators).", NewApp, status=201),
    Endpoint(
        "PATCH", "/api/v1/apps/{app_id}", "Change an application (administrators).", AppChange
    ),
    Endpoint("POST", "/api/v1/erase", "Erase a session's or a user's data.", Erasure),
    Endpoint(
        "GET",
        "/api/v1/export",
        "Export a session's or a user's data.",
        query=("app", "session_id", "user_tag"),
    ),
    Endpoint("POST", "/api/v1/query", "Aggregate metrics over events.", Query),
    Endpoint(
        "GET",
        "/api/v1/sessions",
        "Sessions, newest first, a page at a time.",
        query=(*_SCOPE, "cursor", "with_errors", "with_rage_clicks", "live"),
    ),
    Endpoint("GET", "/api/v1/sessions/{session_id}", "One session's timeline.", query=("app",)),
    Endpoint(
        "GET", "/api/v1/errors", "Error groups by fingerprint.", query=(*_SCOPE, "sort", "status")
    ),
    Endpoint("POST", "/api/v1/errors/status", "Set the status of error groups.", StatusChange),
    Endpoint("GET", "/api/v1/errors/{fingerprint}", "One error group in detail.", query=_SCOPE[:5]),
    Endpoint("GET", "/api/v1/actions", "Actions by name.", query=_SCOPE),
    Endpoint(
        "GET",
        "/api/v1/distribution",
        "A histogram of one measure.",
        query=(*_SCOPE[:5], "measure", "buckets"),
    ),
    Endpoint("GET", "/api/v1/releases", "Releases with traffic.", query=("app",)),
    Endpoint(
        "GET",
        "/api/v1/releases/{release}/regressions",
        "A release compared with another.",
        query=("app", "against"),
    ),
    Endpoint("POST", "/api/v1/sourcemaps", "Upload a release's source maps.", Upload, status=201),
    Endpoint("GET", "/api/v1/sourcemaps", "Releases with source maps.", query=("app",)),
    Endpoint(
        "DELETE", "/api/v1/sourcemaps/{release}", "Remove a release's source maps.", query=("app",)
    ),
    Endpoint("GET", "/api/v1/alerts/rules", "Alert rules.", query=("app",)),
    Endpoint("POST", "/api/v1/alerts/rules", "Create an alert rule.", Rule, status=201),
    Endpoint("PUT", "/api/v1/alerts/rules/{rule_id}", "Replace an alert rule.", Rule),
    Endpoint(
        "DELETE", "/api/v1/alerts/rules/{rule_id}", "Delete an alert rule.", status=204, media=None
    ),
    Endpoint("POST", "/api/v1/alerts/rules/{rule_id}/test", "Evaluate a stored rule now."),
    Endpoint("POST", "/api/v1/alerts/test", "Evaluate a rule without storing it.", Rule),
    Endpoint("GET", "/api/v1/alerts/channels", "Notification channels (administrators)."),
    Endpoint(
        "POST", "/api/v1/alerts/channels", "Create a channel (administrators).", Channel, status=201
    ),
    Endpoint("PUT", "/api/v1/alerts/channels/{channel_id}", "Replace a channel.", Channel),
    Endpoint(
        "DELETE",
        "/api/v1/alerts/channels/{channel_id}",
        "Delete a channel.",
        status=204,
        media=None,
    ),
    Endpoint("POST", "/api/v1/alerts/channels/{channel_id}/test", "Send a test notification."),
    Endpoint(
        "GET",
        "/api/v1/alerts/deliveries",
        "The delivery log (administrators).",
        query=("incident", "limit"),
    ),
    Endpoint("GET", "/api/v1/alerts/silences", "Silences."),
    Endpoint("POST", "/api/v1/alerts/silences", "Create a silence.", Silence, status=201),
    Endpoint(
        "DELETE",
        "/api/v1/alerts/silences/{silence_id}",
        "Delete a silence.",
        status=204,
        media=None,
    ),
    Endpoint("GET", "/api/v1/checks", "Checks and their latest runs.", query=("app", "runs")),
    Endpoint(
        "POST",
        "/api/v1/checks",
        "Create an availability check (administrators).",
        Check,
        status=201,
    ),
    Endpoint("PUT", "/api/v1/checks/{check_id}", "Replace an availability check.", Check),
    Endpoint(
        "DELETE",
        "/api/v1/checks/{check_id}",
        "Delete an availability check.",
        status=204,
        media=None,
    ),
    Endpoint(
        "GET",
        "/api/v1/checks/{check_id}/runs",
        "A check's runs, newest first.",
        query=("from", "limit"),
    ),
    Endpoint(
        "GET",
        "/api/v1/incidents",
        "Alert incidents, newest first.",
        query=("app", "state", "limit"),
    ),
]


def _operation(e: Endpoint, ref: str | None) -> dict[str, Any]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{([^}]+)\}", e.path)
    ]
    params += [
        {"name": name, "in": "query", "description": PARAMETERS[name], "schema": {"type": "string"}}
        for name in e.query
    ]
    response: dict[str, Any] = {"description": "Success; the shape is in docs/api.md."}
    if e.media == "application/json":
        response["content"] = {e.media: {"schema": {"type": "object"}}}
    elif e.media:
        response["content"] = {e.media: {"schema": {"type": "string"}}}
    op: dict[str, Any] = {
        "summary": e.summary,
        "operationId": f"{e.method.lower()}{re.sub(r'[^A-Za-z0-9]+', '_', e.path)}",
        "responses": {
            str(e.status): response,
            "4XX": {"description": 'Refused: `{"error": "…"}` says why.'},
        },
    }
    if params:
        op["parameters"] = params
    if ref:
        schema = {"$ref": ref}
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    if e.security is not None:
        op["security"] = e.security
    return op


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document for ENDPOINTS."""
    types = list({e.body: None for e in ENDPOINTS if e.body is not None})
    refs, components = msgspec.json.schema_components(
        types, ref_template="#/components/schemas/{name}"
    )
    by_type = {t: r["$ref"] for t, r in zip(types, refs, strict=True)}
    paths: dict[str, dict[str, Any]] = {}
    for e in ENDPOINTS:
        ref = by_type.get(e.body) if e.body is not None else None
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e, ref)
    return {
        "openapi": "3.1.0",
        "info": {"title": "OpenRUM", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": COOKIE},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }


def routes() -> list[Route]:
    body = msgspec.json.encode(document())

    async def openapi(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return [Route("/api/v1/openapi.json", openapi, methods=["GET"])]
