"""The embedded default store: one DuckDB file, written by one thread, read concurrently.

Batches go in as Arrow tables (DuckDB scans them without a per-row Python loop). Re-sent events
are found by ``eid`` among the recently received rows: errors and user events are kept once; an
action re-sent with a later beacon sequence (vitals reported again after the page came back)
replaces the older row. A batch's sessions are found the same way, among the sessions touched
recently. No table here has an index that grows with the store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.resources
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from openrum.query import rollup_duckdb
from openrum.rows import Batch
from openrum.settings import Settings, background
from openrum.store.base import (
    App,
    CheckResult,
    Delivery,
    ErrorStatus,
    Incident,
    LoginSession,
    StoreError,
    Token,
)

log = logging.getLogger("openrum.store")

# A batch's sessions: the stored row of each (found like a re-sent event, below, among the rows
# received in the window before the batch) takes the batch's touch, unless closed; the others go
# in. One touch per session in each statement (``_write_touches``).
_SESSIONS_UPDATE = """
UPDATE sessions SET
    entry_page = CASE WHEN b.start < sessions.start THEN b.entry_page ELSE sessions.entry_page END,
    start = least(sessions.start, b.start),
    exit_page = CASE WHEN b.last_seen >= sessions.last_seen
                     THEN b.exit_page ELSE sessions.exit_page END,
    last_seen = greatest(sessions.last_seen, b.last_seen),
    last_received = greatest(sessions.last_received, b.last_received),
    user_tag = coalesce(b.user_tag, sessions.user_tag),
    ended = sessions.ended OR b.ended
FROM ({touches}) AS b
WHERE sessions.last_received >= $floor AND sessions.app = b.app
    AND sessions.session_id = b.session_id
    AND NOT sessions.closed  -- a closed session stays as closed (events stay at event level)
"""
_SESSIONS_INSERT = """
INSERT INTO sessions BY NAME SELECT * FROM ({touches}) AS b WHERE NOT EXISTS (
    SELECT 1 FROM sessions WHERE sessions.last_received >= $floor AND sessions.app = b.app
        AND sessions.session_id = b.session_id)
"""
# The number of each action's and each error's session (migrations 017 and 019: distinct sessions
# are counted by it, errors matched to frustrated sessions by it), computed as the row is stored.
# A batch comes without it; ``delta`` has the column from the stored versions it replaces, null
# for the batch's rows.
SESSION_KEY = "md5_number_lower(session_id) AS session_key"
_KEYED = ("actions", "errors")
# The session closer's values, once (openrum/sessions.py): a closed session is not touched again.
# Those it scored frustrating with errors also go into ``session_frustrated`` (migration 019).
_CLOSE_SESSIONS = """
UPDATE sessions SET closed = true, end_reason = b.end_reason, duration = b.duration,
    actions = b.actions, errors = b.errors, rage_clicks = b.rage_clicks, bounce = b.bounce,
    ux_score = b.ux_score
FROM batch AS b
WHERE sessions.app = b.app AND sessions.session_id = b.session_id AND NOT sessions.closed
RETURNING sessions.app, sessions.start, sessions.session_id,
    sessions.ux_score = 'frustrating' AND sessions.errors > 0 AS frustrated
"""
_EXPIRE_FRUSTRATED = f"""
DELETE FROM session_frustrated WHERE app = ? AND start < make_timestamp_ms(?) AND session_key IN (
    SELECT {SESSION_KEY} FROM sessions
    WHERE app = ? AND start < make_timestamp_ms(?) AND last_seen < make_timestamp_ms(?))
