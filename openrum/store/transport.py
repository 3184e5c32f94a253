"""How the ClickHouse store reaches its engine: one small seam, two transports.

``ChdbTransport`` runs the ClickHouse engine in this process (``chdb``); ``HttpTransport`` talks
to a ClickHouse server over HTTP (``clickhouse-connect``). Both take SQL with ``{name:Type}``
placeholders and a dict of values, which the engine binds server-side (never spliced into the
text), and both answer with Arrow tables, so everything above them (schema, writes, queries) is
shared.

``bind`` turns the ``?`` placeholders that the query compiler emits into named, typed ones.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

import pyarrow as pa

# Settings every read runs with: FINAL on ReplacingMergeTree tables (a re-sent event counts once
# before the background merge), without merging across partitions (an event's versions share
# its day); SQL-standard NULLs for the missing side of a join.
READ_SETTINGS: dict[str, Any] = {
    "final": 1,
    "do_not_merge_across_partitions_select_final": 1,
    "join_use_nulls": 1,
    # `SELECT toStartOfHour(time) AS time … WHERE time >= ?` filters on the column, as in DuckDB.
    "prefer_column_name_to_alias": 1,
}


class TransportError(Exception):
    """The engine refused or failed a statement."""


class Transport(Protocol):
    """One connection to a ClickHouse engine."""

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement without a result (DDL, INSERT … SELECT, DELETE)."""

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """Run a query; its result as an Arrow table."""

    def insert(self, table: str, data: pa.Table) -> None:
        """Insert an Arrow table into ``table`` by column name."""

    def close(self) -> None:
        """Release the connection."""


# -- placeholders -------------------------------------------------------------------------------
def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "UInt64" if value >= 2**63 else "Int64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, dt.datetime):
        return "DateTime64(3, 'UTC')"
    if isinstance(value, dt.date):
        return "Date"
    if isinstance(value, str):
        return "String"
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return "Array(UInt64)" if any(v >= 2**63 for v in value) else "Array(Int64)"
        if all(isinstance(v, str) for v in value):
            return "Array(String)"
    raise TypeError(f"cannot bind a {type(value).__name__} as a query parameter")


def _text_of(value: Any) -> str:
    """A value in the plain text form a ``{name:Type}`` parameter is parsed from."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        text: str = repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
        return text
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        stamp: str = value.strftime("%Y-%m-%d %H:%M:%S.")
        return stamp + f"{value.microsecond // 1000:03d}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# What ``bind`` looks at: quoted text (a doubled quote or a backslash escapes one), comments
# (a string or comment left open runs to the end) and the placeholders outside them.
_TOKENS = re.compile(
    r"""'(?:[^'\\]++|\\.?|'')*+(?:'|\Z)|"(?:[^"\\]++|\\.?|"")*+(?:"|\Z)"""
    r"""|`(?:[^`\\]++|\\.?|``)*+(?:`|\Z)"""
    r"|--[^\n]*|/\*.*?(?:\*/|\Z)|\?",
    re.S,
)


