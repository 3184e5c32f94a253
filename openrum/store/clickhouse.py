"""The ClickHouse store: the Store protocol on a ClickHouse server or on chdb (in process).

``clickhouse://user:pass@host:8123/db`` reaches a server over HTTP; ``chdb:///path`` runs the same
engine in this process on the files under ``path``. Both go through a ``Transport``
(openrum/store/transport.py); everything here is shared.

Several collectors may write at once, each with its own store: nothing here relies on being the
only writer. Re-sent events are stored once (ReplacingMergeTree, read with FINAL); a writer also
skips events already stored before inserting, so that the rollups fed by materialized views
(openrum/query/rollup.py) count each event once — and when an action comes back with a higher
``seq``, it takes the older version's counts and sums out of the rollups first. Sessions are
merged by the engine (``session_state``, AggregatingMergeTree), so touches from different
writers combine in any order.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.compute as pc

from openrum.query import rollup
from openrum.rows import Batch
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
from openrum.store.transport import ChdbTransport, HttpTransport, Transport, TransportError, bind

_EVENT_TABLES = ("actions", "errors", "user_events")
# Erased and exported with a session's events; expired by their own retention.
_DIAG_TABLES = ("diagnostics",)
# A lease taker's wait for claims racing with its own to land (``take_lease``): far longer than
# an insert takes.
LEASE_SETTLE_S = 1.0
# Alert rules, channels and silences: JSON documents by id (openrum/alerts/).
_ALERT_TABLES = {
    "rules": "alert_rules",
    "channels": "alert_channels",
    "silences": "alert_silences",
    "checks": "alert_checks",
}
_SESSION_TABLES = (
    "session_state",
    "session_closes",
    "session_open",
    "session_starts",
    "session_frustrated",
)
_CLOSE_COLUMNS = (
    "app",
    "session_id",
    "start",
    "last_seen",
    "last_received",
    "entry_page",
    "exit_page",
    "user_tag",
    "ended",
    "user_type",
    "weight",
    # Its dimensions: the completed sessions by start (`session_starts`) are read whole.
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device",
    "country",
    "region",
    "city",
    "connection",
    "release",
)


def _ms(v: Any) -> int:
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.UTC)
        return int(v.timestamp() * 1000)
    return int(v)


def _naive(v: Any) -> Any:
    """A value as the other stores return it: times as naive UTC datetimes."""
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.UTC).replace(tzinfo=None)
    return v


def rows_of(table: pa.Table) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of an Arrow result, times as naive UTC datetimes."""
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = [tuple(_naive(v) for v in row) for row in zip(*columns, strict=True)]
    return list(table.column_names), rows


