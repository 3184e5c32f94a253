"""The sessions API on a real `openrum serve` process (docs/api.md "Sessions"): live sessions'
counts, filters and pages in SQL, synthetic traffic left out by default, bad parameters 400."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.beacons import beacon, encode, load_action, now_ms
from tests.conftest import UA_CHROME, LiveServer, start_server, stop_server
from tests.test_wire import HEADERS, create_app

UA_HEADLESS = UA_CHROME.replace("Chrome/", "HeadlessChrome/")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("sessions") / "data"
    s = start_server(data, env={"OPENRUM_SESSION_CLOSE_INTERVAL_S": "1"})
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def app(server: LiveServer) -> str:
    return create_app(server)


def sessions(server: LiveServer, **params: str) -> tuple[int, dict[str, Any]]:
    status, _, raw = server.request("GET", "/api/v1/sessions?" + urlencode(params))
    return status, json.loads(raw)


def until(fn: Any, ok: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if ok(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def send(server: LiveServer, body: dict[str, Any], ua: str = UA_CHROME) -> None:
    status, _, raw = server.post("/api/v1/beacon", encode(body), {**HEADERS, "user-agent": ua})
    assert status == 202, raw


def test_the_sessions_list_as_a_user_reads_it(server: LiveServer, app: str) -> None:
    t = now_ms() - 60_000
    # A live session with a 404 and a rage click of 4 clicks (the agent's rage_click event).
    send(server, beacon(app, sid="live", url="https://shop.example/cart", events=[
        load_action("a1", start=t, url="https://shop.example/cart"),
        {"kind": "error", "id": "e1", "type": "request", "time": t + 2000,
         "message": "GET /api/stock 404", "status": 404, "url": "https://shop.example/cart"},
        {"kind": "user", "id": "r1", "type": "rage_click", "time": t + 3000, "count": 4,
         "value": "button#pay"},
    ]))  # fmt: skip
    # A session that ended: an action, then a rage click 3 s after it ended.
    send(server, beacon(app, sid="ended", events=[
        load_action("b1", start=t - 10_000, duration=1790.0),
        {"kind": "user", "id": "r2", "type": "rage_click", "time": t - 6_000, "count": 3},
        {"kind": "user", "id": "end", "type": "session_end", "time": t - 5_000},
    ]))  # fmt: skip
    send(server, beacon(app, sid="robot", events=[load_action("c1", start=t + 1000)]), UA_HEADLESS)
    span = {"app": app, "from": "2020-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}

    _, body = until(
        lambda: sessions(server, **span),
        lambda r: [s.get("live") for s in r[1]["sessions"]][-2:] == [True, False],
    )
    listed = {s["session_id"]: s for s in body["sessions"]}
    live = listed["live"]
    assert (live["actions"], live["errors"], live["rage_clicks"]) == (1, 1, 1)
    assert live["duration"] is None  # live sessions get no duration yet (RUM.md)
    assert set(listed) == {"live", "ended"}, "synthetic traffic is left out by default"
    assert body["next"] is None
    # One duration: end of the last action − start of the first, in the list and the page.
    assert listed["ended"]["duration"] == 1790.0
    status, _, raw = server.request("GET", f"/api/v1/sessions/ended?app={app}")
    assert status == 200 and json.loads(raw)["session"]["duration"] == 1790.0
    page = json.loads(server.request("GET", f"/api/v1/sessions/live?app={app}")[2])
    assert (page["session"]["errors"], page["session"]["rage_clicks"]) == (1, 1)
    assert page["vitals"][0]["lcp_rating"] == "good"

    def ids(**params: str) -> list[str]:
        status, got = sessions(server, **span, **params)
        assert status == 200, got
        return [s["session_id"] for s in got["sessions"]]

    assert ids(user_type="all") == ["robot", "live", "ended"]
    assert ids(user_type="synthetic") == ["robot"]
    assert ids(with_errors="true") == ["live"]
    assert ids(with_rage_clicks="1") == ["live", "ended"]
    assert ids(with_rage_clicks="1", live="1") == ["live"]
    filters = json.dumps([["page", "is", "/cart"], ["browser", "is", "Chrome"]])
    assert ids(filters=filters) == ["live"]
    # Page by page, with the cursor.
    seen, cursor = [], None
    for _ in range(4):
        status, got = sessions(server, **span, user_type="all", limit="1",
                               **({"cursor": cursor} if cursor else {}))  # fmt: skip
        assert status == 200, got
        seen += [s["session_id"] for s in got["sessions"]]
        cursor = got["next"]
        if not cursor:
            break
    assert seen == ["robot", "live", "ended"]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"user_type": "robots"}, "user_type"),
        ({"cursor": "not a cursor!"}, "cursor"),
        ({"cursor": "MTIzOg"}, "cursor"),  # "123:" without a session id
        ({"cursor": "eHl6OmFi"}, "cursor"),  # "xyz:ab"
        ({"cursor": "MTIzOnMx"}, "another time range"),  # "123:s1", in 1970
        ({"cursor": "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTpzMQ"}, "cursor"),  # beyond any date
        ({"with_errors": "maybe"}, "with_errors must be true or false"),
        ({"live": "2"}, "live must be true or false"),
        ({"limit": "0"}, "limit"),
        ({"filters": '[["fingerprint", "near", "x"]]'}, "operator"),
        ({"filters": '[["no_such", "is", "x"]]'}, "unknown dimension"),
        ({"filters": '[["lcp", "is", 1]]'}, "dimension"),
        ({"filters": "[["}, "filters"),
    ],
)
def test_bad_parameters_are_400_with_a_reason(
    server: LiveServer, app: str, params: dict[str, str], reason: str
) -> None:
    status, body = sessions(server, app=app, **params)
    assert status == 400, body
    assert reason in body["error"]
