"""Error triage: the transitions (openrum/triage.py) and the API over a real `openrum serve`:
who may change a status (roles, CSRF), bad requests, the status filter and sort of the list, the
audit of every change, and a resolved group that is seen again shown as regressed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from openrum import triage
from openrum.store.base import ErrorStatus
from tests.beacons import beacon, encode, load_action, now_ms
from tests.browser.conftest import poll
from tests.conftest import UA_CHROME, LiveServer, start_server, stop_server

T = 1_800_000_000_000  # epoch ms


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"status": "resolved"}, None),
        ({"status": "resolved", "release": "1.2"}, None),
        ({"status": "ignored", "until": T + 1, "events": 5, "sessions": 2}, None),
        ({"status": "unresolved"}, None),
        ({"status": "regressed"}, "status must be one of"),  # only the events regress a group
        ({"status": "deleted"}, "status must be one of"),
        ({"status": "ignored", "release": "1.2"}, "a release goes with resolved"),
        ({"status": "resolved", "release": " "}, "a release goes with resolved"),
        ({"status": "resolved", "events": 3}, "go with ignored"),
        ({"status": "unresolved", "until": T + 1}, "go with ignored"),
        ({"status": "ignored", "until": T}, "in the future"),
        ({"status": "ignored", "events": 0}, "events must be 1 or more"),
        ({"status": "ignored", "sessions": -1}, "sessions must be 1 or more"),
    ],
)
def test_a_change_is_checked(kw: dict[str, Any], error: str | None) -> None:
    if error is None:
        s = triage.change("shop", "fp", actor="admin", now_ms=T, **kw)
        assert (s.status, s.changed, s.actor) == (kw["status"], T, "admin")
    else:
        with pytest.raises(triage.TriageError, match=error):
            triage.change("shop", "fp", actor="admin", now_ms=T, **kw)


AT = dt.datetime(2027, 1, 15, 8, 0)


@pytest.mark.parametrize(
    ("stored", "since", "now", "status"),
    [
        (None, triage.Since(), T, "unresolved"),
        (ErrorStatus("a", "f", "resolved", T, "x"), triage.Since(9, 9), T, "resolved"),
        (ErrorStatus("a", "f", "resolved", T, "x"), triage.Since(1, 1, AT), T, "regressed"),
        (ErrorStatus("a", "f", "ignored", T, "x"), triage.Since(1e6, 1e6), T, "ignored"),
        (ErrorStatus("a", "f", "ignored", T, "x", until=T + 5), triage.Since(), T + 4, "ignored"),
        (
            ErrorStatus("a", "f", "ignored", T, "x", until=T + 5),
            triage.Since(),
            T + 5,
            "unresolved",
        ),
        (ErrorStatus("a", "f", "ignored", T, "x", events=3), triage.Since(2.9, 1), T, "ignored"),
        (ErrorStatus("a", "f", "ignored", T, "x", events=3), triage.Since(3, 1), T, "unresolved"),
        (ErrorStatus("a", "f", "ignored", T, "x", sessions=2), triage.Since(9, 1), T, "ignored"),
        (ErrorStatus("a", "f", "ignored", T, "x", sessions=2), triage.Since(9, 2), T, "unresolved"),
        (ErrorStatus("a", "f", "unresolved", T, "x"), triage.Since(1, 1, AT), T, "unresolved"),
    ],
)
def test_what_a_group_shows(
    stored: ErrorStatus | None, since: triage.Since, now: int, status: str
) -> None:
    assert triage.shown(stored, since, now)["status"] == status


# -- the API over a real server -------------------------------------------------------------------
PASSWORD = "triage password 42"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("triage") / "data"
    live = start_server(data, env={"OPENRUM_ADMIN_PASSWORD": PASSWORD})
    for app in ("shop", "blog"):
        live.cli("apps", "create", app.title(), "--id", app, "--origin", "*")
    yield live
    stop_server(live)


def send_error(server: LiveServer, message: str, release: str = "1.0.0", sid: str = "") -> None:
    body = beacon(
        "shop",
        [load_action(f"a{now_ms()}{message}"),
         {"kind": "error", "id": f"e{now_ms()}{message}", "type": "js", "time": now_ms(),
          "message": message}],
        sid=sid or None,
        env={"conn": "4g", "release": release},
    )  # fmt: skip
    headers = {"content-type": "text/plain", "user-agent": UA_CHROME}
    status, _, raw = server.post("/api/v1/beacon", encode(body), headers, auth=False)
    assert status == 202, raw


def api(server: LiveServer, method: str, path: str, body: Any = None, **headers: str) -> Any:
    data = None if body is None else json.dumps(body).encode()
    status, _, raw = server.request(method, path, data, {"content-type": "application/json",
                                                         **headers})  # fmt: skip
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:  # the auth layer answers in plain text
        return status, raw.decode()


def groups(server: LiveServer, query: str = "") -> dict[str, dict[str, Any]]:
    _, found = api(server, "GET", f"/api/v1/errors?app=shop&range=1h{query}")
    return {g["message"]: g for g in found["groups"]}


def token(server: LiveServer, app: str | None, read_only: bool) -> str:
    status, out = api(server, "POST", "/api/v1/tokens",
                      {"name": f"t{now_ms()}", "app": app, "read_only": read_only})  # fmt: skip
    assert status == 201, out
    return str(out["token"])


def test_statuses_over_the_api(server: LiveServer) -> None:
    for message in ("alpha broke", "beta broke", "gamma broke"):
        send_error(server, message)
    found = poll(lambda: groups(server), lambda g: len(g) == 3)
    fp = {m: g["fingerprint"] for m, g in found.items()}
    assert {g["status"] for g in found.values()} == {"unresolved"}
    path = "/api/v1/errors/status"
    change = {"app": "shop", "fingerprints": [fp["alpha broke"], fp["beta broke"]],
              "status": "resolved"}  # fmt: skip

    # Who may: not a read-only token, not another application's token.
    for tok in (token(server, "shop", True), token(server, "blog", False)):
        status, _ = api(server, "POST", path, change, authorization=f"Bearer {tok}")
        assert status == 403
    # Bad requests say why.
    for body, code, why in [
        ({**change, "status": "gone"}, 400, "status must be one of"),
        ({**change, "status": "ignored", "release": "2"}, 400, "a release goes with resolved"),
        ({**change, "fingerprints": []}, 400, "1 to 1000"),
        ({**change, "fingerprints": ["nope"]}, 404, "no error group 'nope'"),
        ({**change, "until": "yesterday"}, 400, "not an ISO-8601 time"),
        ({**change, "app": "none"}, 404, "no application"),
        ({**change, "colour": "red"}, 400, "unknown field"),
    ]:
        status, out = api(server, "POST", path, body)
        assert status == code and why in out["error"], (body, out)
    status, _, raw = server.post(path, b"{not json", {"content-type": "application/json"})
    assert status == 400 and b"malformed JSON" in raw

    # A signed-in user needs the CSRF token of the login.
    with httpx.Client(base_url=server.url) as c:
        r = c.post("/login", data={"username": "admin", "password": PASSWORD},
                   headers={"origin": server.url})  # fmt: skip
        assert r.status_code == 303
        csrf = c.get("/api/v1/me").json()["csrf"]
        assert c.post(path, json=change).status_code == 403
        assert c.post(path, json=change, headers={"x-csrf-token": "forged"}).status_code == 403
        r = c.post(path, json=change, headers={"x-csrf-token": csrf})
        assert r.status_code == 200, r.text
        assert sorted(r.json()["changed"], key=lambda x: x["fingerprint"]) == sorted(
            [{"fingerprint": fp[m], "from": "unresolved", "to": "resolved"}
             for m in ("alpha broke", "beta broke")],
            key=lambda x: x["fingerprint"],
        )  # fmt: skip
    # An application's token that may write can; ignoring until 100 more events.
    tok = token(server, "shop", False)
    ignore = {"app": "shop", "fingerprints": [fp["gamma broke"]], "status": "ignored",
              "events": 100}  # fmt: skip
    status, out = api(server, "POST", path, ignore, authorization=f"Bearer {tok}")
    assert status == 200 and out["changed"][0]["from"] == "unresolved"

    found = groups(server)
    assert found["alpha broke"]["status"] == "resolved"
    assert found["alpha broke"]["status_by"] == "admin"
    assert found["gamma broke"]["status"] == "ignored"
    assert found["gamma broke"]["ignored_events"] == 100
    assert set(groups(server, "&status=resolved")) == {"alpha broke", "beta broke"}
    assert set(groups(server, "&status=unresolved,regressed")) == set()
    status, out = api(server, "GET", "/api/v1/errors?app=shop&status=gone")
    assert status == 400 and "status must be" in out["error"]
    status, out = api(server, "GET", "/api/v1/errors?app=shop&sort=size")
    assert status == 400 and "sort must be" in out["error"]

    # Seen again after it was resolved: regressed, at once; the others stay as they were.
    send_error(server, "alpha broke", release="1.0.1")
    poll(lambda: groups(server)["alpha broke"], lambda g: g["status"] == "regressed")
    found = groups(server, "&status=unresolved,regressed")
    assert set(found) == {"alpha broke"} and found["alpha broke"]["regressed_at"]
    assert groups(server)["beta broke"]["status"] == "resolved"

    # Every change is audited: who, when, from, to (the group's history).
    status, out = api(server, "POST", path, {**change, "fingerprints": [fp["alpha broke"]]})
    assert status == 200 and out["changed"][0]["from"] == "regressed"
    status, detail = api(server, "GET", f"/api/v1/errors/{fp['alpha broke']}?app=shop&range=1h")
    assert status == 200
    moves = [(h["actor"], h["from"], h["to"]) for h in detail["history"]]
    # The administrator key of the CLI, then the signed-in admin.
    assert moves == [("cli", "regressed", "resolved"), ("admin", "unresolved", "resolved")]
    assert all(h["time"].endswith("Z") for h in detail["history"])
    assert detail["group"]["status"] == "resolved"


def test_a_group_in_detail(server: LiveServer) -> None:
    # Two releases, two sessions; a click before the error in one of them.
    sid = f"sess{now_ms()}"
    body = beacon("shop", [load_action(f"d{now_ms()}")], sid=sid,
                  env={"conn": "4g", "release": "3.0"})  # fmt: skip
    headers = {"content-type": "text/plain", "user-agent": UA_CHROME}
    assert server.post("/api/v1/beacon", encode(body), headers, auth=False)[0] == 202
    send_error(server, "delta broke", release="3.0", sid=sid)
    send_error(server, "delta broke", release="3.1")
    found = poll(lambda: groups(server), lambda g: g.get("delta broke", {}).get("errors") == 2)
    fp = found["delta broke"]["fingerprint"]
    _, d = api(server, "GET", f"/api/v1/errors/{fp}?app=shop&range=1h")
    assert (d["first_release"], d["last_release"]) == ("3.0", "3.1")
    assert [(r["release"], r["errors"]) for r in d["per_release"]] == [("3.0", 1), ("3.1", 1)]
    assert {r["device"] for r in d["by_device"]} and {r["os"] for r in d["by_os"]}
    assert len(d["sessions"]) == 2 and sid in {s["session_id"] for s in d["sessions"]}
    sample = next(s for s in d["samples"] if s["session_id"] == sid)
    crumbs = sample["breadcrumbs"]
    assert [c["kind"] for c in crumbs] == ["action", "action"]  # the page load, then the error's
    assert all(c["time"] <= sample["time"] for c in crumbs)
    assert "users" in d