def bind(sql: str, params: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """Replace each ``?`` outside quotes and comments with ``{pN:Type}``; return the new SQL and
    the values: scalars as text, lists as lists (each transport writes them in the form its
    engine reads). ``None`` becomes the literal ``NULL`` (it carries no data). Raises ValueError
    when the counts differ, TypeError for a value of no known type."""
    out: list[str] = []
    values: dict[str, Any] = {}
    n = done = 0
    for token in _TOKENS.finditer(sql):
        if token.group() != "?":
            continue
        if n >= len(params):
            raise ValueError("more ? placeholders than parameters")
        out.append(sql[done : token.start()])
        done = token.end()
        value = params[n]
        if value is None:
            out.append("NULL")
        else:
            name = f"p{n}"
            out.append(f"{{{name}:{_type_of(value)}}}")
            values[name] = list(value) if isinstance(value, (list, tuple)) else _text_of(value)
        n += 1
    if n != len(params):
        raise ValueError(f"{len(params)} parameters for {n} placeholders")
    out.append(sql[done:])
    return "".join(out), values


def _escape(text: str) -> str:
    # Parameter values are read in the TSV "escaped" text form: backslash and control characters
    # are escaped, nothing else (docs: "Queries with Parameters").
    return (
        text.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\0", "\\0")
    )


def _quoted(text: str) -> str:
    return "'" + _escape(text).replace("'", "\\'") + "'"


def _param_text(value: Any) -> str:
    """A bound value as chdb reads a parameter: scalars in the escaped text form, arrays as
    array literals (elements quoted and escaped)."""
    if isinstance(value, list):
        return "[" + ",".join(_quoted(v) if isinstance(v, str) else str(v) for v in value) + "]"
    return _escape(str(value))


def _with_settings(sql: str, settings: Mapping[str, Any]) -> str:
    if not settings:
        return sql
    return f"{sql}\nSETTINGS " + ", ".join(f"{k} = {v!r}" for k, v in settings.items())


# -- chdb: the engine in this process --------------------------------------------------------------
class _Engine:
    """chdb allows one engine (one data path) per process: stores of the same path share it."""

    lock = threading.Lock()
    conn: Any = None
    path: str | None = None
    database: str | None = None  # the connection's current database
    users = 0


class ChdbTransport:
    """The ClickHouse engine in this process, on the files under ``path`` (``:memory:``), in
    ``database`` (created when missing)."""

    def __init__(self, path: str, database: str = "openrum") -> None:
        import chdb

        if not database.replace("_", "").isalnum():
            raise TransportError(f"invalid database name {database!r}")
        self.database = database

        with _Engine.lock:
            if _Engine.conn is not None and _Engine.path != path:
                raise TransportError(
                    f"chdb runs one data path per process: {_Engine.path} is open, not {path}"
                )
            if _Engine.conn is None:
                try:
                    _Engine.conn = chdb.connect(path)  # type: ignore[no-untyped-call]
                except Exception as e:  # chdb raises RuntimeError and its own ChdbError
                    raise TransportError(str(e)) from e
                _Engine.path = path
            _Engine.users += 1
            try:
                _Engine.conn.query(f"CREATE DATABASE IF NOT EXISTS `{database}`")
            except Exception as e:
                raise TransportError(str(e)) from e
        self._closed = False

    def _use(self, conn: Any) -> None:
        # Stores of one process share the connection: each statement runs in its database.
        if _Engine.database != self.database:
            conn.query(f"USE `{self.database}`")
            _Engine.database = self.database

    def _run(self, sql: str, params: Mapping[str, Any] | None, fmt: str) -> Any:
        escaped = {k: _param_text(v) for k, v in (params or {}).items()}
        with _Engine.lock:
            conn = _Engine.conn
            if conn is None or self._closed:
                raise TransportError("the chdb store is closed")
            try:
                self._use(conn)
                return conn.query(sql, fmt, params=escaped)
            except Exception as e:
                raise TransportError(str(e)) from e

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, params, "CSV")

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        table: pa.Table = self._run(_with_settings(sql, READ_SETTINGS), params, "Arrowtable")
        return table

    def insert(self, table: str, data: pa.Table) -> None:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, data.schema) as writer:
            writer.write_table(data)
        columns = ", ".join(f"`{c}`" for c in data.column_names)
        with _Engine.lock:
            conn = _Engine.conn
            if conn is None or self._closed:
                raise TransportError("the chdb store is closed")
            try:
                self._use(conn)
                inserter = conn.send_insert(f"INSERT INTO {table} ({columns})", "ArrowStream")
                try:
                    inserter.append(sink.getvalue().to_pybytes())
                    inserter.finish()
                except BaseException:
                    inserter.cancel()
                    raise
            except Exception as e:
                raise TransportError(str(e)) from e

    def close(self) -> None:
        with _Engine.lock:
            if self._closed:
                return
            self._closed = True
            _Engine.users -= 1
            if _Engine.users == 0 and _Engine.conn is not None:
                _Engine.conn.close()
                _Engine.conn = None
                _Engine.path = None
                _Engine.database = None


# -- HTTP: a ClickHouse server ---------------------------------------------------------------------
class HttpTransport:
    """A ClickHouse server over HTTP: ``clickhouse://user:pass@host:8123/db`` (``clickhouses://``
    for TLS). Each thread gets its own client (an HTTP session is not shared across threads)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.options: dict[str, Any] = {
            "host": parts.hostname or "localhost",
            "port": parts.port or (8443 if parts.scheme == "clickhouses" else 8123),
            "username": unquote(parts.username or "default"),
            "password": unquote(parts.password or ""),
            "database": parts.path.strip("/") or "default",
            "secure": parts.scheme == "clickhouses",
        }
        # Other query parameters are clickhouse-connect's options (compress, connect_timeout…).
        self.options.update(dict(parse_qsl(parts.query)))
        self._local = threading.local()
        self._clients: list[Any] = []
        self._lock = threading.Lock()
        self._client()  # fail now when the server cannot be reached

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            import clickhouse_connect

            try:
                client = clickhouse_connect.get_client(
                    **self.options, settings={"join_use_nulls": 1}
                )
            except Exception as e:  # connection refused, authentication, unknown database
                raise TransportError(str(e)) from e
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        try:
            self._client().command(sql, parameters=dict(params or {}) or None)
        except TransportError:
            raise
        except Exception as e:
            raise TransportError(str(e)) from e

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        try:
            table: pa.Table = self._client().query_arrow(
                sql, parameters=dict(params or {}) or None, settings=READ_SETTINGS
            )
        except TransportError:
            raise
        except Exception as e:
            raise TransportError(str(e)) from e
        return table

    def insert(self, table: str, data: pa.Table) -> None:
        try:
            self._client().insert_arrow(table, data)
        except TransportError:
            raise
        except Exception as e:
            raise TransportError(str(e)) from e

    def close(self) -> None:
        with self._lock:
            for client in self._clients:
                client.close()
            self._clients.clear()
