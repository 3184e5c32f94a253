"""The dashboard's own endpoints (errors, actions, distribution, PATCH app) on a real DuckDB file,
in process: the functions with hand-computed answers, and the routes through the ASGI app."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest

from openrum.collect.beacon import Action, Error
from openrum.enrich.pipeline import Pipeline
from openrum.server import Server
from openrum.settings import Settings
from openrum.store.base import App
from openrum.store.duckdb import DuckDBStore
from openrum.web import actions, distribution, errors
from openrum.web.scope import Scope
from tests.conftest import UA_CHROME
from tests.test_query import NOW, NOW_MS, UA_IPHONE, load, received

HOUR = Scope("shop", NOW - dt.timedelta(hours=1), NOW, ())
HOSTILE = "<img src=x onerror=alert(1)>"


def err(eid: str, message: str, minutes_ago: int, kind: str = "js", count: int = 1) -> Error:
    return Error(
        id=eid,
        type=kind,
        time=NOW_MS - minutes_ago * 60_000,
        message=message,
        count=count,
        url="https://shop.example/cart",
        stack="at pay (https://shop.example/app.js:1:2)" if kind == "js" else None,
    )


@pytest.fixture
def filled(store: DuckDBStore, settings: Settings) -> DuckDBStore:
    click = Action(
        id="x1",
        type="xhr",
        start=NOW_MS - 8 * 60_000,
        url="https://shop.example/cart",
        name=HOSTILE,
        duration=800,
    )
    items = [
        received(
            "s1",
            UA_CHROME,
            [load("a1", "https://shop.example/", 1000, 1000, 30)],
            [err("e1", "boom", 30), err("e2", "boom", 20, count=2)],
            release="1.0",
        ),
        received(
            "s2",
            UA_IPHONE,
            [load("a1", "https://shop.example/cart", 5000, 6000, 10), click],
            [err("e1", "boom", 9), err("e2", "POST /pay failed with 500", 8, "request")],
            release="2.0",
        ),
        # Two days earlier: outside the hour, but the first time "boom" was seen.
        received("s0", UA_CHROME, [], [err("e1", "boom", 2 * 24 * 60)], release="0.9"),
    ]
    store.write(Pipeline(settings).run(items))
    return store


def test_error_groups(filled: DuckDBStore) -> None:
    groups = errors.groups(filled, HOUR)
    assert [(g["message"], g["errors"], g["sessions"]) for g in groups] == [
        ("boom", 4, 2),
        ("POST /pay failed with 500", 1, 1),
    ]
    boom = groups[0]
    assert boom["error_type"] == "js" and boom["stack"].startswith("at pay")
    assert boom["releases"] == ["1.0", "2.0"]
    assert [b["browser"] for b in boom["browsers"]] == ["Chrome", "Mobile Safari"]
    assert [b["errors"] for b in boom["browsers"]] == [3, 1]
    # First seen over everything stored; last seen within the range.
    assert (
        boom["first_seen"] == (NOW - dt.timedelta(days=2)).isoformat(timespec="milliseconds") + "Z"
    )
    assert (
        boom["last_seen"]
        == (NOW - dt.timedelta(minutes=9)).isoformat(timespec="milliseconds") + "Z"
    )


def test_error_groups_follow_filters(filled: DuckDBStore) -> None:
    mobile = Scope(HOUR.app, HOUR.start, HOUR.end, (("device", "is", "mobile"),))
    assert sorted((g["message"], g["errors"]) for g in errors.groups(filled, mobile)) == [
        ("POST /pay failed with 500", 1),
        ("boom", 1),
    ]


def test_error_detail(filled: DuckDBStore) -> None:
    fp = errors.groups(filled, HOUR)[0]["fingerprint"]
    d = errors.detail(filled, HOUR, fp)
    assert d is not None
    assert d["group"]["errors"] == 4
    assert [(r["release"], r["errors"]) for r in d["by_release"]] == [("1.0", 3), ("2.0", 1)]
    assert sum(r["errors"] for r in d["over_time"]) == 4
    assert d["samples"][0]["session_id"] == "s2"
    assert errors.detail(filled, HOUR, "no such group") is None


def test_errors_stored_with_their_type_in_the_message_are_titled_once(
    store: DuckDBStore, settings: Settings
) -> None:
    # Stored before the batch step took the type out: Chromium's "Uncaught TypeError: …".
    thrown = Error(
        id="e1", type="js", time=NOW_MS - 60_000, message="x", name="TypeError",
        url="https://shop.example/cart", stack="at pay (https://shop.example/app.js:1:2)",
    )  # fmt: skip
    batch = Pipeline(settings).run([received("s1", UA_CHROME, [], [thrown])])
    assert batch.errors is not None
    old = pa.array(["Uncaught TypeError: Cannot read properties of null (reading 'pay')"])
    batch.errors = batch.errors.set_column(
        batch.errors.schema.get_field_index("message"), "message", old
    )
    store.write(batch)
    [group] = errors.groups(store, HOUR)
    assert (group["error_name"], group["message"]) == (
        "TypeError",
        "Cannot read properties of null (reading 'pay')",
    )
    d = errors.detail(store, HOUR, group["fingerprint"])
    assert d is not None
    assert d["samples"][0]["message"] == group["message"]


def test_actions_table(filled: DuckDBStore, settings: Settings) -> None:
    rows = actions.table(filled, HOUR, settings)
    by_name = {r["action_name"]: r for r in rows}
    assert by_name[HOSTILE]["count"] == 1 and by_name[HOSTILE]["action_type"] == "xhr"
    # The click carries no error of its own; the mobile page load (5 s: tolerating) neither.
    cart = by_name["loading of page /cart"]
    assert (cart["count"], cart["apdex"], cart["apdex_rating"]) == (1, 0.5, "poor")
    assert cart["duration:p50"] == pytest.approx(5000, rel=0.01)


def test_distribution(filled: DuckDBStore) -> None:
    d = distribution.histogram(filled, HOUR, "lcp", 10)
    assert d["count"] == 2
    assert sum(b["count"] for b in d["buckets"]) == 2
    assert d["buckets"][-1]["to"] is None  # the last bucket is open: values above p99
    assert d["width"] in (500.0, 600.0, 1000.0)
    empty = distribution.histogram(filled, HOUR, "inp", 10)
    assert empty["count"] == 0 and empty["buckets"] == []


@pytest.mark.parametrize(
    ("top", "buckets", "width"),
    [(6000, 10, 1000), (9.99, 40, 0.25), (0.3, 40, 0.01)],
)
def test_nice_width(top: float, buckets: int, width: float) -> None:
    assert distribution.nice_width(top, buckets) == pytest.approx(width)
    assert distribution.nice_width(0, 40) > 0


# -- through the routes ---------------------------------------------------------------------
@pytest.fixture
async def client(filled: DuckDBStore, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    filled.create_app(App(id="shop", name="Shop", origins=[], created=0))
    server = Server(filled, Settings.load({}, environ={}), tmp_path, now=lambda: NOW)
    server.writer.start()
    transport = httpx.ASGITransport(app=server.app, client=("127.0.0.1", 5000))
    headers = {"authorization": f"Bearer {server.admin_key}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://openrum.test", headers=headers
    ) as c:
        yield c
    server.writer.stop()


def window(**extra: str) -> dict[str, str]:
    return {
        "app": "shop",
        "from": (NOW - dt.timedelta(hours=1)).isoformat() + "Z",
        "to": NOW.isoformat() + "Z",
        **extra,
    }


@pytest.mark.anyio
async def test_routes(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/errors", params=window())
    assert r.status_code == 200, r.text
    groups = r.json()["groups"]
    assert groups[0]["message"] == "boom"
    r = await client.get(f"/api/v1/errors/{groups[0]['fingerprint']}", params=window())
    assert r.json()["group"]["errors"] == 4
    r = await client.get("/api/v1/actions", params=window(filters='[["device","is","mobile"]]'))
    assert {a["action_name"] for a in r.json()["actions"]} == {HOSTILE, "loading of page /cart"}
    r = await client.get("/api/v1/distribution", params=window(measure="duration"))
    assert r.json()["count"] == 3


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "params", "status", "says"),
    [
        ("/api/v1/errors", {"app": "nope"}, 404, "no application"),
        ("/api/v1/errors", {}, 400, "app is required"),
        ("/api/v1/errors", {"app": "shop", "filters": "[oops"}, 400, "malformed JSON"),
        ("/api/v1/errors", {"app": "shop", "filters": '[["action_name","is","x"]]'}, 400,
         "not available for errors"),
        ("/api/v1/errors", {"app": "shop", "filters": '[["nope","is","x"]]'}, 400, "unknown dim"),
        ("/api/v1/errors", {"app": "shop", "limit": "0"}, 400, "limit"),
        ("/api/v1/errors/none", {"app": "shop"}, 404, "no error"),
        ("/api/v1/distribution", {"app": "shop", "measure": "x;drop"}, 400, "unknown measure"),
        ("/api/v1/distribution", {"app": "shop", "buckets": "1"}, 400, "buckets"),
        ("/api/v1/actions", {"app": "shop", "from": "yesterday"}, 400, "ISO-8601"),
    ],
)  # fmt: skip
async def test_route_errors(
    client: httpx.AsyncClient, path: str, params: dict[str, str], status: int, says: str
) -> None:
    r = await client.get(path, params=params)
    assert r.status_code == status, r.text
    assert says in r.json()["error"]


@pytest.mark.anyio
async def test_patch_app(client: httpx.AsyncClient) -> None:
    change: dict[str, Any] = {
        "name": "Shop EU",
        "origins": ["https://shop.example/"],
        "config": {
            "apdex": {"load": {"t": 2000, "f": 8000, "metric": "lcp"}},
            "sample": 25,
            "optin": True,
            "dnt": "ignore",
        },
    }
    r = await client.patch("/api/v1/apps/shop", content=json.dumps(change))
    assert r.status_code == 200, r.text
    app = r.json()
    assert app["name"] == "Shop EU" and app["origins"] == ["https://shop.example"]
    assert app["config"]["apdex"]["load"] == {"t": 2000, "f": 8000, "metric": "lcp"}
    for attr in ('data-sample="25"', 'data-optin="1"', 'data-dnt="ignore"'):
        assert attr in app["snippet"]
    # Merged key by key; null removes a key; the list shows the change.
    r = await client.patch("/api/v1/apps/shop", content=json.dumps({"config": {"optin": None}}))
    assert "optin" not in r.json()["config"] and r.json()["config"]["sample"] == 25
    [listed] = (await client.get("/api/v1/apps")).json()["apps"]
    assert listed["name"] == "Shop EU" and "data-optin" not in listed["snippet"]
    # The settings page's default for Do Not Track / GPC is the agent's: anonymous.
    r = await client.patch(
        "/api/v1/apps/shop", content=json.dumps({"config": {"dnt": "anonymous"}})
    )
    assert r.status_code == 200 and 'data-dnt="anonymous"' in r.json()["snippet"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("keep_fragment", "attr"),
    [
        (None, None),  # the default: routes (#/…, #!/…), which the agent does by itself
        ("routes", None),
        ("all", 'data-hash="1"'),
        ("none", 'data-hash="0"'),
        (True, 'data-hash="1"'),  # as stored before
        (False, 'data-hash="0"'),
    ],
)
async def test_the_snippet_carries_the_hash_routes_setting(
    client: httpx.AsyncClient, keep_fragment: Any, attr: str | None
) -> None:
    body = json.dumps({"config": {"keep_fragment": keep_fragment}})
    r = await client.patch("/api/v1/apps/shop", content=body)
    assert r.status_code == 200, r.text
    snippet = r.json()["snippet"]
    assert (attr in snippet) if attr else "data-hash" not in snippet


@pytest.mark.anyio
async def test_the_snippet_carries_the_trace_origins(client: httpx.AsyncClient) -> None:
    origins = ["https://api.shop.example", "http://127.0.0.1:9000"]
    r = await client.patch(
        "/api/v1/apps/shop", content=json.dumps({"config": {"trace_origins": origins}})
    )
    assert r.status_code == 200, r.text
    assert 'data-trace="https://api.shop.example http://127.0.0.1:9000"' in r.json()["snippet"]
    r = await client.patch(
        "/api/v1/apps/shop", content=json.dumps({"config": {"trace_origins": []}})
    )
    assert "data-trace" not in r.json()["snippet"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"config": {"keep_fragment": "anchors"}}, "keep_fragment"),
        ({"config": {"sample": 0}}, "sample"),
        ({"config": {"sample": "50"}}, "sample"),
        ({"config": {"apdex": {"load": {"t": 5000, "f": 1000}}}}, "at least t"),
        ({"config": {"apdex": {"tap": {"t": 1}}}}, "action type"),
        ({"config": {"apdex": {"load": {"metric": "x"}}}}, "metric"),
        ({"config": {"dnt": "maybe"}}, "dnt"),
        ({"config": {"optin": "yes"}}, "optin"),
        ({"config": {"ip_mask_level": 3}}, "ip_mask_level"),
        ({"config": {"trace_origins": "https://api.shop.example"}}, "trace_origins"),
        ({"config": {"trace_origins": ["https://API.shop.example:443/v1"]}}, "trace_origins"),
        ({"origins": ["not an origin"]}, "origin"),
        ({"name": " "}, "name"),
        ({"colour": "red"}, "invalid request"),
    ],
)
async def test_patch_app_refuses(
    client: httpx.AsyncClient, body: dict[str, Any], says: str
) -> None:
    r = await client.patch("/api/v1/apps/shop", content=json.dumps(body))
    assert r.status_code == 400, r.text
    assert says in r.json()["error"]
    assert (await client.patch("/api/v1/apps/none", content="{}")).status_code == 404
