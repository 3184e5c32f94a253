"""``openrum migrate --from duckdb:///… --to clickhouse://…|chdb:///…``: move an installation.

Events (actions, errors, user events) are streamed from the DuckDB file in Arrow batches through
the target store's ``write`` — so re-running a migration stores nothing twice, and rollups fill
as on any insert. Sessions follow as touches, then closed sessions are closed again with their
stored values; applications, users, dashboard logins, tokens, the audit log and error triage
statuses are copied as they are. A progress bar on standard error counts rows.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from typing import TextIO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from openrum.rows import (
    ActionRow,
    Batch,
    ClosedSession,
    DiagRow,
    ErrorRow,
    SessionTouch,
    UserEventRow,
)
from openrum.store import open_store
from openrum.store.base import Store, StoreError
from openrum.store.duckdb import DuckDBStore

_EVENTS = {
    "actions": ActionRow,
    "errors": ErrorRow,
    "user_events": UserEventRow,
    "diagnostics": DiagRow,
}


class Progress:
    """A one-line progress bar: ``label [#####.....] 52% 1,234,567 / 2,345,678 rows 81,234/s``."""

    def __init__(self, total: int, out: TextIO, width: int = 30) -> None:
        self.total, self.out, self.width = max(total, 1), out, width
        self.done = 0
        self.began = time.monotonic()
        self.label = ""

    def step(self, label: str, n: int) -> None:
        self.label = label
        self.done += n
        share = min(self.done / self.total, 1.0)
        bar = "#" * int(share * self.width)
        rate = self.done / max(time.monotonic() - self.began, 1e-9)
        self.out.write(
            f"\r{label:<12} [{bar:<{self.width}}] {share:4.0%} {self.done:,} / {self.total:,} "
            f"rows {rate:,.0f}/s"
        )
        self.out.flush()

    def finish(self) -> None:
        self.out.write("\n")
        self.out.flush()


def _batches(con: duckdb.DuckDBPyConnection, sql: str, size: int) -> Iterator[pa.Table]:
    reader = con.sql(sql).to_arrow_reader(size)
    for batch in reader:
        if batch.num_rows:
            yield pa.Table.from_batches([batch])


def _columns(struct: type) -> str:
    return ", ".join(struct.__struct_fields__)  # type: ignore[attr-defined]


def migrate(source: DuckDBStore, target: Store, out: TextIO, batch_rows: int = 100_000) -> int:
    """Copy everything from ``source`` to ``target``; return the number of rows copied."""
    con = source._con.cursor()
    counts = {
        t: int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0])
        for t in (*_EVENTS, "sessions")
    }
    progress = Progress(sum(counts.values()), out)
    known = {a.id for a in target.list_apps()}
    for app in source.list_apps():
        if app.id not in known:
            target.create_app(app)
    for name, struct in _EVENTS.items():
        # In time order: each batch covers a short time span (the target checks re-sends).
        for table in _batches(
            con, f"SELECT {_columns(struct)} FROM {name} ORDER BY time", batch_rows
        ):
            target.write(Batch(**{name: table}))
            progress.step(name, table.num_rows)
    closed_cols = ", ".join(f for f in ClosedSession.__struct_fields__)
    for table in _batches(con, f"SELECT {_columns(SessionTouch)} FROM sessions", batch_rows):
        target.write(Batch(sessions=table))
        progress.step("sessions", table.num_rows)
    for table in _batches(
        con, f"SELECT {closed_cols} FROM sessions WHERE closed ORDER BY app, session_id", batch_rows
    ):
        target.close_sessions(table)
    _copy_accounts(source, target)
    # Error triage statuses, as set (a re-run replaces each with itself).
    for app in source.list_apps():
        for status in source.error_statuses(app.id):
            target.save_error_status(status)
    progress.finish()
    return progress.done


# The tables a server fills besides the events, each with the column that tells a row already
# copied (a re-run copies nothing twice); the audit log has no key: it is copied into an empty one.
_ACCOUNTS = {"users": "username", "auth_sessions": "id_hash", "tokens": "id", "audit_log": ""}


def _account_rows(source: DuckDBStore, name: str) -> pa.Table:
    """A table as it is in DuckDB, its times cut to the millisecond (a server stamps them in
    microseconds, ClickHouse keeps milliseconds) and JSON as text."""
    con = source._con.cursor()
    cols = []
    for col, kind, *_ in con.execute(f"DESCRIBE {name}").fetchall():
        if kind.startswith("TIMESTAMP"):
            cols.append(f"CAST({col} AS TIMESTAMP_MS) AS {col}")
        elif kind == "JSON":
            cols.append(f"CAST({col} AS VARCHAR) AS {col}")
        else:
            cols.append(col)
    return con.sql(f"SELECT {', '.join(cols)} FROM {name}").to_arrow_table()


def _copy_accounts(source: DuckDBStore, target: Store) -> None:
    """Accounts, dashboard logins, API tokens and the audit log, rows as they are (their times
    kept: ``set_password`` or ``audit`` would stamp them now)."""
    from openrum.store.clickhouse import ClickHouseStore

    if not isinstance(target, ClickHouseStore):  # a DuckDB target: through the protocol
        _, users = source.select("SELECT username, password_hash FROM users", [])
        for username, password_hash in users:
            target.set_password(username, password_hash)
        for token in source.list_tokens():
            target.save_token(token)
        return
    for name, key in _ACCOUNTS.items():
        table = _account_rows(source, name)
        if key:
            _, have = target.select(f"SELECT {key} FROM {name}", [])
            if have:
                known = pa.array([row[0] for row in have], pa.string())
                table = table.filter(pc.invert(pc.is_in(table.column(key), known)))
        elif target.select(f"SELECT count() FROM {name}", [])[1][0][0]:
            continue
        if name == "users":  # ReplacingMergeTree's version: the latest password wins
            table = table.append_column("version", pa.array([0] * table.num_rows, pa.uint64()))
        if table.num_rows:
            target._insert(name, table)


def command(args: argparse.Namespace, out: TextIO = sys.stderr) -> int:
    """``openrum migrate``: returns the process exit code."""
    if not args.source.startswith("duckdb://"):
        raise StoreError("--from must be a duckdb:///path URL")
    source = open_store(args.source)
    assert isinstance(source, DuckDBStore)
    target = open_store(args.target)
    try:
        began = time.monotonic()
        n = migrate(source, target, out, args.batch_rows)
        print(f"migrated {n:,} rows in {time.monotonic() - began:.1f} s", file=out)
    finally:
        target.close()
        source.close()
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The ``migrate`` subcommand's arguments."""
    p = sub.add_parser("migrate", help="copy an installation from DuckDB to ClickHouse")
    p.add_argument("--from", dest="source", required=True, help="duckdb:///path/openrum.duckdb")
    p.add_argument(
        "--to",
        dest="target",
        required=True,
        help="clickhouse://user:pass@host:8123/db or chdb:///path",
    )
    p.add_argument("--batch-rows", type=int, default=100_000, help="rows per insert")
