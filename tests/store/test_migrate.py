"""``openrum migrate``: a DuckDB installation moved to ClickHouse (chdb) keeps every row, and a
second run stores nothing twice."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openrum.cli import main
from openrum.enrich.pipeline import Pipeline
from openrum.query.model import Query
from openrum.query.sql import run_query
from openrum.rows import Batch
from openrum.settings import Settings
from openrum.store import open_store
from openrum.store.base import App, ErrorStatus, Token
from tests.conftest import start_server, stop_server
from tests.store.conftest import recycle, url_for
from tests.store.test_contract import ACTIONS, ERRORS, closed_session, table, touch
from tests.store.test_diagnostics import SHOP, diag, raw

TABLES = ("actions", "errors", "user_events", "sessions", "diagnostics")


def counts(url: str) -> list[object]:
    store = open_store(url)
    try:
        out: list[object] = [store.select(f"SELECT count(*) FROM {t}", [])[1][0][0] for t in TABLES]
        out.append(store.select("SELECT count(*) FROM sessions WHERE closed", [])[1][0][0])
        out.append(store.select("SELECT round(sum(duration), 3) FROM actions", [])[1][0][0])
        out += [[a.id for a in store.list_apps()], [t.id for t in store.list_tokens()]]
        out.append(store.error_statuses("shop"))
        return out
    finally:
        store.close()


@pytest.fixture(params=["chdb", "clickhouse"])
def target_url(request: pytest.FixtureRequest, chdb_path: Path, tmp_path: Path) -> Iterator[str]:
    """A fresh ClickHouse store to migrate to: in process (chdb) or over HTTP (clickhouse://)."""
    url, database = url_for(request.param, chdb_path, tmp_path)
    yield url
    if request.param == "clickhouse":
        recycle("clickhouse", database, chdb_path)


def test_migrate_to_clickhouse(tmp_path: Path, target_url: str) -> None:
    source_url = f"duckdb:///{tmp_path / 'old.duckdb'}"
    source = open_store(source_url)
    source.create_app(App(id="shop", name="Shop", origins=[], created=1))
    source.save_token(Token(id="t1", name="ci", token_hash="h", created=2))
    source.save_error_status(ErrorStatus("shop", "fp1", "ignored", 3, "admin", events=10))
    source.write(Batch(actions=table(ACTIONS), errors=table(ERRORS)))
    source.write(Batch(sessions=table([touch(0, 5000, "/a"), touch(0, 10, "/b", sid="s2")])))
    assert source.close_sessions(closed_session(source)) == 1
    diagnosed = Pipeline(Settings.load({}, environ={}), [SHOP]).run([raw("s3", [diag(1)])])
    source.write(Batch(diagnostics=diagnosed.diagnostics))
    source.close()
    args = ["migrate", "--from", source_url, "--to", target_url, "--batch-rows", "100"]
    assert main(args) == 0
    expected = counts(source_url)
    assert counts(target_url) == expected
    assert main(args) == 0  # again: nothing stored twice
    assert counts(target_url) == expected


def test_progress_bar() -> None:
    from openrum.migrate import Progress

    out = io.StringIO()
    p = Progress(200, out, width=10)
    p.step("actions", 100)
    assert "[#####     ]  50% 100 / 200 rows" in out.getvalue()


# Every table a server fills, each with the columns that order its rows.
SERVED = {
    "applications": "id",
    "actions": "app, eid",
    "errors": "app, eid",
    "user_events": "app, eid",
    "sessions": "app, session_id",
    "users": "username",
    "auth_sessions": "id_hash",
    "tokens": "id",
    "audit_log": "time, action, actor",
}
QUERIES = [
    {"metrics": ["count", "page_views", "sessions", "apdex", "errors", "error_sessions"]},
    {"metrics": ["count", "duration:avg", "lcp:max"], "dimensions": ["browser", "country"]},
    {"metrics": ["completed_sessions", "live_sessions", "bounce_rate"], "dimensions": ["device"]},
    {"metrics": ["errors"], "dimensions": ["error_type", "fingerprint"]},
    {"metrics": ["count"], "interval": "1d"},
]


def _plain(value: Any) -> Any:
    """A value as both engines give it back: times as epoch ms, JSON text parsed, floats
    rounded, ClickHouse's arrays as lists."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return round(value.timestamp() * 1000)
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, str) and value[:1] in "{[":
        return json.loads(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def rows_of(url: str, tables: dict[str, str]) -> dict[str, list[list[Any]]]:
    """Every row of each table, in the columns DuckDB has (the ClickHouse tables add some)."""
    duck_cols: dict[str, list[str]] = {}
    store = open_store(url)
    try:
        out = {}
        for name, order in tables.items():
            if store.engine == "duckdb":
                # Less the number DuckDB keeps for an action's session (its migration 017).
                described = store.select(f"DESCRIBE {name}", [])[1]
                duck_cols[name] = [r[0] for r in described if r[0] != "session_key"]
            cols = COLUMNS.setdefault(name, duck_cols.get(name, []))
            _, rows = store.select(f"SELECT {', '.join(cols)} FROM {name} ORDER BY {order}", [])
            out[name] = [_plain(list(row)) for row in rows]
        return out
    finally:
        store.close()


COLUMNS: dict[str, list[str]] = {}


def answers(url: str, app: str) -> list[list[dict[str, Any]]]:
    settings = Settings.load({}, environ={})
    # Exact answers on both engines (the approximate ones are each engine's own estimate).
    settings = dataclasses.replace(
        settings, query_approximate_percentiles=False, query_approximate_sessions=False
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    span = {"start": (now - dt.timedelta(days=9)).isoformat(), "end": now.isoformat()}
    store = open_store(url)
    try:
        out = []
        for q in QUERIES:
            rows = run_query(store, Query(app=app, **span, **q), settings, now)["rows"]
            out.append([{k: _plain(v) for k, v in row.items()} for row in rows])
        return out
    finally:
        store.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file after ``openrum demo`` and a few seconds of ``openrum serve`` (a login, a
    token, the session closer, the audit log): made once, copied by each test."""
    data = tmp_path_factory.mktemp("served") / "data"
    run = [sys.executable, "-m", "openrum"]
    subprocess.run(
        [*run, "demo", "--data", str(data), "--sessions", "60", "--days", "2"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    server = start_server(data, env={"OPENRUM_ADMIN_PASSWORD": "a long enough password"})
    try:
        form = b"username=admin&password=a+long+enough+password"
        status, _, _ = server.post(
            "/login", form, {"content-type": "application/x-www-form-urlencoded",
                             "origin": server.url}, auth=False,
        )  # fmt: skip
        assert status in (200, 303)  # (urllib follows the redirect)
        status, _, _ = server.post("/api/v1/tokens", b'{"name": "ci"}')
        assert status in (200, 201)
        time.sleep(2)  # the closer's first round
    finally:
        stop_server(server)
    return data / "openrum.duckdb"


def test_migrate_after_a_server_has_run(served: Path, tmp_path: Path, target_url: str) -> None:
    """Issue #20: ``openrum demo``, ``openrum serve`` for a few seconds, then ``openrum migrate``
    failed on the times a server stamps ("Casting from timestamp[us, tz=UTC] to timestamp[ms,
    tz=UTC] would lose data"). Afterwards both engines hold the same rows in every table and
    answer the query API alike."""
    for f in served.parent.glob(served.name + "*"):  # (with a write-ahead log, if any)
        shutil.copy(f, tmp_path / f.name)
    source_url = f"duckdb:///{tmp_path / 'openrum.duckdb'}"
    args = ["migrate", "--from", source_url, "--to", target_url, "--batch-rows", "500"]
    assert main(args) == 0
    expected = rows_of(source_url, SERVED)
    assert all(expected[t] for t in SERVED)  # a server filled each
    closed = COLUMNS["sessions"].index("closed")
    assert any(row[closed] for row in expected["sessions"])
    assert rows_of(target_url, SERVED) == expected
    assert answers(target_url, "demo") == answers(source_url, "demo")
    assert main(args) == 0  # again: nothing stored twice
    assert rows_of(target_url, SERVED) == expected
