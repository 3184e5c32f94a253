"""Foreign agents' payloads (docs/ingest.md): each translator on payloads recorded from the real
SDK in Chromium (tests/foreign/recorded, made by tests/foreign/record.py), and the collector's
ingest endpoints in-process: stored like native beacons, bad payloads rejected with a reason."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import msgspec
import pytest

from openrum.collect.beacon import Action, Beacon, Drop, Error, UserEvent
from openrum.collect.foreign import Request, boomerang, faro, jsurl, otlp, strip_url
from openrum.server import Server
from openrum.settings import Settings
from openrum.store.base import App
from openrum.store.duckdb import DuckDBStore
from tests.conftest import UA_CHROME

RECORDED = Path(__file__).parent / "foreign" / "recorded"
ORIGIN = "https://shop.example"
FORM = "application/x-www-form-urlencoded"


def recorded(name: str) -> bytes:
    return (RECORDED / name).read_bytes()


def translated(fmt: Any, body: bytes, media_type: str = FORM) -> list[Beacon]:
    out = fmt.translate(Request(body, media_type.encode(), "shop", 1_800_000_000_000))
    assert not isinstance(out, Drop), out
    return list(out)


# -- helpers ---------------------------------------------------------------------------------
def test_jsurl_decodes_what_boomerang_encodes() -> None:
    text = "~(~(d~'mxbxll6p~f~(~(c~71~l~21873~wo~'*2fload))~m~'boom*20from*20click~t~'TypeError))"
    assert jsurl.decode(text) == [
        {
            "d": "mxbxll6p",
            "f": [{"c": 71.0, "l": 21873.0, "wo": "/load"}],
            "m": "boom from click",
            "t": "TypeError",
        }
    ]
    assert jsurl.decode("~(~)") == []
    assert jsurl.decode("~(a~true~b~null~c~-1.5~d~'**20ac!)") == {
        "a": True,
        "b": None,
        "c": -1.5,
        "d": "€$",
    }
    for bad in ("", "~", "~(a~1", "~'x*2", "~bogus", "~(" * 100, "~1~2"):
        with pytest.raises(ValueError):
            jsurl.decode(bad)


def test_urls_lose_their_query_string_and_keep_route_fragments() -> None:
    assert strip_url("https://a.example/p?q=1#top") == "https://a.example/p"
    assert strip_url("https://a.example/#/cart?x=1") == "https://a.example/#/cart?x=1"
    assert strip_url("https://a.example/#!/cart") == "https://a.example/#!/cart"


# -- Boomerang -------------------------------------------------------------------------------
def test_boomerang_page_load_beacon_is_a_load_action_with_timings_vitals_and_errors() -> None:
    body = recorded("boomerang-load.txt")
    params = dict(parse_qsl(body.decode()))
    [b] = translated(boomerang.FORMAT, body)
    assert b.app == "shop"
    assert (b.sid, b.page) == (params["rt.si"], params["pid"])
    assert b.agent.startswith("boomerang")
    load, error = b.events
    assert isinstance(load, Action) and isinstance(error, Error)
    start = int(params["nt_nav_st"])
    assert (load.type, load.start, load.duration) == ("load", start, float(params["t_done"]))
    assert load.url == params["u"] and "?" not in load.url
    assert load.nt is not None
    assert load.nt["responseStart"] == int(params["nt_res_st"]) - start
    assert load.nt["loadEventEnd"] == int(params["nt_load_end"]) - start
    assert "secureConnectionStart" not in load.nt  # 0: plain HTTP, no TLS
    assert load.vitals["lcp"].value == float(params["pt.lcp"])
    assert load.vitals["lcp"].target == params["pt.lcp.e"]
    assert load.vitals["fcp"].value == float(params["pt.fcp"])
    assert load.vitals["cls"].value == float(params["c.cls"])
    assert load.vitals["ttfb"].value == load.nt["responseStart"]
    assert load.long_tasks == int(params["c.lt.n"])
    # The error thrown during the load, in the load action, its stack in the native format.
    assert (error.type, error.name, error.action) == ("js", "TypeError", "load")
    assert error.message == "Cannot read properties of null (reading 'boom')"
    assert error.stack and error.stack.startswith("at ")
    assert error.source == params["u"] and error.line and error.col
    assert b.sent >= load.start + (load.duration or 0)


def test_boomerang_xhr_beacon_is_an_xhr_action_with_its_request_error() -> None:
    body = recorded("boomerang-xhr.txt")
    params = dict(parse_qsl(body.decode()))
    [b] = translated(boomerang.FORMAT, body)
    action, error = b.events
    assert isinstance(action, Action) and isinstance(error, Error)
    assert (action.type, action.start) == ("xhr", int(params["rt.tstart"]))
    assert action.duration == float(params["t_done"])
    assert action.url == params["pgu"]  # the page's URL; `u` is the request's
    assert (error.type, error.status, error.action) == ("request", 500, action.id)
    assert error.source == params["u"]
    assert error.message == f"HTTP 500 {params['u']}"
    # Without the Errors plugin, http.errno alone makes the request error.
    without = urlencode({k: v for k, v in params.items() if k != "err"}).encode()
    [b] = translated(boomerang.FORMAT, without)
    assert [(e.type, getattr(e, "status", None)) for e in b.events] == [
        ("xhr", None),
        ("request", 500),
    ]


def test_boomerang_error_beacon_and_beacons_with_nothing_to_store() -> None:
    [b] = translated(boomerang.FORMAT, recorded("boomerang-error.txt"))
    [error] = b.events
    assert isinstance(error, Error)
    assert (error.type, error.message, error.action) == ("js", "boom from click", None)
    assert error.stack == f"at HTMLButtonElement.onclick ({error.source}:{error.line}:{error.col})"
    assert b.sent >= error.time
    unload = urlencode({"pid": "p1", "rt.quit": "", "rt.si": "s1", "c.cls": "0.2"}).encode()
    assert translated(boomerang.FORMAT, unload) == []


def test_boomerang_translation_is_the_same_each_time() -> None:
    """A re-sent beacon yields the same event ids, which the store deduplicates on."""
    for name in ("boomerang-load.txt", "boomerang-xhr.txt", "boomerang-error.txt"):
        first = msgspec.json.encode(translated(boomerang.FORMAT, recorded(name)))
        assert msgspec.json.encode(translated(boomerang.FORMAT, recorded(name))) == first


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe", "invalid_utf8"),
        (b"u=https%3A%2F%2Fa.example%2F&t_done=12", "missing_field"),
        (b"pid=p1&err=~(~(m~'x", "malformed_field"),
        (b"pid=p1&err=%5B1%2C", "malformed_field"),
        (b"pid=p1&err=~(a~1)", "malformed_field"),
        (b"&".join(b"k%d=1" % i for i in range(1001)) + b"&pid=p1", "malformed_form"),
    ],
)
def test_boomerang_bad_payloads_are_dropped_with_a_reason(body: bytes, reason: str) -> None:
    out = boomerang.translate(Request(body, FORM.encode(), "shop", 0))
    assert isinstance(out, Drop) and out.reason == reason


# -- Grafana Faro ----------------------------------------------------------------------------
FARO = ("faro-load-start.json", "faro-navigation.json", "faro-lcp-error.json", "faro-hidden.json")


def faro_payloads() -> list[dict[str, Any]]:
    return [json.loads(recorded(name)) for name in FARO]


def test_faro_payloads_of_a_page_view_make_one_load_action_that_gains_its_vitals() -> None:
    translator = faro.Faro()
    start, navigation, lcp_error, hidden = faro_payloads()
    out = [translated(translator, recorded(name), "application/json") for name in FARO]
    sid = start["meta"]["session"]["id"]
    assert {b.sid for [b] in out} == {sid}
    assert len({b.page for [b] in out}) == 1
    # Before the navigation event: the error, and FCP kept for the load action.
    [first] = out[0]
    [error] = first.events
    assert isinstance(error, Error) and error.action is None
    assert error.message == start["exceptions"][0]["value"] and error.name == "TypeError"
    assert first.env.release == "1.4.2" and first.agent == "faro-web 2.12.1"
    # The navigation: the load action with its timings, FCP and TTFB.
    [second] = out[1]
    [load] = second.events
    assert isinstance(load, Action) and load.type == "load"
    attributes = navigation["events"][0]["attributes"]
    assert load.duration == float(attributes["duration"])
    assert load.nt is not None
    assert load.nt["loadEventEnd"] == float(attributes["duration"])
    assert load.nt["responseStart"] == float(attributes["ttfb"])
    assert load.nt["requestStart"] == float(attributes["ttfb"]) - float(attributes["requestTime"])
    assert set(load.vitals) == {"fcp", "ttfb"}
    assert load.vitals["fcp"].id == start["measurements"][0]["context"]["id"]
    # Each later vital re-sends the load action, whole, with a higher seq (the store keeps it).
    [third] = out[2]
    again, error = third.events
    assert isinstance(again, Action) and isinstance(error, Error)
    assert again.id == load.id and third.seq > second.seq
    assert again.vitals["lcp"].value == lcp_error["measurements"][0]["values"]["lcp"]
    assert again.vitals["lcp"].target == "#hero"
    assert error.action == load.id and error.stack and error.stack.startswith("at HTMLButton")
    [fourth] = out[3]
    [last] = fourth.events
    assert isinstance(last, Action) and fourth.seq > third.seq
    assert set(last.vitals) == {"fcp", "ttfb", "lcp", "inp", "cls"}
    inp = hidden["measurements"][0]
    assert last.vitals["inp"].value == inp["values"]["inp"]
    assert last.vitals["inp"].target == "#b"
    assert last.vitals["inp"].phase == {
        "input_delay": inp["values"]["input_delay"],
        "processing": inp["values"]["processing_duration"],
        "presentation": inp["values"]["presentation_delay"],
    }
    assert last.vitals["cls"].value == hidden["measurements"][1]["values"]["cls"]
    # Sent again, a payload changes nothing: no re-sent action, the same error id.
    assert translated(translator, recorded(FARO[3]), "application/json") == []
    [b] = translated(translator, recorded(FARO[2]), "application/json")
    assert [e.id for e in b.events] == [error.id]


def test_faro_translation_is_the_same_each_time_and_user_meta_is_a_user_tag() -> None:
    runs = []
    for _ in range(2):
        translator = faro.Faro()
        runs.append(
            [
                msgspec.json.encode(translated(translator, recorded(n), "application/json"))
                for n in FARO
            ]
        )
    assert runs[0] == runs[1]
    payload = faro_payloads()[3]
    payload["meta"]["user"] = {"id": "u-42", "username": "ada", "email": "ada@example.com"}
    [b] = translated(faro.Faro(), json.dumps(payload).encode(), "application/json")
    [tag] = b.events  # a translator that saw no navigation: the vitals wait for it
    assert isinstance(tag, UserEvent) and (tag.type, tag.value) == ("user_tag", "ada")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "malformed_json"),
        (b"[]", "invalid_field"),
        (b'{"events": []}', "invalid_field"),
        (
            b'{"meta": {}, "exceptions": [{"type": "E", "value": "x", "timestamp": "soon"}]}',
            "malformed_field",
        ),
        (
            b'{"meta": {}, "exceptions": [{"type": "E", "value": "x", '
            b'"timestamp": "2026-12-06T14:37:20"}]}',
            "malformed_field",
        ),
        (b'{"meta": {"page": {"url": 3}}}', "invalid_field"),
        (
            b'{"meta": {}, "measurements": [{"type": "web-vitals", "values": {"lcp": "x"}, '
            b'"timestamp": "2026-12-06T14:37:20Z"}]}',
            "invalid_field",
        ),
        (b'{"meta": {}}' + b" " * 10 + b"\xff", "malformed_json"),
    ],
)
def test_faro_bad_payloads_are_dropped_with_a_reason(body: bytes, reason: str) -> None:
    out = faro.Faro().translate(Request(body, b"application/json", "shop", 0))
    assert isinstance(out, Drop) and out.reason == reason, out


# -- OpenTelemetry ---------------------------------------------------------------------------
PROTOBUF = "application/x-protobuf"


@pytest.mark.parametrize(("suffix", "media_type"), [("json", "application/json"), ("pb", PROTOBUF)])
def test_otlp_traces_make_the_load_and_xhr_actions_and_request_errors(
    suffix: str, media_type: str
) -> None:
    [b] = translated(otlp.TRACES, recorded(f"otlp-traces.{suffix}"), media_type)
    load, xhr, error = b.events
    assert isinstance(load, Action) and isinstance(xhr, Action) and isinstance(error, Error)
    assert b.sid and b.sid == b.sid.strip() and not b.sid.startswith("otel-")  # session.id
    assert load.type == "load" and load.url.endswith("/load") and load.nt is not None
    assert load.duration == load.nt["loadEventEnd"] > load.nt["domComplete"] > 0
    assert load.nt["responseStart"] >= load.nt["requestStart"] >= load.nt["fetchStart"] == 0
    assert "secureConnectionStart" not in load.nt  # plain HTTP
    assert 0 < load.vitals["fcp"].value < load.duration
    assert load.vitals["ttfb"].value == load.nt["responseStart"]
    assert (xhr.type, xhr.requests, xhr.name) == ("xhr", 1, 'click on //*[@id="b"]')
    assert xhr.duration and xhr.duration >= 150  # the click handler's busy loop
    assert (error.type, error.status, error.action) == ("request", 500, xhr.id)
    assert error.message == f"HTTP 500 {error.source}" and error.source.endswith("/status/500")
    assert b.sent >= error.time


def test_otlp_json_and_protobuf_translate_alike() -> None:
    """Recorded from two page views: the same events, with their own ids and times."""

    def shape(b: Beacon) -> list[tuple[str, str]]:
        return [(e.__class__.__name__, getattr(e, "type", "")) for e in b.events]

    for name, fmt in (("otlp-traces", otlp.TRACES), ("otlp-logs-click", otlp.LOGS)):
        [j] = translated(fmt, recorded(f"{name}.json"), "application/json")
        [p] = translated(fmt, recorded(f"{name}.pb"), PROTOBUF)
        assert shape(j) == shape(p)


@pytest.mark.parametrize(("suffix", "media_type"), [("json", "application/json"), ("pb", PROTOBUF)])
def test_otlp_exception_log_records_are_errors(suffix: str, media_type: str) -> None:
    [load] = translated(otlp.LOGS, recorded(f"otlp-logs-load.{suffix}"), media_type)
    [click] = translated(otlp.LOGS, recorded(f"otlp-logs-click.{suffix}"), media_type)
    [during] = load.events
    [thrown] = click.events
    assert isinstance(during, Error) and isinstance(thrown, Error)
    assert (during.type, during.name) == ("js", "TypeError")
    assert during.message == "Cannot read properties of null (reading 'boom')"
    assert thrown.message == "boom from click"
    assert thrown.stack and thrown.stack.startswith("at HTMLButtonElement")
    assert thrown.source and thrown.source.endswith("/load") and thrown.line and thrown.col
    assert load.sid == click.sid and load.page == click.page
    [traces] = translated(
        otlp.TRACES, recorded(f"otlp-traces.{suffix}"), media_type
    )  # the same page view's spans
    assert (traces.sid, traces.page) == (load.sid, load.page)


@pytest.mark.parametrize(
    ("fmt", "body", "media_type", "reason"),
    [
        (otlp.TRACES, b"{", "application/json", "malformed_json"),
        (otlp.TRACES, b'{"resourceSpans": 3}', "application/json", "invalid_field"),
        (otlp.TRACES, b"\x0a\xff\xff", PROTOBUF, "malformed_protobuf"),
        (otlp.LOGS, b"\x0a\x05\x0a\x03", PROTOBUF, "malformed_protobuf"),
        (
            otlp.TRACES,
            b'{"resourceSpans": [{"scopeSpans": [{"scope": {"name": "x-document-load"}, '
            b'"spans": [{"name": "documentLoad", "startTimeUnixNano": "-5", '
            b'"endTimeUnixNano": "1"}]}]}]}',
            "application/json",
            "malformed_field",
        ),
        (
            otlp.LOGS,
            b'{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "soon", '
            b'"attributes": [{"key": "exception.type", "value": {"stringValue": "E"}}]}]}]}]}',
            "application/json",
            "malformed_field",
        ),
    ],
)
def test_otlp_bad_payloads_are_dropped_with_a_reason(
    fmt: Any, body: bytes, media_type: str, reason: str
) -> None:
    out = fmt.translate(Request(body, media_type.encode(), "shop", 0))
    assert isinstance(out, Drop) and out.reason == reason, out


# -- the endpoints, in-process -----------------------------------------------------------------
pytestmark_anyio = pytest.mark.anyio


@pytest.fixture
async def server(store: DuckDBStore, tmp_path: Path) -> AsyncIterator[Server]:
    store.create_app(App(id="shop", name="Shop", origins=[ORIGIN], created=0))
    srv = Server(store, Settings.load({}, environ={}), tmp_path)
    srv.writer.start()
    yield srv
    srv.writer.stop()


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=server.app, client=("198.51.100.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as c:
        yield c


def rows(server: Server, sql: str) -> list[tuple[Any, ...]]:
    assert server.writer.flush()
    return server.store.select(sql, [])[1]


@pytestmark_anyio
async def test_boomerang_get_and_post_are_stored(server: Server, client: httpx.AsyncClient) -> None:
    headers = {"origin": ORIGIN, "user-agent": UA_CHROME, "content-type": FORM}
    r = await client.post(
        "/ingest/boomerang/shop", content=recorded("boomerang-load.txt"), headers=headers
    )
    assert r.status_code == 202, r.text
    assert r.headers["access-control-allow-origin"] == ORIGIN
    # An image beacon: the query string, no Origin header, the page as Referer.
    query = recorded("boomerang-xhr.txt").decode()
    referer = {"referer": ORIGIN + "/load", "user-agent": UA_CHROME}
    r = await client.get(f"/ingest/boomerang/shop?{query}", headers=referer)
    assert r.status_code == 202, r.text
    assert rows(server, "SELECT action_type, page FROM actions ORDER BY time") == [
        ("load", "/load"),
        ("xhr", "/load"),
    ]
    assert rows(server, "SELECT error_type, status FROM errors ORDER BY time") == [
        ("js", None),
        ("request", 500),
    ]
    assert server.metrics.beacons_accepted == 2


@pytestmark_anyio
@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "reason"),
    [
        ("POST", "/ingest/boomerang/nope", {"origin": ORIGIN}, "load", 403, "unknown_app"),
        (
            "POST",
            "/ingest/boomerang/shop",
            {"origin": "https://evil.example"},
            "load",
            403,
            "origin_not_allowed",
        ),
        (
            "GET",
            "/ingest/boomerang/shop",
            {"referer": "https://evil.example/p"},
            "load",
            403,
            "origin_not_allowed",
        ),
        (
            "POST",
            "/ingest/boomerang/shop",
            {"content-type": "image/png"},
            "load",
            415,
            "unsupported_media_type",
        ),
        ("PUT", "/ingest/boomerang/shop", {}, "load", 405, "method_not_allowed"),
        ("POST", "/ingest/boomerang/shop", {}, "pid=p1&err=~(~(m~'x", 400, "malformed_field"),
        ("POST", "/ingest/boomerang/shop", {}, "x" * 70_000, 413, "body_too_large"),
    ],
)
async def test_boomerang_rejections_have_a_reason_and_are_counted(
    server: Server,
    client: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: str,
    status: int,
    reason: str,
) -> None:
    content = recorded("boomerang-load.txt") if body == "load" else body.encode()
    sent = {"content-type": FORM, **headers}
    if method == "GET":
        r = await client.get(f"{path}?{content.decode()}", headers=sent)
    else:
        r = await client.request(method, path, content=content, headers=sent)
    assert (r.status_code, r.headers["x-openrum-reason"]) == (status, reason)
    assert server.metrics.rejected[reason] == 1
    assert rows(server, "SELECT count(*) FROM actions") == [(0,)]


@pytestmark_anyio
async def test_faro_payloads_are_stored_with_the_faro_session(
    server: Server, client: httpx.AsyncClient
) -> None:
    headers = {"origin": ORIGIN, "user-agent": UA_CHROME, "content-type": "application/json"}
    r = await client.options(
        "/ingest/faro/shop",
        headers={**headers, "access-control-request-headers": "idempotency-key, x-faro-session-id"},
    )
    assert r.status_code == 204
    assert "idempotency-key" in r.headers["access-control-allow-headers"]
    for name in FARO:
        r = await client.post("/ingest/faro/shop", content=recorded(name), headers=headers)
        assert r.status_code == 202, r.text
    sid = faro_payloads()[0]["meta"]["session"]["id"]
    assert rows(
        server, "SELECT session_id, action_type, page, lcp > 0, cls > 0, inp FROM actions"
    ) == [(sid, "load", "/load", True, True, 168.0)]
    assert rows(server, "SELECT count(*), count(action_event_id) FROM errors") == [(2, 1)]


@pytestmark_anyio
async def test_otlp_requests_are_answered_as_otlp_and_stored(
    server: Server, client: httpx.AsyncClient
) -> None:
    for suffix, media_type, answer in (("json", "application/json", b"{}"), ("pb", PROTOBUF, b"")):
        headers = {"origin": ORIGIN, "user-agent": UA_CHROME, "content-type": media_type}
        for signal in ("traces", "logs-load", "logs-click"):
            path = "/ingest/otlp/shop/v1/" + signal.split("-")[0]
            r = await client.post(
                path, content=recorded(f"otlp-{signal}.{suffix}"), headers=headers
            )
            assert (r.status_code, r.content) == (200, answer), r.text
    assert rows(server, "SELECT action_type, count(*) FROM actions GROUP BY 1 ORDER BY 1") == [
        ("load", 2),
        ("xhr", 2),
    ]
    assert rows(server, "SELECT error_type, count(*) FROM errors GROUP BY 1 ORDER BY 1") == [
        ("js", 4),
        ("request", 2),
    ]


@pytestmark_anyio
async def test_unknown_ingest_formats_are_not_found(client: httpx.AsyncClient) -> None:
    paths = ("/ingest/nope/shop", "/ingest/boomerang/", "/ingest/boomerang/shop/x")
    for path in (*paths, "/ingest/otlp/shop", "/ingest/otlp/shop/v1/metrics"):
        r = await client.post(path, content=b"x")
        assert (r.status_code, r.headers["x-openrum-reason"]) == (404, "unknown_ingest_path")
