"""Authentication and isolation: every route × every kind of caller."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openrum.server import Server
from openrum.settings import Settings
from openrum.store.base import App
from openrum.store.duckdb import DuckDBStore
from openrum.web.auth import hash_password, new_token, verify_password

pytestmark = pytest.mark.anyio
PASSWORD = "correct horse battery"

SILENCE = {"start": "2026-11-20T11:00:00Z", "end": "2026-11-20T12:00:00Z"}
RULE = {"app": "a", "name": "x", "metric": "apdex", "condition": {"op": "below", "threshold": 1}}
_TRIAGE = {"fingerprints": ["none"], "status": "resolved"}
CHECK = {"app": "a", "name": "x", "url": "http://127.0.0.1:9/"}
_MAPS = {"release": "1", "files": {"x.js.map": "{}"}}
# (method, path, body, app it touches or None, kind): kind "read", "write" or "admin".
REQUESTS: list[tuple[str, str, dict[str, Any] | None, str | None, str]] = [
    ("GET", "/metrics", None, None, "read"),
    ("GET", "/api/v1/me", None, None, "read"),
    ("GET", "/api/v1/openapi.json", None, None, "read"),
    ("GET", "/api/v1/apps", None, None, "read"),
    ("POST", "/api/v1/apps", {"name": "New"}, None, "admin"),
    ("POST", "/api/v1/query", {"app": "a", "metrics": ["count"]}, "a", "read"),
    ("POST", "/api/v1/query", {"app": "b", "metrics": ["count"]}, "b", "read"),
    ("GET", "/api/v1/tokens", None, None, "admin"),
    ("POST", "/api/v1/tokens", {"name": "x"}, None, "admin"),
    ("DELETE", "/api/v1/tokens/none", None, None, "admin"),
    ("POST", "/api/v1/erase", {"app": "a", "session_id": "s"}, "a", "write"),
    ("POST", "/api/v1/erase", {"app": "b", "session_id": "s"}, "b", "write"),
    ("GET", "/api/v1/export?app=a&session_id=s", None, "a", "read"),
    ("GET", "/api/v1/export?app=b&session_id=s", None, "b", "read"),
    ("POST", "/api/v1/logout", None, None, "write"),
    ("PATCH", "/api/v1/apps/none", {"name": "x"}, None, "admin"),
    ("GET", "/api/v1/errors?app=a", None, "a", "read"),
    ("GET", "/api/v1/errors?app=b", None, "b", "read"),
    ("GET", "/api/v1/errors/none?app=a", None, "a", "read"),
    ("GET", "/api/v1/errors/none?app=b", None, "b", "read"),
    ("POST", "/api/v1/errors/status", {**_TRIAGE, "app": "a"}, "a", "write"),
    ("POST", "/api/v1/errors/status", {**_TRIAGE, "app": "b"}, "b", "write"),
    ("GET", "/api/v1/actions?app=a", None, "a", "read"),
    ("GET", "/api/v1/actions?app=b", None, "b", "read"),
    ("GET", "/api/v1/distribution?app=a", None, "a", "read"),
    ("GET", "/api/v1/distribution?app=b", None, "b", "read"),
    ("GET", "/api/v1/sessions?app=a", None, "a", "read"),
    ("GET", "/api/v1/sessions?app=b", None, "b", "read"),
    ("GET", "/api/v1/sessions/none?app=a", None, "a", "read"),
    ("GET", "/api/v1/sessions/none?app=b", None, "b", "read"),
    ("GET", "/api/v1/alerts/rules", None, None, "read"),
    ("POST", "/api/v1/alerts/rules", RULE, "a", "write"),
    ("POST", "/api/v1/alerts/rules", {**RULE, "app": "b"}, "b", "write"),
    ("PUT", "/api/v1/alerts/rules/none", RULE, None, "write"),
    ("DELETE", "/api/v1/alerts/rules/none", None, None, "write"),
    ("POST", "/api/v1/alerts/rules/none/test", None, None, "write"),
    ("POST", "/api/v1/alerts/test", RULE, "a", "write"),
    ("POST", "/api/v1/alerts/test", {**RULE, "app": "b"}, "b", "write"),
    ("GET", "/api/v1/alerts/deliveries", None, None, "admin"),
    ("GET", "/api/v1/alerts/silences", None, None, "read"),
    ("POST", "/api/v1/alerts/silences", {**SILENCE, "app": "a"}, "a", "write"),
    ("POST", "/api/v1/alerts/silences", {**SILENCE, "app": "b"}, "b", "write"),
    ("POST", "/api/v1/alerts/silences", SILENCE, None, "admin"),
    ("DELETE", "/api/v1/alerts/silences/none", None, None, "write"),
    ("GET", "/api/v1/alerts/channels", None, None, "admin"),
    ("POST", "/api/v1/alerts/channels", {"name": "x", "kind": "slack", "url": "x"}, None, "admin"),
    ("PUT", "/api/v1/alerts/channels/none", {"name": "x", "kind": "slack"}, None, "admin"),
    ("DELETE", "/api/v1/alerts/channels/none", None, None, "admin"),
    ("POST", "/api/v1/alerts/channels/none/test", None, None, "admin"),
    ("GET", "/api/v1/releases?app=a", None, "a", "read"),
    ("GET", "/api/v1/releases?app=b", None, "b", "read"),
    ("GET", "/api/v1/releases/none/regressions?app=a", None, "a", "read"),
    ("GET", "/api/v1/releases/none/regressions?app=b", None, "b", "read"),
    ("GET", "/api/v1/checks", None, None, "read"),
    ("GET", "/api/v1/checks?app=a", None, "a", "read"),
    ("GET", "/api/v1/checks?app=b", None, "b", "read"),
    ("POST", "/api/v1/checks", CHECK, None, "admin"),
    ("PUT", "/api/v1/checks/none", CHECK, None, "admin"),
    ("DELETE", "/api/v1/checks/none", None, None, "admin"),
    ("GET", "/api/v1/checks/none/runs", None, None, "read"),
    ("GET", "/api/v1/incidents", None, None, "read"),
    ("GET", "/api/v1/incidents?app=a", None, "a", "read"),
    ("GET", "/api/v1/incidents?app=b", None, "b", "read"),
    ("POST", "/api/v1/sourcemaps", {"app": "a", **_MAPS}, "a", "write"),
    ("POST", "/api/v1/sourcemaps", {"app": "b", **_MAPS}, "b", "write"),
    ("GET", "/api/v1/sourcemaps?app=a", None, "a", "read"),
    ("GET", "/api/v1/sourcemaps?app=b", None, "b", "read"),
    ("DELETE", "/api/v1/sourcemaps/none?app=a", None, "a", "write"),
    ("DELETE", "/api/v1/sourcemaps/none?app=b", None, "b", "write"),
]


@pytest.fixture
async def env(store: DuckDBStore, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    for app_id in ("a", "b"):
        store.create_app(App(id=app_id, name=app_id.upper(), origins=[], created=0))
    store.set_password("admin", hash_password(PASSWORD))
    tokens = {}
    for label, app, read_only in [
        ("all", None, False),
        ("all_ro", None, True),
        ("a", "a", False),
        ("a_ro", "a", True),
    ]:
        secret, token = new_token(label, app, read_only)
        store.save_token(token)
        tokens[label] = secret
    server = Server(store, Settings.load({}, environ={}), tmp_path)
    server.writer.start()
    transport = httpx.ASGITransport(app=server.app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://openrum.test") as c:
        yield {"server": server, "client": c, "tokens": tokens}
    server.writer.stop()


async def login(c: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    return await c.post(
        "/login?next=/overview",
        data={"username": "admin", "password": password},
        headers={"origin": "http://openrum.test"},
    )


def callers(env: dict[str, Any]) -> dict[str, dict[str, str]]:
    t = env["tokens"]
    bearer = {k: {"authorization": f"Bearer {v}"} for k, v in t.items()}
    return {
        "nobody": {},
        "bogus": {"authorization": "Bearer orum_nope"},
        "basic": {"authorization": "Basic YWRtaW46eA=="},
        "admin_key": {"authorization": f"Bearer {env['server'].admin_key}"},
        "token_all": bearer["all"],
        "token_all_ro": bearer["all_ro"],
        "token_app_a": bearer["a"],
        "token_app_a_ro": bearer["a_ro"],
    }


def expected(caller: str, app: str | None, kind: str) -> str:
    if caller in ("nobody", "bogus", "basic"):
        return "unauthenticated"
    scoped = caller.startswith("token_app_a")
    read_only = caller.endswith("_ro")
    if kind == "admin" and (scoped or read_only):
        return "forbidden"
    if kind == "write" and read_only:
        return "forbidden"
    if scoped and app not in (None, "a"):
        return "forbidden"
    return "allowed"


def outcome(status: int) -> str:
    if status in (401, 303):
        return "unauthenticated"
    return "forbidden" if status == 403 else "allowed"


async def test_every_route_is_in_the_matrix(env: dict[str, Any]) -> None:
    covered = {(m, p.split("?")[0]) for m, p, *_ in REQUESTS}
    for route in env["server"].web.routes:
        for method in getattr(route, "methods", None) or []:
            path = re.sub(r"\{[^}]+\}", "none", route.path)
            if method != "HEAD" and path.startswith(("/api/", "/metrics")):
                assert (method, path) in covered, f"{method} {path} is not in the auth matrix"


@pytest.mark.parametrize(("method", "path", "body", "app", "kind"), REQUESTS)
async def test_matrix(
    env: dict[str, Any],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    app: str | None,
    kind: str,
) -> None:
    c: httpx.AsyncClient = env["client"]
    for caller, headers in callers(env).items():
        r = await c.request(
            method,
            path,
            headers={**headers, "content-type": "application/json"},
            content=json.dumps(body) if body is not None else None,
        )
        assert outcome(r.status_code) == expected(caller, app, kind), (
            f"{caller} {method} {path}: {r.status_code} {r.text[:80]}"
        )


async def test_a_scoped_token_lists_only_its_application(env: dict[str, Any]) -> None:
    c: httpx.AsyncClient = env["client"]
    r = await c.get("/api/v1/apps", headers=callers(env)["token_app_a_ro"])
    assert [a["id"] for a in r.json()["apps"]] == ["a"]


async def test_login_cookie_csrf_and_logout(env: dict[str, Any]) -> None:
    c: httpx.AsyncClient = env["client"]
    r = await login(c, "wrong password")
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    r = await login(c)
    assert r.status_code == 303 and r.headers["location"] == "/overview"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    me = (await c.get("/api/v1/me")).json()
    assert me["name"] == "admin" and me["csrf"]
    body = json.dumps({"app": "a", "metrics": ["count"]})
    r = await c.post("/api/v1/query", content=body)
    assert r.status_code == 403  # no CSRF token
    r = await c.post("/api/v1/query", content=body, headers={"x-csrf-token": "forged"})
    assert r.status_code == 403
    r = await c.post("/api/v1/query", content=body, headers={"x-csrf-token": me["csrf"]})
    assert r.status_code == 200
    r = await c.post("/api/v1/logout", headers={"x-csrf-token": me["csrf"]})
    assert r.status_code == 204
    c.cookies.clear()
    c.cookies.set("openrum_session", cookie.split(";")[0].split("=", 1)[1])
    assert (await c.get("/api/v1/me")).status_code == 401  # the old cookie is dead


async def test_login_is_rate_limited_and_refused_cross_site(env: dict[str, Any]) -> None:
    c: httpx.AsyncClient = env["client"]
    r = await c.post(
        "/login",
        data={"username": "admin", "password": PASSWORD},
        headers={"origin": "https://evil.example"},
    )
    assert r.status_code == 403
    codes = [(await login(c, "nope")).status_code for _ in range(12)]
    assert codes[:10] == [401] * 10 and codes[-1] == 429


async def test_the_dashboard_redirects_to_login(env: dict[str, Any]) -> None:
    r = await env["client"].get("/sessions?app=a")
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/sessions"
    page = await env["client"].get("/login")
    assert page.status_code == 200 and "<form" in page.text


async def test_an_open_redirect_is_not_possible(env: dict[str, Any]) -> None:
    r = await env["client"].post(
        "/login?next=//evil.example/x",
        data={"username": "admin", "password": PASSWORD},
        headers={"origin": "http://openrum.test"},
    )
    assert r.headers["location"] == "/"


async def test_security_headers(env: dict[str, Any]) -> None:
    for path in ("/login", "/api/v1/me"):
        r = await env["client"].get(path, headers=callers(env)["admin_key"])
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-eval" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"


async def test_beacons_stay_public(env: dict[str, Any]) -> None:
    from tests.beacons import beacon, encode

    r = await env["client"].post(
        "/api/v1/beacon", content=encode(beacon("a")), headers={"content-type": "text/plain"}
    )
    assert r.status_code == 202


def test_password_hashes() -> None:
    stored = hash_password("s3cret passphrase")
    assert stored.startswith("scrypt$") and "s3cret" not in stored
    assert verify_password("s3cret passphrase", stored)
    assert not verify_password("s3cret passphras", stored)
    assert not verify_password("x", "garbage")
    assert hash_password("same") != hash_password("same")  # salted
