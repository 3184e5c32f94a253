"""The batch step's per-application rules, end to end through the real pipeline (DuckDB)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from openrum.collect.spool import Raw
from openrum.enrich.geo import Locator
from openrum.enrich.pipeline import Context, Pipeline
from openrum.settings import Settings
from openrum.store.base import App
from tests.beacons import beacon, encode, load_action, now_ms
from tests.conftest import UA_CHROME
from tests.enrich.mmdb import write_mmdb

BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36"
)


def raw(body: dict[str, Any], ua: str = UA_CHROME, ip: str = "198.51.100.0") -> Raw:
    return Raw(encode(body), len(body["events"]), body["sent"], ip, ua, "https://shop.example")


def run(
    raws: list[Raw], config: dict[str, Any] | None = None, settings: Settings | None = None
) -> tuple[Any, Context]:
    s = settings or Settings.load({}, environ={})
    p = Pipeline(s, [App(id="shop", name="Shop", origins=[], created=0, config=config or {})])
    ctx = Context(s)
    try:
        return p.run(raws, ctx), ctx
    finally:
        p.close()


@pytest.mark.parametrize(
    ("config", "ua", "kept", "drop_reason", "user_type"),
    [
        ({}, BOT, 0, "bot", None),  # bots dropped by default
        ({"bots": "tag"}, BOT, 1, None, "bot"),
        ({}, HEADLESS, 1, None, "synthetic"),  # synthetic monitors tagged by default
        ({"synthetic": "drop"}, HEADLESS, 0, "synthetic", None),
        ({"bots": "drop"}, UA_CHROME, 1, None, "real"),
    ],
)
def test_bots_are_dropped_or_tagged_per_app(
    config: dict[str, Any], ua: str, kept: int, drop_reason: str | None, user_type: str | None
) -> None:
    batch, ctx = run([raw(beacon("shop"), ua)], config)
    actions = batch.actions.to_pylist() if batch.actions is not None else []
    assert len(actions) == kept
    if drop_reason:
        assert ctx.drops[drop_reason] == 1
    else:
        assert actions[0]["user_type"] == user_type


def test_client_hints_reach_the_rows() -> None:
    body = beacon("shop")
    body["env"]["uach"] = {
        "brands": ["Not_A Brand/24.0.0.0", "Google Chrome/131.0.6778.86"],
        "mobile": False,
        "platform": "Windows",
        "platform_version": "15.0.0",
    }
    # As the agent sends them from 1.2 on: getHighEntropyValues's answer as it is.
    raw_hints = beacon("shop")
    raw_hints["env"]["uach"] = {
        "architecture": "x86",
        "brands": [{"brand": "Google Chrome", "version": "131"}],
        "fullVersionList": [
            {"brand": "Not_A Brand", "version": "24.0.0.0"},
            {"brand": "Google Chrome", "version": "131.0.6778.86"},
        ],
        "mobile": False,
        "model": "",
        "platform": "Windows",
        "platformVersion": "15.0.0",
    }
    batch, _ = run([raw(body), raw(raw_hints), raw(beacon("shop"))])
    rows = batch.actions.to_pylist()
    assert sorted(r["os_version"] for r in rows) == ["10", "11", "11"]
    assert rows[0]["browser_version"] == rows[1]["browser_version"] == "131.0"


def test_addresses_are_masked_then_located(tmp_path: Path) -> None:
    db = write_mmdb(
        tmp_path / "g.mmdb",
        {
            "198.51.100.0/24": {
                "country": {"iso_code": "DE"},
                "city": {"names": {"en": "Munich"}},
                "location": {"latitude": 48.137, "longitude": 11.575},
            },
            "198.51.0.0/16": {"country_code": "FR"},
        },
    )
    s = Settings.load({}, environ={})
    apps = [
        App(id="shop", name="Shop", origins=[], created=0),
        App(id="blog", name="Blog", origins=[], created=0, config={"ip_mask_level": 2}),
    ]
    p = Pipeline(s, apps, locator=Locator(db))
    batch = p.run(
        [raw(beacon("shop"), ip="198.51.100.77"), raw(beacon("blog"), ip="198.51.100.77")]
    )
    p.close()
    rows = {r["app"]: r for r in batch.actions.to_pylist()}
    assert (rows["shop"]["country"], rows["shop"]["city"], rows["shop"]["lat"]) == (
        "DE",
        "Munich",
        48.1,
    )
    assert (rows["blog"]["country"], rows["blog"]["city"]) == ("FR", None)  # two octets masked
    assert all("198.51.100.77" not in str(v) for r in rows.values() for v in r.values())


# One action of 5 s (LCP 1.5 s): its Apdex class under an application's configuration.
@pytest.mark.parametrize(
    ("config", "action", "apdex"),
    [
        ({}, {}, "T"),  # load: T = 3 s, F = 12 s
        ({}, {"duration": 2999.0}, "S"),
        ({}, {"duration": 12001.0}, "F"),
        ({}, {"type": "xhr", "duration": 2600.0, "nt": None, "vitals": {}}, "T"),  # xhr T = 2.5 s
        ({"apdex": {"load": {"t": 6000, "f": 20000}}}, {}, "S"),
        ({"apdex": {"load": {"t": 2000, "f": 8000, "metric": "lcp"}}}, {}, "S"),  # LCP 1.5 s
        # The key metric is missing: the duration is the fallback.
        ({"apdex": {"load": {"t": 2000, "f": 8000, "metric": "inp"}}}, {}, "T"),
        ({"apdex": {"custom": {"t": 100, "f": 400}}}, {"type": "custom", "name": "render"}, "F"),
        # A key user action has its own thresholds.
        ({"key_actions": {"checkout": {"t": 6000, "f": 24000}}}, {"name": "checkout"}, "S"),
        ({"key_actions": {"checkout": {"t": 1000, "f": 4000}}}, {"name": "checkout"}, "F"),
    ],
)
def test_apdex_per_app_action_type_and_key_action(
    config: dict[str, Any], action: dict[str, Any], apdex: str
) -> None:
    a = load_action("a1", **{"duration": 5000.0, **action})
    batch, _ = run([raw(beacon("shop", events=[a]))], config)
    assert batch.actions.to_pylist()[0]["apdex"] == apdex


@pytest.mark.parametrize(("config", "apdex"), [({}, "F"), ({"apdex_error_frustrates": False}, "S")])
def test_an_action_with_an_error_is_frustrated_unless_turned_off(
    config: dict[str, Any], apdex: str
) -> None:
    t = now_ms() - 5000
    events = [
        load_action("a1", start=t, duration=1000.0),
        {"kind": "error", "id": "e1", "type": "js", "time": t + 10, "message": "x", "action": "a1"},
    ]
    batch, _ = run([raw(beacon("shop", events=events))], config)
    assert batch.actions.to_pylist()[0]["apdex"] == apdex


@pytest.mark.parametrize(
    ("error_at", "duration", "errors", "apdex"),
    [
        (10, 1000.0, 1, "F"),  # during the action
        (1090, 1000.0, 1, "F"),  # stamped just after its last request ended: still in it
        (3300, 1000.0, 0, "S"),  # a background request's 404, 2.3 s after the load ended
        (3300, None, 1, "F"),  # the action had not ended when sent: it is still running
    ],
)
def test_an_error_after_its_action_ended_changes_nothing_of_it(
    error_at: int, duration: float | None, errors: int, apdex: str
) -> None:
    t = now_ms() - 10_000
    error = {"kind": "error", "id": "e1", "type": "request", "time": t + error_at,
             "message": "HTTP 404 https://docs.example/api/stats", "status": 404,
             "action": "a1"}  # fmt: skip
    events = [load_action("a1", start=t, duration=duration), error]
    batch, _ = run([raw(beacon("shop", events=events))])
    [action] = batch.actions.to_pylist()
    assert (action["errors"], action["apdex"]) == (errors, apdex)
    [stored] = batch.errors.to_pylist()  # the error itself is kept, on the page view
    assert stored["page_view_id"] == action["page_view_id"]


def test_a_csp_blocked_resource_is_one_error() -> None:
    t = now_ms() - 5000
    url = "https://cdn.example/pixel.png"
    events = [
        load_action("a1", start=t, duration=1000.0),
        {"kind": "error", "id": "e1", "type": "resource", "time": t + 10,
         "message": f"failed to load img {url}", "source": url},
        {"kind": "error", "id": "e2", "type": "csp", "time": t + 11,
         "message": f"img-src blocked {url}", "source": url},
        {"kind": "error", "id": "e3", "type": "resource", "time": t + 12,
         "message": "failed to load img https://shop.example/missing.png",
         "source": "https://shop.example/missing.png"},
    ]  # fmt: skip
    batch, ctx = run([raw(beacon("shop", events=events))])
    assert sorted(e["event_id"] for e in batch.errors.to_pylist()) == ["e2", "e3"]
    assert ctx.drops["csp_blocked_resource"] == 1


def test_the_trigger_of_an_action_is_kept_masked_and_old_agents_send_none() -> None:
    t = now_ms() - 5000
    route = {"kind": "action", "id": "r1", "type": "route_change", "start": t,
             "url": "https://docs.example/guide/", "duration": 300.0,
             "trigger": 'click on "bob@example.com"'}  # fmt: skip
    old = load_action("a1", start=t - 1000, duration=500.0)
    batch, _ = run([raw(beacon("shop", events=[old, route]))])
    rows = {r["event_id"]: r for r in batch.actions.to_pylist()}
    assert rows["r1"]["action_name"] == "route to /guide/"
    assert rows["r1"]["trigger"] == 'click on "<email>"'
    assert rows["a1"]["trigger"] is None


def test_personal_data_is_masked_in_urls_names_and_messages() -> None:
    t = now_ms() - 5000
    events = [
        load_action("a1", start=t, url="https://shop.example/u/jane@example.com/orders?x=1"),
        load_action("a2", start=t, name="click on jane@example.com", url="https://shop.example/a"),
        {"kind": "error", "id": "e1", "type": "js", "time": t, "message": "card 4111111111111111"},
    ]
    batch, _ = run([raw(beacon("shop", events=events))])
    actions = {r["event_id"]: r for r in batch.actions.to_pylist()}
    assert actions["a1"]["url"] == "https://shop.example/u/<email>/orders"
    assert actions["a1"]["page"] == "/u/<email>/orders"
    assert actions["a2"]["action_name"] == "click on <email>"
    assert batch.errors.to_pylist()[0]["message"] == "card <card>"
    # Turned off per application:
    batch, _ = run([raw(beacon("shop", events=events[1:2]))], {"mask_personal_data": False})
    assert batch.actions.to_pylist()[0]["action_name"] == "click on jane@example.com"


@pytest.mark.parametrize(
    ("name", "message", "stored"),
    [
        # Chromium's ErrorEvent.message of an uncaught TypeError (the title repeated the type)
        ("TypeError", "Uncaught TypeError: Cannot read properties of null (reading 'pay')",
         "Cannot read properties of null (reading 'pay')"),
        ("TypeError", "TypeError: x is null", "x is null"),  # Firefox and Safari
        ("RangeError", "Uncaught RangeError: bad", "bad"),
        ("TypeError", "Uncaught ReferenceError: y", "Uncaught ReferenceError: y"),  # not its name
        (None, "Uncaught boom", "Uncaught boom"),  # a thrown string: no name to take out
        ("Error", "Error: ", "Error: "),  # nothing would be left
        ("TypeError", "Unhandled rejection: declined", "Unhandled rejection: declined"),
    ],
)  # fmt: skip
def test_an_errors_type_is_not_repeated_in_its_message(
    name: str | None, message: str, stored: str
) -> None:
    t = now_ms() - 5000
    error = {"kind": "error", "id": "e1", "type": "js", "time": t, "message": message}
    batch, _ = run([raw(beacon("shop", events=[error | ({"name": name} if name else {})]))])
    [row] = batch.errors.to_pylist()
    assert row["message"] == stored and row["error_name"] == name


def test_personal_data_is_masked_in_stack_traces_which_then_group_as_one() -> None:
    t = now_ms() - 5000

    def error(eid: str, user: int, email: str) -> dict[str, Any]:
        stack = (
            f"Error: no account {email}\n"
            f"    at load (https://shop.example/u/{user}/app.js?token=abc&mail={email}:10:5)\n"
            "    at https://shop.example/static/main.js:1:2"
        )
        return {"kind": "error", "id": eid, "type": "js", "time": t, "message": "x", "stack": stack}

    events = [error("e1", 1234567, "jane@example.com"), error("e2", 7654321, "joe@example.org")]
    batch, _ = run([raw(beacon("shop", events=events))])
    rows = batch.errors.to_pylist()
    assert {r["stack"] for r in rows} == {
        "Error: no account <email>\n"
        "    at load (https://shop.example/u/<id>/app.js?token=abc&mail=<email>:10:5)\n"
        "    at https://shop.example/static/main.js:1:2"
    }
    assert len({r["fingerprint"] for r in rows}) == 1
    # Turned off per application: kept as sent, and two users' errors are two groups.
    batch, _ = run([raw(beacon("shop", events=events))], {"mask_personal_data": False})
    rows = batch.errors.to_pylist()
    assert sorted(r["stack"] for r in rows) == sorted(e["stack"] for e in events)
    assert len({r["fingerprint"] for r in rows}) == 2


def test_ttfb_of_a_page_load_from_its_navigation_timing() -> None:
    base = load_action()
    vitals = {k: v for k, v in base["vitals"].items() if k != "ttfb"}
    prerendered = {**base["nt"], "activationStart": 120}
    events = [
        load_action("a1", vitals={**vitals, "ttfb": {"id": "t", "value": 280}}),  # as sent
        load_action("a2", vitals=vitals),  # responseStart: 300
        load_action("a3", vitals=vitals, nt=prerendered),  # after activation
        load_action("a4", vitals=vitals, nt={"fetchStart": 1}),  # no responseStart: none
    ]
    batch, _ = run([raw(beacon("shop", events=events))])
    ttfb = {r["event_id"]: r["ttfb"] for r in batch.actions.to_pylist()}
    assert ttfb == {"a1": 280, "a2": 300, "a3": 180, "a4": None}


def test_inp_phases_from_the_entrys_timestamps_or_as_sent() -> None:
    raw_phase = {"startTime": 1000.4, "processingStart": 1012.9, "processingEnd": 1150.5}
    sent = {"input_delay": 13, "processing": 137, "presentation": 50}
    rows = []
    for phase in (raw_phase, sent):
        vitals = {"inp": {"id": "i", "value": 200, "target": "button#pay", "phase": phase}}
        batch, _ = run([raw(beacon("shop", events=[load_action(vitals=vitals)]))])
        [row] = batch.actions.to_pylist()
        rows.append(
            (row["inp"], row["inp_input_delay"], row["inp_processing"], row["inp_presentation"])
        )
    # As web-vitals: 1012.9 - 1000.4, 1150.5 - 1012.9, 1000.4 + 200 - 1150.5, rounded.
    assert rows == [(200, 13, 138, 50), (200, 13, 137, 50)]


def test_an_errors_position_is_its_stacks_top_frame_when_not_sent() -> None:
    stack = (
        "at checkout (https://shop.example/static/app.js:120:17)\nat https://shop.example/x.js:1:2"
    )
    base = {"kind": "error", "type": "custom", "time": now_ms(), "message": "x", "stack": stack}
    sent = {
        **base,
        "id": "e1",
        "source": "https://shop.example/static/app.js",
        "line": 120,
        "col": 17,
    }
    derived = {**base, "id": "e2"}  # as the agent sends it from 1.2 on
    batch, _ = run([raw(beacon("shop", events=[sent])), raw(beacon("shop", events=[derived]))])
    rows = [(r["source"], r["line"], r["col"], r["fingerprint"]) for r in batch.errors.to_pylist()]
    assert rows[0] == rows[1]
    assert rows[0][:3] == ("https://shop.example/static/app.js", 120, 17)
    # A position too large for a column, or a stack not of the agent's format: none.
    for odd in (
        "at f (https://shop.example/a.js:1234567890123456:1)",
        "Error: x\n  at f (a.js:1:2)",
    ):
        batch, _ = run([raw(beacon("shop", events=[{**base, "id": "e3", "stack": odd}]))])
        [row] = batch.errors.to_pylist()
        assert (row["source"], row["line"], row["col"]) == (None, None, None)


@pytest.mark.parametrize(
    ("action", "duration", "frontend", "apdex", "cleared"),
    [
        # frontend = duration - server (responseStart - requestStart: 200)
        #          - network (requestStart 100 + responseEnd - responseStart 50)
        ({}, 1800.0, 1450.0, "S", 0),
        ({"duration": 500_000.0}, 180_000.0, 179_650.0, "F", 0),  # capped at 3 min
        ({"duration": -5.0}, None, None, None, 1),  # out of range: cleared, no class
        ({"duration": None}, None, None, None, 0),  # none sent: none stored, not the cap
    ],
)
def test_the_duration_is_checked_capped_and_kept_unknown(
    action: dict[str, Any],
    duration: float | None,
    frontend: float | None,
    apdex: str | None,
    cleared: int,
) -> None:
    a = {k: v for k, v in {**load_action("a1"), **action}.items() if v is not None}
    batch, ctx = run([raw(beacon("shop", events=[a]))])
    row = batch.actions.to_pylist()[0]
    assert (row["duration"], row["frontend_time"], row["apdex"]) == (duration, frontend, apdex)
    assert ctx.drops["value_out_of_range"] == cleared


def test_page_groups_and_the_page_cap() -> None:
    t = now_ms() - 5000
    events = [load_action(f"a{i}", start=t, url=f"https://shop.example/p{i}") for i in range(5)]
    events.append(load_action("g", start=t, url="https://shop.example/products/123"))
    config = {"max_pages": 3, "page_groups": [{"pattern": "/products/*", "group": "Products"}]}
    batch, _ = run([raw(beacon("shop", events=events))], config)
    pages = sorted(r["page"] for r in batch.actions.to_pylist())
    assert pages == ["/p0", "/p1", "/p2", "Other", "Other", "Other"]  # "Products" came 4th
    batch, _ = run([raw(beacon("shop", events=events[-1:]))], config)
    assert batch.actions.to_pylist()[0]["page"] == "Products"


def test_beacons_without_an_app_are_detected_or_dropped() -> None:
    s = Settings.load({"app_detection_rules": "shop.example=shop", "default_app": ""}, environ={})
    on_shop = beacon("", url="https://shop.example/x")
    elsewhere = beacon(
        "", url="https://other.example/x", events=[load_action(url="https://other.example/x")]
    )
    batch, ctx = run([raw(on_shop), raw(elsewhere)], settings=s)
    assert [r["app"] for r in batch.actions.to_pylist()] == ["shop"]
    assert ctx.drops["unknown_app"] == 1
    s = Settings.load({"default_app": "fallback"}, environ={})
    batch, _ = run([raw(elsewhere)], settings=s)
    assert [r["app"] for r in batch.actions.to_pylist()] == ["fallback"]


def test_a_batch_enriched_in_chunks_makes_the_same_rows_one_per_session() -> None:
    """A batch is enriched a chunk of beacons at a time, each session's beacons in one chunk: the
    rows are those of the whole batch at once, and each session has one row."""
    from openrum import demo

    raws = [r for _, r in demo.traffic(300, 1, 3, "shop", now_ms())]
    whole, whole_ctx = run(
        raws, settings=Settings.load({"batch_step_chunk_beacons": "100000"}, environ={})
    )
    chunked, chunked_ctx = run(
        raws, settings=Settings.load({"batch_step_chunk_beacons": "7"}, environ={})
    )
    sessions = chunked.sessions.to_pylist()
    assert len(sessions) == len({(s["app"], s["session_id"]) for s in sessions}) == 300
    by_session = sum(r.events for r in raws) / 300
    assert by_session > 5  # sessions of several beacons, split across chunks if grouped wrong
    for name, table in whole.tables().items():
        key = "session_id" if name == "sessions" else "eid"
        assert sorted(table.to_pylist(), key=lambda r: (r[key], str(r))) == sorted(
            getattr(chunked, name).to_pylist(), key=lambda r: (r[key], str(r))
        ), name
    assert chunked_ctx.drops == whole_ctx.drops