"""
_FRUSTRATED = (
    f"INSERT INTO session_frustrated SELECT app, start, {SESSION_KEY} FROM frustrated "
    "ORDER BY start"
)
_EVENT_TABLES = ("actions", "errors", "user_events")
# Erased and exported with a session's events; expired by their own retention.
_DIAG_TABLES = ("diagnostics",)
# Re-sent events (a beacon sent again, or spooled beacons stored again after a crash) are found
# among the rows received since the batch's earliest receive time less ``resend_window_s``: the
# event tables have no index (an index of every stored key would grow with the store, and DuckDB
# holds it whole in memory), and rows go in in about the order they are received, so the zone
# maps of `received` skip every older row group. The batch is the small side of each join.
_STORED = "{table}.received >= $floor AND {table}.eid IN (SELECT eid FROM batch)"
# Errors and user events: kept once.
_INSERT_NEW = (
    "INSERT INTO {table} BY NAME SELECT *{key} FROM batch WHERE eid NOT IN "
    "(SELECT eid FROM {table} WHERE " + _STORED + ")"
)
# Actions: an action re-sent with a higher beacon sequence (vitals reported again) replaces the
# stored row. The rollups take in exactly what changed: +1 for each row stored now, -1 for each
# row replaced.
_FOUND = "CREATE OR REPLACE TEMP TABLE found AS SELECT * FROM actions WHERE " + _STORED.format(
    table="actions"
)
_REPLACED = (
    "CREATE OR REPLACE TEMP TABLE replaced AS SELECT f.*, -1 AS sign FROM found AS f "
    "JOIN batch AS b ON f.eid = b.eid WHERE b.seq > f.seq"
)
_DELETE_REPLACED = (
    "DELETE FROM actions WHERE received >= $floor AND eid IN (SELECT eid FROM replaced)"
)
_DELTA = (
    "CREATE OR REPLACE TEMP TABLE delta AS SELECT *, 1 AS sign FROM batch "
    "WHERE eid NOT IN (SELECT eid FROM found) OR eid IN (SELECT eid FROM replaced) "
    "UNION ALL BY NAME SELECT * FROM replaced"
)
# Each a script run by one call: the writer thread takes the interpreter lock back once, not
# once a statement (each time, the event loop hands it over and waits).
_ADD = ";\n".join(rollup_duckdb.add_sql("delta"))  # partial rows, summed by ``_compact``
_COMPACT = ";\n".join(rollup_duckdb.compact_sql())


# A batch's earliest receive time, and whether some of its rows share their keys (batches joined
# after a failure may repeat an event, or touch a session more than once). In SQL, not with
# pyarrow's compute functions: their first use takes about 10 MB in the server process.
_SEEN = (
    "SELECT min({received}), EXISTS (SELECT 1 FROM batch GROUP BY {keys} HAVING count(*) > 1) "
    "FROM batch"
)
# One row per event key, the highest ``order`` (seq for actions, time for the others).
_LATEST = (
    "SELECT * FROM batch QUALIFY row_number() OVER (PARTITION BY eid ORDER BY {order} DESC) = 1"
)


_DEFAULTS = Settings()
# Alert rules, channels and silences: JSON documents by id (openrum/alerts/).
_ALERT_TABLES = {
    "rules": "alert_rules",
    "channels": "alert_channels",
    "silences": "alert_silences",
    "checks": "alert_checks",
}


class DuckDBStore:
    """The Store protocol on one DuckDB file."""

    engine = "duckdb"

    def __init__(
        self,
        path: str | Path,
        memory_limit: str = f"{_DEFAULTS.store_memory_mb}MB",
        checkpoint: str = f"{_DEFAULTS.store_checkpoint_mb}MB",
        workers_priority: tuple[int, bool] | None = None,
        compact_every: int = 30,
        resend_window_s: float = _DEFAULTS.resend_window_s,
    ) -> None:
        self.path = str(path)
        self._resend_window = dt.timedelta(seconds=resend_window_s)
        # Rollups: the (app, hour) pairs written since the last compaction, and how many writes.
        self._compact_every = compact_every
        self._written: set[tuple[str, dt.datetime]] = set()
        self._writes = 0
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": memory_limit,
            "checkpoint_threshold": checkpoint,
            # A top-N (the sessions list's page, the actions table) sorts its keys alone and reads
            # the other columns of the N rows only: DuckDB does up to 50 rows by default, a page
            # can hold 1,000 and a look-ahead row.
            "late_materialization_max_rows": 1001,
        }
        self._priority = workers_priority
        self._con = self._connect()
        self._local = threading.local()
        self._reads = 0  # selects running (``rest`` waits for none)
        self._gate = threading.Lock()
        self.migrate()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """Open the file. DuckDB starts its worker threads here, and they keep the priority of
        the thread that starts them: with ``workers_priority`` (niceness, idle class:
        ``settings.background``), a thread of that priority opens it."""

        def connect() -> duckdb.DuckDBPyConnection:
            return duckdb.connect(self.path, config=self._config)

        try:
            if self._priority is None:
                return connect()
            with ThreadPoolExecutor(1, initializer=background, initargs=self._priority) as pool:
                return pool.submit(connect).result()
        except duckdb.IOException as e:
            raise StoreError(f"cannot open {self.path}: {e}") from e

    # -- schema -----------------------------------------------------------------------------
    def migrate(self) -> int:
        """Apply the versioned migrations not applied yet; return the schema version."""
        con = self._con
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name VARCHAR NOT NULL, applied TIMESTAMP NOT NULL)"
        )
        # Each migration not recorded yet, in order: not only those above the highest applied,
        # so that one numbered into a gap (migrations written side by side) is applied too.
        done = {int(v) for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
        current = max(done, default=0)
        files = importlib.resources.files("openrum.store") / "sql" / "duckdb"
        for entry in sorted(files.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".sql"):
                continue
            version = int(entry.name.split("_", 1)[0])
            if version in done:
                continue
            con.execute("BEGIN")
            con.execute(entry.read_text())
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, entry.name])
            con.execute("COMMIT")
            if entry.name == rollup_duckdb.MIGRATION:
                self.rebuild_rollups()  # the actions stored before it
            current = max(current, version)
        return current

    # -- writes (writer thread) -------------------------------------------------------------
    def write(self, batch: Batch) -> None:
        con = self._con
        tables = batch.tables()
        try:
            con.execute("BEGIN")
            written: set[tuple[str, dt.datetime]] = set()
            for name, table in tables.items():
                con.register("batch", table)
                sessions = name == "sessions"
                [(earliest, repeats)] = con.execute(
                    _SEEN.format(
                        received="last_received" if sessions else "received",
                        keys="app, session_id" if sessions else "eid",
                    )
                ).fetchall()
                # The earliest receive time a stored copy of one of its rows can have.
                floor = {"floor": earliest - self._resend_window}
                if sessions:
                    if repeats:
                        self._write_touches(con, floor)
                    else:
                        self._merge_touches(con, "SELECT * FROM batch", floor)
                else:
                    if repeats:
                        order = "seq" if name == "actions" else "time"
                        latest = con.sql(_LATEST.format(order=order)).to_arrow_table()
                        con.unregister("batch")
                        con.register("batch", latest)
                    if name == "actions":
                        written = self._write_actions(con, floor)
                    else:
                        key = f", {SESSION_KEY}" if name in _KEYED else ""
                        con.execute(_INSERT_NEW.format(table=name, key=key), floor)
                con.unregister("batch")
            con.execute("COMMIT")
        except duckdb.Error as e:
            self._abandon(e)
            raise StoreError(str(e)) from e
        self._written |= written
        self._writes += 1
        if self._writes >= self._compact_every:
            self._compact_written()

    def _compact_written(self) -> None:
        """Sum the rollups' partial rows of the hours written since the last compaction, in a
        transaction of its own: together, its changes and a write's took the checkpoint at their
        commit past a small ``store_memory_mb`` (``bench/store_growth`` at 64 MB). If it fails,
        the partial rows stay (queries sum them), and it runs again after the next write."""
        con = self._con
        try:
            con.execute("BEGIN")
            self._compact(con, self._written)
            con.execute("COMMIT")
        except duckdb.Error as e:
            self._abandon(e)
            log.warning("rollup compaction failed, tried again after the next write: %s", e)
            return
        self._written, self._writes = set(), 0

    def _abandon(self, error: duckdb.Error) -> None:
        """Undo a failed write or compaction. A fatal error (a checkpoint out of memory, say)
        stops the database until it is opened again: the file is opened again here, so that the
        writer's retry of the batch (kept in the spool) can succeed; what was committed before
        is in the file."""
        con = self._con
        if self.path != ":memory:" and isinstance(
            error,
            duckdb.FatalException | duckdb.ConnectionException,  # closed: not opened again
        ):
            con.close()  # and every reader's cursor (``_cursor`` makes new ones)
            self._con = self._connect()
            return
        with contextlib.suppress(duckdb.Error):  # a failed COMMIT has rolled back already
            con.execute("ROLLBACK")
        con.unregister("batch")  # after the rollback: not in a failed transaction

    @staticmethod
    def _write_actions(
        con: duckdb.DuckDBPyConnection, floor: dict[str, dt.datetime]
    ) -> set[tuple[str, dt.datetime]]:
        """Store the registered ``batch`` of actions and add what changed to the rollups;
        return the (app, hour) pairs whose rollup rows it added to."""
        con.execute(_FOUND, floor)
        [(found,)] = con.execute("SELECT count(*) FROM found").fetchall()
        if found:  # some were stored already: re-sent, or a higher seq
            con.execute(_REPLACED)
            con.execute(_DELETE_REPLACED, floor)
            con.execute(_DELTA)
            con.execute(
                "INSERT INTO actions BY NAME SELECT * EXCLUDE (sign) REPLACE "
                f"({SESSION_KEY}) FROM delta WHERE sign > 0"
            )
        else:  # the usual batch: all new, read where it is
            con.execute(f"INSERT INTO actions BY NAME SELECT *, {SESSION_KEY} FROM batch")
            con.execute("CREATE OR REPLACE TEMP VIEW delta AS SELECT *, 1 AS sign FROM batch")
        con.execute(_ADD)
        hours = con.execute("SELECT DISTINCT app, date_trunc('hour', time) FROM delta").fetchall()
        con.execute(f"DROP {'TABLE' if found else 'VIEW'} delta")  # free their memory
        for name in ("found", "replaced", *rollup_duckdb.SCRATCH):
            con.execute(f"DROP TABLE IF EXISTS {name}")
        return {(app, hour) for app, hour in hours}

    @staticmethod
    def _write_touches(con: duckdb.DuckDBPyConnection, floor: dict[str, dt.datetime]) -> None:
        """Session touches of the registered ``batch`` with several for one session (batches
        joined after a failure): written rank by rank, in the order they were seen, since one
        statement merges only one row per key."""
        con.execute(
            "CREATE OR REPLACE TEMP TABLE touches AS SELECT *, row_number() OVER "
            "(PARTITION BY app, session_id ORDER BY last_seen, last_received) AS touch FROM batch"
        )
        ranks = con.execute("SELECT max(touch) FROM touches").fetchall()[0][0]
        touches = "SELECT * EXCLUDE (touch) FROM touches WHERE touch = $rank"
        for rank in range(1, ranks + 1):
            DuckDBStore._merge_touches(con, touches, {**floor, "rank": rank})
        con.execute("DROP TABLE touches")

    @staticmethod
    def _merge_touches(
        con: duckdb.DuckDBPyConnection, touches: str, params: dict[str, Any]
    ) -> None:
        """Merge the rows of the query ``touches``, one per session, into the stored sessions."""
        for sql in (_SESSIONS_UPDATE, _SESSIONS_INSERT):
            con.execute(sql.format(touches=touches), params)

    @staticmethod
    def _compact(con: duckdb.DuckDBPyConnection, hours: set[tuple[str, dt.datetime]]) -> None:
        """Sum the rollups' partial rows of these hours and their days (one row per key)."""
        if not hours:
            return
        apps, starts = zip(*hours, strict=True)
        con.register(
            "hours",
            pa.table(
                {"app": pa.array(apps, pa.string()), "hour": pa.array(starts, pa.timestamp("us"))}
            ),
        )
        con.execute(_COMPACT)
        con.unregister("hours")
        for name in ("days", "compacted"):
            con.execute(f"DROP TABLE IF EXISTS {name}")

    @staticmethod
    def _refresh(con: duckdb.DuckDBPyConnection, hours: list[tuple[Any, ...]]) -> None:
        """Recount the rollups of these (app, hour) pairs and their days from the raw actions, in
        the caller's transaction (after an erasure or an expiry)."""
        for app, hour in hours:
            for sql in rollup_duckdb.refresh_sql():
                con.execute(sql, {"app": app, "hour": hour})

    def rebuild_rollups(self) -> None:
        """Recount every rollup from the raw actions (after a migration or a bulk load)."""
        con = self._con
        empty, count_day = rollup_duckdb.rebuild_sql()
        con.execute("BEGIN")
        for sql in empty:
            con.execute(sql)
        days = con.execute(
            "SELECT DISTINCT date_trunc('day', time) AS day FROM actions ORDER BY day"
        ).fetchall()
        for (day,) in days:
            for sql in count_day:
                con.execute(sql, {"day": day})
        con.execute("COMMIT")

    def close_sessions(self, closed: pa.Table) -> int:
        if not closed.num_rows:
            return 0
        con = self._cursor()  # the writer thread's own cursor, its own transaction
        try:
            con.register("batch", closed)
            con.execute("BEGIN")
            try:
                rows = con.execute(_CLOSE_SESSIONS).fetchall()
                frustrated = [r[:3] for r in rows if r[3]]
                if frustrated:
                    columns = [pa.array(c) for c in zip(*frustrated, strict=True)]
                    names = ["app", "start", "session_id"]
                    con.register("frustrated", pa.Table.from_arrays(columns, names=names))
                    con.execute(_FRUSTRATED)
                    con.unregister("frustrated")
                con.execute("COMMIT")
            except duckdb.Error:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
            finally:
                con.unregister("batch")
        except duckdb.Error as e:
            raise StoreError(str(e)) from e
        return len(rows)

    def create_app(self, app: App) -> None:
        try:
            self._cursor().execute(
                "INSERT INTO applications VALUES (?, ?, ?, ?, ?)",
                [
                    app.id,
                    app.name,
                    app.origins,
                    dt.datetime.fromtimestamp(app.created / 1000, dt.UTC).replace(tzinfo=None),
                    json.dumps(app.config),
                ],
            )
        except duckdb.ConstraintException as e:
            raise StoreError(f"application {app.id!r} exists") from e

    def update_app(self, app: App) -> None:
        cur = self._cursor()
        found = cur.execute("SELECT count(*) FROM applications WHERE id = ?", [app.id]).fetchone()
        if not found or not found[0]:
            raise StoreError(f"no application {app.id!r}")
        cur.execute(
            "UPDATE applications SET name = ?, origins = ?, config = ? WHERE id = ?",
            [app.name, app.origins, json.dumps(app.config), app.id],
        )

    # -- reads (any thread) -----------------------------------------------------------------
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the current connection (``_abandon`` may open a new one)."""
        con, cur = getattr(self._local, "cursor", (None, None))
        if con is not self._con or cur is None:
            cur = self._con.cursor()
            self._local.cursor = (self._con, cur)
        return cur

    def select(self, sql: str, params: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self._cursor()
        with self._gate:
            self._reads += 1
        try:
            result = cur.execute(sql, params)
            rows = result.fetchall()
        except duckdb.Error as e:
            raise StoreError(str(e)) from e
        finally:
            with self._gate:
                self._reads -= 1
        columns = [d[0] for d in result.description or []]
        return columns, rows

    # -- privacy -------------------------------------------------------------------------------
    def sessions_of(self, app: str, user_tag: str) -> list[str]:
        _, rows = self.select(
            "SELECT session_id FROM sessions WHERE app = ? AND user_tag = ? UNION "
            "SELECT session_id FROM user_events WHERE app = ? AND event_type = 'user_tag' "
            "AND value = ? ORDER BY 1",
            [app, user_tag, app, user_tag],
        )
        return [r[0] for r in rows]

    def erase(self, app: str, session_ids: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        if not session_ids:
            return counts
        marks = ", ".join("?" * len(session_ids))
        cur = self._cursor()
        cur.execute("BEGIN")
        touched = cur.execute(
            "SELECT DISTINCT app, date_trunc('hour', time) FROM actions "
            f"WHERE app = ? AND session_id IN ({marks})",
            [app, *session_ids],
        ).fetchall()
        for table in (*_EVENT_TABLES, *_DIAG_TABLES, "sessions"):
            [(n,)] = cur.execute(
                f"DELETE FROM {table} WHERE app = ? AND session_id IN ({marks})",
                [app, *session_ids],
            ).fetchall()
            counts[table] = int(n)
        keys = ", ".join(["md5_number_lower(?)"] * len(session_ids))
        cur.execute(
            f"DELETE FROM session_frustrated WHERE app = ? AND session_key IN ({keys})",
            [app, *session_ids],
        )
        self._refresh(cur, touched)
        cur.execute("COMMIT")
        return counts

    def export(self, app: str, session_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        if not session_ids:
            return {t: [] for t in (*_EVENT_TABLES, *_DIAG_TABLES, "sessions")}
        marks = ", ".join("?" * len(session_ids))
        for table in (*_EVENT_TABLES, *_DIAG_TABLES, "sessions"):
            # A session's number (017, 019) is the store's, not something the agent sent.
            every = "* EXCLUDE (session_key)" if table in _KEYED else "*"
            columns, rows = self.select(
                f"SELECT {every} FROM {table} WHERE app = ? AND session_id IN ({marks}) ORDER BY 1",
                [app, *session_ids],
            )
            out[table] = [dict(zip(columns, r, strict=True)) for r in rows]
        return out

    def expire(self, app: str, events_before: int, sessions_before: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        cur = self._cursor()
        cur.execute("BEGIN")
        for table in _EVENT_TABLES:
            [(n,)] = cur.execute(
                f"DELETE FROM {table} WHERE app = ? AND time < make_timestamp_ms(?)",
                [app, events_before],
            ).fetchall()
            counts[table] = int(n)
        # Whole hours before the cut go; the hour it falls in is recounted.
        [(cut,)] = cur.execute(
            "SELECT date_trunc('hour', make_timestamp_ms(?))", [events_before]
        ).fetchall()
        for sql in rollup_duckdb.expire_sql():
            cur.execute(sql, {"app": app, "hour": cut})
        self._refresh(cur, [(app, cut)])
        cur.execute("COMMIT")
        # The frustrated among the sessions that go, then those (which started before the cut).
        cur.execute("BEGIN")
        cur.execute(
            _EXPIRE_FRUSTRATED, [app, sessions_before, app, sessions_before, sessions_before]
        )
        [(n,)] = cur.execute(
            "DELETE FROM sessions WHERE app = ? AND last_seen < make_timestamp_ms(?)",
            [app, sessions_before],
        ).fetchall()
        cur.execute("COMMIT")
        counts["sessions"] = int(n)
        [(n,)] = cur.execute(
            "DELETE FROM check_results WHERE app = ? AND time < make_timestamp_ms(?)",
            [app, events_before],
        ).fetchall()
        counts["check_results"] = int(n)
        return counts

    def expire_diagnostics(self, app: str, before: int) -> int:
        cur = self._cursor()
        [(n,)] = cur.execute(
            "DELETE FROM diagnostics WHERE app = ? AND time < make_timestamp_ms(?)", [app, before]
        ).fetchall()
        return int(n)

    def list_apps(self) -> list[App]:
        _, rows = self.select(
            "SELECT id, name, origins, epoch_ms(created), config FROM applications "
            "ORDER BY created, id",
            [],
        )
        return [
            App(id=r[0], name=r[1], origins=list(r[2]), created=int(r[3]), config=json.loads(r[4]))
            for r in rows
        ]

    # -- accounts, logins, tokens, audit -------------------------------------------------------
    def password_hash(self, username: str) -> str | None:
        _, rows = self.select("SELECT password_hash FROM users WHERE username = ?", [username])
        return str(rows[0][0]) if rows else None

    def set_password(self, username: str, password_hash: str) -> None:
        self._cursor().execute(
            "INSERT INTO users VALUES (?, ?, now()) ON CONFLICT (username) "
            "DO UPDATE SET password_hash = excluded.password_hash",
            [username, password_hash],
        )

    def user_count(self) -> int:
        _, rows = self.select("SELECT count(*) FROM users", [])
        return int(rows[0][0])

    def save_login(self, login: LoginSession) -> None:
        self._cursor().execute(
            "INSERT INTO auth_sessions VALUES (?, ?, ?, now(), make_timestamp_ms(?))",
            [login.id_hash, login.username, login.csrf, login.expires],
        )

    def find_login(self, id_hash: str) -> LoginSession | None:
        _, rows = self.select(
            "SELECT id_hash, username, csrf, epoch_ms(expires) FROM auth_sessions "
            "WHERE id_hash = ?",
            [id_hash],
        )
        return LoginSession(*rows[0]) if rows else None

    def delete_login(self, id_hash: str) -> None:
        self._cursor().execute("DELETE FROM auth_sessions WHERE id_hash = ?", [id_hash])

    def save_token(self, token: Token) -> None:
        self._cursor().execute(
            "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, make_timestamp_ms(?))",
            [token.id, token.name, token.token_hash, token.app, token.read_only, token.created],
        )

    def list_tokens(self) -> list[Token]:
        _, rows = self.select(
            "SELECT id, name, token_hash, epoch_ms(created), app, read_only FROM tokens "
            "ORDER BY created, id",
            [],
        )
        return [Token(*r) for r in rows]

    def delete_token(self, token_id: str) -> bool:
        cur = self._cursor()
        found = cur.execute("SELECT count(*) FROM tokens WHERE id = ?", [token_id]).fetchone()
        cur.execute("DELETE FROM tokens WHERE id = ?", [token_id])
        return bool(found and found[0])

    def audit(self, actor: str, action: str, app: str | None, detail: dict[str, Any]) -> None:
        self._cursor().execute(
            "INSERT INTO audit_log VALUES (now(), ?, ?, ?, ?)",
            [actor, action, app, json.dumps(detail)],
        )

    # -- alerts ----------------------------------------------------------------------------------
    def save_alert_item(self, kind: str, item_id: str, body: dict[str, Any]) -> None:
        self._cursor().execute(
            f"INSERT INTO {_ALERT_TABLES[kind]} VALUES (?, ?, now()) "
            "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            [item_id, json.dumps(body)],
        )

    def alert_items(self, kind: str) -> list[dict[str, Any]]:
        _, rows = self.select(f"SELECT body FROM {_ALERT_TABLES[kind]} ORDER BY created, id", [])
        return [json.loads(r[0]) for r in rows]

    def delete_alert_item(self, kind: str, item_id: str) -> bool:
        [(n,)] = (
            self._cursor()
            .execute(f"DELETE FROM {_ALERT_TABLES[kind]} WHERE id = ?", [item_id])
            .fetchall()
        )
        return bool(n)

    def save_incident(self, incident: Incident) -> None:
        i = incident
        self._cursor().execute(
            "INSERT OR REPLACE INTO incidents VALUES (?, ?, ?, ?, ?, make_timestamp_ms(?), "
            "make_timestamp_ms(?), make_timestamp_ms(?), ?)",
            [i.id, i.rule, i.app, i.severity, i.state, i.start, i.end, i.notified or None,
             json.dumps(i.detail)],
        )  # fmt: skip

    def incidents(
        self, app: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[Incident]:
        _, rows = self.select(
            'SELECT id, rule, app, severity, state, epoch_ms(start), epoch_ms("end"), '
            "coalesce(epoch_ms(notified), 0), detail FROM incidents "
            "WHERE (? IS NULL OR app = ?) AND (? IS NULL OR state = ?) "
            "ORDER BY start DESC, id LIMIT ?",
            [app, app, state, state, limit],
        )
        return [
            Incident(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], json.loads(r[8])) for r in rows
        ]

    def log_delivery(self, delivery: Delivery) -> None:
        d = delivery
        self._cursor().execute(
            "INSERT INTO alert_deliveries VALUES (make_timestamp_ms(?), ?, ?, ?, ?, ?, ?)",
            [d.time, d.incident, d.channel, d.event, d.attempt, d.ok, d.status],
        )

    def deliveries(self, incident: str | None = None, limit: int = 100) -> list[Delivery]:
        _, rows = self.select(
            "SELECT epoch_ms(time), incident, channel, event, attempt, ok, status "
            "FROM alert_deliveries WHERE ? IS NULL OR incident = ? "
            "ORDER BY time DESC, attempt DESC LIMIT ?",
            [incident, incident, limit],
        )
        return [Delivery(*r) for r in rows]

    # -- error triage --------------------------------------------------------------------------
    def save_error_status(self, status: ErrorStatus) -> None:
        e = status
        self._cursor().execute(
            "INSERT OR REPLACE INTO error_status VALUES (?, ?, ?, make_timestamp_ms(?), ?, ?, "
            "make_timestamp_ms(?), ?, ?)",
            [e.app, e.fingerprint, e.status, e.changed, e.actor, e.release, e.until, e.events,
             e.sessions],
        )  # fmt: skip

    def error_statuses(self, app: str, fingerprints: list[str] | None = None) -> list[ErrorStatus]:
        where, params = "app = ?", [app]
        if fingerprints is not None:
            if not fingerprints:
                return []
            where += f" AND fingerprint IN ({', '.join('?' * len(fingerprints))})"
            params += fingerprints
        _, rows = self.select(
            "SELECT app, fingerprint, status, epoch_ms(changed), actor, release, epoch_ms(until), "
            f"events, sessions FROM error_status WHERE {where} ORDER BY fingerprint",
            params,
        )
        return [ErrorStatus(*r) for r in rows]

    def save_check_result(self, result: CheckResult) -> None:
        r = result
        self._cursor().execute(
            "INSERT INTO check_results VALUES (make_timestamp_ms(?), ?, ?, ?, ?, ?, ?, ?)",
            [r.time, r.check, r.app, r.ok, r.status, r.latency_ms, r.tls_days, r.error],
        )

    def check_results(self, check: str, since: int = 0, limit: int = 100) -> list[CheckResult]:
        _, rows = self.select(
            "SELECT epoch_ms(time), check_id, app, ok, status, latency_ms, tls_days, error "
            "FROM check_results WHERE check_id = ? AND time >= make_timestamp_ms(?) "
            "ORDER BY time DESC LIMIT ?",
            [check, since, limit],
        )
        return [CheckResult(*r) for r in rows]

    def take_lease(self, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        # One statement: DuckDB's transactions make two takers conflict, and one fails (two
        # first claims: on the primary key).
        cur = self._cursor()
        try:
            cur.execute(
                "INSERT INTO leases VALUES (?, ?, make_timestamp_ms(?)) ON CONFLICT (name) "
                "DO UPDATE SET holder = excluded.holder, until = excluded.until "
                "WHERE leases.holder = excluded.holder OR leases.until <= make_timestamp_ms(?)",
                [name, holder, now_ms + ttl_ms, now_ms],
            )
        except (duckdb.TransactionException, duckdb.ConstraintException):
            return False
        _, rows = self.select("SELECT holder FROM leases WHERE name = ?", [name])
        return bool(rows) and rows[0][0] == holder

    def rest(self) -> bool:
        """Give back the memory of the blocks DuckDB keeps cached (up to ``memory_limit``, until
        it needs the room), once no batch came for a while (the writer thread's call): write
        what the write-ahead log holds into the file, then lower the limit for a moment, which
        evicts the cache. A read short of memory then would fail: reads started meanwhile wait,
        and none may be running. True when done."""
        with self._gate:
            if self._reads:
                return False
            try:
                self._con.execute("CHECKPOINT")
                self._con.execute("SET memory_limit = '8MB'")
            except duckdb.Error as e:  # a transaction of another thread
                log.info("store not rested: %s", e)
                return False
            finally:
                self._con.execute(f"SET memory_limit = '{self._config['memory_limit']}'")
        return True

    def close(self) -> None:
        self._con.close()