def _utc_ms(table: pa.Table) -> pa.Table:
    """Timestamps as UTC milliseconds, the columns' type in ClickHouse."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and (
            field.type.unit != "ms" or field.type.tz != "UTC"
        ):
            col = table.column(i)
            if field.type.tz is None:
                col = pc.assume_timezone(col, "UTC")
            table = table.set_column(i, field.name, col.cast(pa.timestamp("ms", "UTC")))
    return table


class ClickHouseStore:
    """The Store protocol on a ClickHouse engine reached through ``transport``."""

    engine = "clickhouse"

    def __init__(self, transport: Transport, ttl_days: int | None = None) -> None:
        self.t = transport
        self._lock = threading.Lock()
        self.migrate()
        if ttl_days is not None:
            self.set_ttl(ttl_days)

    # -- schema -----------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply the migrations (openrum/store/sql/clickhouse/NNN_*.sql) not applied yet, by
        name, in order; return the names of all applied. Every statement is idempotent, so
        collectors starting together may race here harmlessly."""
        t = self.t
        try:
            t.command(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name String, "
                "applied DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree ORDER BY name"
            )
            done = {r[0] for r in rows_of(t.query("SELECT name FROM schema_migrations"))[1]}
            files = importlib.resources.files("openrum.store") / "sql" / "clickhouse"
            for entry in sorted(files.iterdir(), key=lambda e: e.name):
                if not entry.name.endswith(".sql") or entry.name in done:
                    continue
                for statement in statements(entry.read_text()):
                    t.command(statement)
                t.command(
                    "INSERT INTO schema_migrations VALUES ({n:String}, now64(3))",
                    {"n": entry.name},
                )
                done.add(entry.name)
        except TransportError as e:
            raise StoreError(f"migration failed: {e}") from e
        return sorted(done)

    def set_ttl(self, days: int) -> None:
        """Delete events older than ``days`` days in the background (a TTL on every event
        table): a backstop behind the retention job, which deletes per application."""
        for table in _EVENT_TABLES:
            self._command(
                f"ALTER TABLE {table} MODIFY TTL toDateTime(time) + INTERVAL {int(days)} DAY"
            )

    # -- plumbing ------------------------------------------------------------------------------
    def _command(self, sql: str, params: list[Any] | None = None) -> None:
        text, values = bind(sql, params or [])
        try:
            self.t.command(text, values)
        except TransportError as e:
            raise StoreError(str(e)) from e

    def _arrow(self, sql: str, params: list[Any]) -> pa.Table:
        text, values = bind(sql, params)
        try:
            return self.t.query(text, values)
        except TransportError as e:
            raise StoreError(str(e)) from e

    def select(self, sql: str, params: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        return rows_of(self._arrow(sql, params))

    def _insert(self, table: str, data: pa.Table) -> None:
        try:
            self.t.insert(table, _utc_ms(data))
        except TransportError as e:
            raise StoreError(str(e)) from e

    # -- writes --------------------------------------------------------------------------------
    def _stored(self, table: str, data: pa.Table) -> dict[int, int]:
        """``eid → seq`` (1 for tables without one) of the batch's events already stored."""
        apps = sorted(set(data.column("app").to_pylist()))
        times = pc.min_max(_utc_ms(data.select(["time"])).column("time"))
        seq = "max(seq)" if table == "actions" else "1"
        _, rows = self.select(
            f"SELECT eid, {seq} FROM {table} WHERE app IN ? AND time >= ? AND time <= ? "
            "AND eid IN ? GROUP BY eid",
            [apps, times["min"].as_py(), times["max"].as_py(), data.column("eid").to_pylist()],
        )
        return {int(e): int(s) for e, s in rows}

    def _fresh(self, table: str, data: pa.Table) -> pa.Table:
        """The rows of ``data`` to insert: events not stored yet and, for actions, higher
        sequences — whose older versions first leave the rollups' counts and sums."""
        if table == "actions":  # within the batch, the highest seq of each eid first
            data = data.sort_by([("eid", "ascending"), ("seq", "descending")])
        eids = data.column("eid").to_pylist()
        first: set[int] = set()
        keep = []
        for e in eids:
            keep.append(e not in first)
            first.add(e)
        data = data.filter(pa.array(keep))
        stored = self._stored(table, data)
        if not stored:
            return data
        eids = data.column("eid").to_pylist()
        if table == "actions":
            seqs = data.column("seq").to_pylist()
            mask = [stored.get(e, -(2**63)) < s for e, s in zip(eids, seqs, strict=True)]
            replaced = [e for e, m in zip(eids, mask, strict=True) if m and e in stored]
            if replaced:
                for sql in rollup.retract_sql():
                    self._command(sql, [replaced])
        else:
            mask = [e not in stored for e in eids]
        return data.filter(pa.array(mask))

    def write(self, batch: Batch) -> None:
        for name, table in batch.tables().items():
            if name == "sessions":
                self._insert("session_touches", table)
                continue
            fresh = self._fresh(name, table)
            if fresh.num_rows:
                self._insert(name, fresh)

    def close_sessions(self, closed: pa.Table) -> int:
        if not closed.num_rows:
            return 0
        with self._lock:  # one closer per store; other processes' closers write the same values
            keys = list(
                zip(
                    closed.column("app").to_pylist(),
                    closed.column("session_id").to_pylist(),
                    strict=True,
                )
            )
            found = self._open_sessions(keys)
            if not found:
                return 0
            values = {(r["app"], r["session_id"]): r for r in closed.to_pylist()}
            rows = []
            for snap in found:
                extra = values[(snap["app"], snap["session_id"])]
                rows.append({**extra, **snap, "closed": True})
            table = pa.Table.from_pylist(rows)
            self._insert("session_closes", table)
            # Closed sessions leave the open ones (with any that a late touch put back).
            self._command(
                "DELETE FROM session_open WHERE (app, session_id) IN (SELECT app, session_id "
                "FROM session_closes WHERE (app, session_id) IN "
                "(SELECT app, session_id FROM session_open))"
            )
            return len(rows)

    def _open_sessions(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        apps = sorted({a for a, _ in keys})
        ids = sorted({s for _, s in keys})
        wanted = set(keys)
        columns, rows = self.select(
            f"SELECT {', '.join(_CLOSE_COLUMNS)} FROM sessions WHERE NOT closed AND app IN ? "
            "AND session_id IN ?",
            [apps, ids],
        )
        out = []
        for r in rows:
            row = dict(zip(columns, r, strict=True))
            if (row["app"], row["session_id"]) in wanted:
                out.append(row)
        return out

    # -- applications --------------------------------------------------------------------------
    def _version(self) -> int:
        return time.time_ns()

    def create_app(self, app: App) -> None:
        with self._lock:
            _, found = self.select("SELECT count() FROM applications WHERE id = ?", [app.id])
            if found[0][0]:
                raise StoreError(f"application {app.id!r} exists")
            self._put_app(app)

    def _put_app(self, app: App) -> None:
        self._command(
            "INSERT INTO applications VALUES (?, ?, ?, ?, ?, ?)",
            [
                app.id,
                app.name,
                list(app.origins),
                dt.datetime.fromtimestamp(app.created / 1000, dt.UTC),
                json.dumps(app.config),
                self._version(),
            ],
        )

    def update_app(self, app: App) -> None:
        with self._lock:
            _, found = self.select(
                "SELECT toUnixTimestamp64Milli(created) FROM applications WHERE id = ?", [app.id]
            )
            if not found:
                raise StoreError(f"no application {app.id!r}")
            self._put_app(App(app.id, app.name, app.origins, int(found[0][0]), app.config))

    def list_apps(self) -> list[App]:
        _, rows = self.select(
            "SELECT id, name, origins, toUnixTimestamp64Milli(created), config FROM applications "
            "ORDER BY created, id",
            [],
        )
        return [
            App(id=r[0], name=r[1], origins=list(r[2]), created=int(r[3]), config=json.loads(r[4]))
            for r in rows
        ]

    # -- privacy (docs/privacy.md) --------------------------------------------------------------
    def sessions_of(self, app: str, user_tag: str) -> list[str]:
        _, rows = self.select(
            "SELECT session_id FROM sessions WHERE app = ? AND user_tag = ? UNION DISTINCT "
            "SELECT session_id FROM user_events WHERE app = ? AND event_type = 'user_tag' "
            "AND value = ? ORDER BY 1",
            [app, user_tag, app, user_tag],
        )
        return [r[0] for r in rows]

    def _delete(self, table: str, where: str, params: list[Any]) -> int:
        _, rows = self.select(f"SELECT count() FROM {table} WHERE {where}", params)
        n = int(rows[0][0])
        if n:
            self._command(f"DELETE FROM {table} WHERE {where}", params)
        return n

    def erase(self, app: str, session_ids: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        if not session_ids:
            return counts
        ids = list(session_ids)
        touched = {}  # the hours whose rollups held the erased rows, by the rollups' source
        for source, (table, column) in rollup.RAW.items():
            _, rows = self.select(
                f"SELECT DISTINCT toUnixTimestamp(toStartOfHour({column})) FROM {table} "
                "WHERE app = ? AND session_id IN ?",
                [app, ids],
            )
            touched[source] = [int(r[0]) for r in rows]
        for table in (*_EVENT_TABLES, *_DIAG_TABLES):
            counts[table] = self._delete(table, "app = ? AND session_id IN ?", [app, ids])
        _, rows = self.select(
            "SELECT count() FROM sessions WHERE app = ? AND session_id IN ?", [app, ids]
        )
        counts["sessions"] = int(rows[0][0])
        for table in _SESSION_TABLES:
            self._delete(table, "app = ? AND session_id IN ?", [app, ids])
        for r in rollup.ROLLUPS:
            if touched[r.source]:
                self._recount(r, app, touched[r.source])
        return counts

    def _recount(self, r: rollup.Rollup, app: str, hours: list[int]) -> None:
        """Count ``r``'s rows of these hours (Unix times; and of their days) again from the
        rows stored.

        Rows of those hours another collector inserts meanwhile, between the delete of an hour
        and its recount, are counted twice (docs/deploy.md), as by the retention's daily fold."""
        column = rollup.RAW[r.source][1]
        hour = f"toUnixTimestamp(toStartOfHour({column}))"
        self._delete(r.name, "app = ? AND toUnixTimestamp(hour) IN ?", [app, hours])
        self._command(
            f"INSERT INTO {r.name} " + rollup.hourly_sql(r, f"app = ? AND {hour} IN ?", True),
            [app, hours],
        )
        days = sorted({h - h % 86_400 for h in hours})
        self._delete(r.daily, "app = ? AND toUnixTimestamp(hour) IN ?", [app, days])
        self._command(
            f"INSERT INTO {r.daily} "
            + rollup.daily_sql(r, "app = ? AND toUnixTimestamp(toStartOfDay(hour)) IN ?"),
            [app, days],
        )

    def export(self, app: str, session_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for table in (*_EVENT_TABLES, *_DIAG_TABLES, "sessions"):
            if not session_ids:
                out[table] = []
                continue
            columns, rows = self.select(
                f"SELECT * FROM {table} WHERE app = ? AND session_id IN ? ORDER BY 1",
                [app, list(session_ids)],
            )
            out[table] = [dict(zip(columns, r, strict=True)) for r in rows]
        return out

    def expire_diagnostics(self, app: str, before: int) -> int:
        cutoff = dt.datetime.fromtimestamp(before / 1000, dt.UTC)
        return self._delete("diagnostics", "app = ? AND time < ?", [app, cutoff])

    def expire(self, app: str, events_before: int, sessions_before: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        cutoff = dt.datetime.fromtimestamp(events_before / 1000, dt.UTC)
        for table in _EVENT_TABLES:
            counts[table] = self._delete(table, "app = ? AND time < ?", [app, cutoff])
        counts["check_results"] = self._delete(
            "check_results", "app = ? AND time < ?", [app, cutoff]
        )
        old = dt.datetime.fromtimestamp(sessions_before / 1000, dt.UTC)
        for r in rollup.ROLLUPS:
            # Sessions are rolled up at their start and kept as long as sessions.
            hour = (old if r.source == "sessions" else cutoff).replace(
                minute=0, second=0, microsecond=0
            )
            day = hour.replace(hour=0)
            self._delete(r.name, "app = ? AND hour < ?", [app, hour])
            # The cutoff's day keeps what its hours keep: folded again from them.
            self._delete(r.daily, "app = ? AND hour <= ?", [app, day])
            self._command(
                f"INSERT INTO {r.daily} "
                + rollup.daily_sql(r, "app = ? AND hour >= ? AND hour < ?"),
                [app, day, day + dt.timedelta(days=1)],
            )
        _, rows = self.select(
            "SELECT session_id FROM sessions WHERE app = ? AND last_seen < ?", [app, old]
        )
        ids = [r[0] for r in rows]
        counts["sessions"] = len(ids)
        if ids:
            for table in _SESSION_TABLES:
                self._delete(table, "app = ? AND session_id IN ?", [app, ids])
        return counts

    # -- accounts, logins, tokens, audit (docs/security.md) ------------------------------------
    def password_hash(self, username: str) -> str | None:
        _, rows = self.select("SELECT password_hash FROM users WHERE username = ?", [username])
        return str(rows[0][0]) if rows else None

    def set_password(self, username: str, password_hash: str) -> None:
        self._command(
            "INSERT INTO users VALUES (?, ?, now64(3), ?)",
            [username, password_hash, self._version()],
        )

    def user_count(self) -> int:
        _, rows = self.select("SELECT count() FROM users", [])
        return int(rows[0][0])

    def save_login(self, login: LoginSession) -> None:
        self._command(
            "INSERT INTO auth_sessions VALUES (?, ?, ?, now64(3), ?)",
            [
                login.id_hash,
                login.username,
                login.csrf,
                dt.datetime.fromtimestamp(login.expires / 1000, dt.UTC),
            ],
        )

    def find_login(self, id_hash: str) -> LoginSession | None:
        _, rows = self.select(
            "SELECT id_hash, username, csrf, toUnixTimestamp64Milli(expires) FROM auth_sessions "
            "WHERE id_hash = ?",
            [id_hash],
        )
        return LoginSession(rows[0][0], rows[0][1], rows[0][2], int(rows[0][3])) if rows else None

    def delete_login(self, id_hash: str) -> None:
        self._delete("auth_sessions", "id_hash = ?", [id_hash])

    def save_token(self, token: Token) -> None:
        self._command(
            "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?)",
            [
                token.id,
                token.name,
                token.token_hash,
                token.app,
                token.read_only,
                dt.datetime.fromtimestamp(token.created / 1000, dt.UTC),
            ],
        )

    def list_tokens(self) -> list[Token]:
        _, rows = self.select(
            "SELECT id, name, token_hash, toUnixTimestamp64Milli(created), app, read_only "
            "FROM tokens ORDER BY created, id",
            [],
        )
        return [Token(r[0], r[1], r[2], int(r[3]), r[4], bool(r[5])) for r in rows]

    def delete_token(self, token_id: str) -> bool:
        return self._delete("tokens", "id = ?", [token_id]) > 0

    def audit(self, actor: str, action: str, app: str | None, detail: dict[str, Any]) -> None:
        self._command(
            "INSERT INTO audit_log VALUES (now64(3), ?, ?, ?, ?)",
            [actor, action, app, json.dumps(detail)],
        )

    # -- alerts (docs/alerts.md) -----------------------------------------------------------------
    def save_alert_item(self, kind: str, item_id: str, body: dict[str, Any]) -> None:
        table = _ALERT_TABLES[kind]
        with self._lock:
            _, found = self.select(f"SELECT created FROM {table} WHERE id = ?", [item_id])
            created = found[0][0] if found else dt.datetime.now(dt.UTC)
            self._command(
                f"INSERT INTO {table} VALUES (?, ?, ?, ?)",
                [item_id, json.dumps(body), created, self._version()],
            )

    def alert_items(self, kind: str) -> list[dict[str, Any]]:
        _, rows = self.select(f"SELECT body FROM {_ALERT_TABLES[kind]} ORDER BY created, id", [])
        return [json.loads(r[0]) for r in rows]

    def delete_alert_item(self, kind: str, item_id: str) -> bool:
        return self._delete(_ALERT_TABLES[kind], "id = ?", [item_id]) > 0

    def save_incident(self, incident: Incident) -> None:
        i = incident

        def at(v: int | None) -> dt.datetime | None:
            return dt.datetime.fromtimestamp(v / 1000, dt.UTC) if v else None

        self._command(
            "INSERT INTO incidents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [i.id, i.rule, i.app, i.severity, i.state, at(i.start), at(i.end), at(i.notified),
             json.dumps(i.detail), self._version()],
        )  # fmt: skip

    def incidents(
        self, app: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[Incident]:
        where, params = ["1"], []
        if app is not None:
            where.append("app = ?")
            params.append(app)
        if state is not None:
            where.append("state = ?")
            params.append(state)
        _, rows = self.select(
            "SELECT id, rule, app, severity, state, toUnixTimestamp64Milli(start), "
            "toUnixTimestamp64Milli(`end`), coalesce(toUnixTimestamp64Milli(notified), 0), "
            f"detail FROM incidents WHERE {' AND '.join(where)} ORDER BY start DESC, id "
            f"LIMIT {int(limit)}",
            params,
        )
        return [
            Incident(r[0], r[1], r[2], r[3], r[4], int(r[5]), None if r[6] is None else int(r[6]),
                     int(r[7]), json.loads(r[8]))
            for r in rows
        ]  # fmt: skip

    def log_delivery(self, delivery: Delivery) -> None:
        d = delivery
        self._command(
            "INSERT INTO alert_deliveries VALUES (?, ?, ?, ?, ?, ?, ?)",
            [dt.datetime.fromtimestamp(d.time / 1000, dt.UTC), d.incident, d.channel, d.event,
             d.attempt, d.ok, d.status],
        )  # fmt: skip

    def deliveries(self, incident: str | None = None, limit: int = 100) -> list[Delivery]:
        where, params = ("incident = ?", [incident]) if incident is not None else ("1", [])
        _, rows = self.select(
            "SELECT toUnixTimestamp64Milli(time), incident, channel, event, attempt, ok, status "
            f"FROM alert_deliveries WHERE {where} ORDER BY time DESC, attempt DESC "
            f"LIMIT {int(limit)}",
            params,
        )
        return [Delivery(int(r[0]), r[1], r[2], r[3], int(r[4]), bool(r[5]), r[6]) for r in rows]

    # -- error triage --------------------------------------------------------------------------
    def save_error_status(self, status: ErrorStatus) -> None:
        e = status

        def at(v: int | None) -> dt.datetime | None:
            return None if v is None else dt.datetime.fromtimestamp(v / 1000, dt.UTC)

        self._command(
            "INSERT INTO error_status VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [e.app, e.fingerprint, e.status, at(e.changed), e.actor, e.release, at(e.until),
             e.events, e.sessions, self._version()],
        )  # fmt: skip

    def error_statuses(self, app: str, fingerprints: list[str] | None = None) -> list[ErrorStatus]:
        where, params = "app = ?", [app]
        if fingerprints is not None:
            if not fingerprints:
                return []
            where += f" AND fingerprint IN ({', '.join('?' * len(fingerprints))})"
            params += fingerprints
        _, rows = self.select(
            "SELECT app, fingerprint, status, toUnixTimestamp64Milli(changed), actor, release, "
            f"toUnixTimestamp64Milli(until), events, sessions FROM error_status WHERE {where} "
            "ORDER BY fingerprint",
            params,
        )
        return [
            ErrorStatus(r[0], r[1], r[2], int(r[3]), r[4], r[5],
                        None if r[6] is None else int(r[6]),
                        None if r[7] is None else int(r[7]), None if r[8] is None else int(r[8]))
            for r in rows
        ]  # fmt: skip

    def save_check_result(self, result: CheckResult) -> None:
        r = result
        self._command(
            "INSERT INTO check_results VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [dt.datetime.fromtimestamp(r.time / 1000, dt.UTC), r.check, r.app, r.ok, r.status,
             r.latency_ms, r.tls_days, r.error],
        )  # fmt: skip

    def check_results(self, check: str, since: int = 0, limit: int = 100) -> list[CheckResult]:
        _, rows = self.select(
            "SELECT toUnixTimestamp64Milli(time), check_id, app, ok, status, latency_ms, "
            "tls_days, error FROM check_results WHERE check_id = ? "
            "AND time >= fromUnixTimestamp64Milli(?) "
            f"ORDER BY time DESC LIMIT {int(limit)}",
            [check, since],
        )
        return [
            CheckResult(int(r[0]), r[1], r[2], bool(r[3]), int(r[4]), float(r[5]),
                        None if r[6] is None else float(r[6]), r[7])
            for r in rows
        ]  # fmt: skip

    def take_lease(self, name: str, holder: str, now_ms: int, ttl_ms: int) -> bool:
        # No compare-and-set here: a taker claims a free or lapsed lease, waits until claims
        # made at the same time have landed, then reads which claim is the latest by the
        # server's clock (the version): every taker reads the same winner. Renewing a lease
        # that is still one's own needs no wait: nobody else claims it meanwhile.
        with self._lock:
            now = dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC).replace(tzinfo=None)
            _, rows = self.select("SELECT holder, until FROM leases WHERE name = ?", [name])
            held = bool(rows) and _naive(rows[0][1]) > now
            if held and rows[0][0] != holder:
                return False
            until = dt.datetime.fromtimestamp((now_ms + ttl_ms) / 1000, dt.UTC)
            self._command(
                "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)", [name, holder, until]
            )
            if not held:
                time.sleep(LEASE_SETTLE_S)
            _, rows = self.select("SELECT holder FROM leases WHERE name = ?", [name])
            return bool(rows) and rows[0][0] == holder

    def rest(self) -> bool:
        return True  # the server's caches are its own to manage

    def close(self) -> None:
        self.t.close()


def statements(text: str) -> list[str]:
    """The statements of a migration file: comments dropped, split at ``;`` ending a line."""
    lines = [line.split("--", 1)[0].rstrip() for line in text.splitlines()]
    body = "\n".join(lines)
    return [s.strip() for s in body.split(";\n") if s.strip().rstrip(";").strip()]


def open_clickhouse(url: str, ttl_days: int | None = None) -> ClickHouseStore:
    """The store a ``clickhouse://``, ``clickhouses://`` or ``chdb://`` URL names.

    ``chdb:///path`` (or ``chdb://:memory:``) runs the engine in this process; its
    ``?database=NAME`` picks a database other than ``openrum``. ``?ttl_days=N`` sets the events'
    TTL. Raises StoreError when the engine cannot be reached.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if "ttl_days" in query and ttl_days is None:
        ttl_days = int(query["ttl_days"])
    rest = urlencode({k: v for k, v in query.items() if k not in ("ttl_days", "database")})
    try:
        if parts.scheme == "chdb":
            path = url[len("chdb://") :].split("?", 1)[0]
            transport: Transport = ChdbTransport(path, query.get("database", "openrum"))
        else:
            transport = HttpTransport(urlunsplit(parts._replace(query=rest)))
    except TransportError as e:
        raise StoreError(f"cannot open {parts.scheme}://{parts.hostname or ''}: {e}") from e
    return ClickHouseStore(transport, ttl_days)
