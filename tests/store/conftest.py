"""Stores for the contract suite: a DuckDB file, the ClickHouse engine in process (chdb), and a
ClickHouse server over HTTP (``clickhouse://``, clickhouse-connect): ``OPENRUM_CLICKHOUSE_URL``
(``clickhouse://user:pass@host:8123/db``) when set, otherwise the HTTP front over chdb in
tests/clickhouse_front.py, started once per test session. Each store gets a database of its own.

Migrating a fresh ClickHouse database takes ~200 statements (seconds, more on a loaded machine), so
the suite's databases (chdb's and the server's) are reused: after a test its database is emptied
(every table truncated, the record of migrations kept) and handed to the next one — only when its
schema is still exactly what the migrations make (same tables, same definitions, every migration
recorded); otherwise it is dropped.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from openrum.store import open_store
from openrum.store.base import Store

SERVER = os.environ.get("OPENRUM_CLICKHOUSE_URL")
BACKENDS = ["duckdb", "chdb", "clickhouse"]
_numbers = itertools.count()

Opener = Callable[[], Store]


class _Server:
    """The ClickHouse server of this test session."""

    url: str | None = SERVER


class _Pool:
    """Empty, migrated databases of one engine (chdb, the server), and a migrated one's shape."""

    def __init__(self) -> None:
        self.free: list[str] = []
        self.shape: Any = None  # a migrated database's tables and migrations


_POOLS = {"chdb": _Pool(), "clickhouse": _Pool()}


def server_url(database: str = "default") -> str:
    """A URL of the ClickHouse server, on ``database``; the front starts on first use."""
    if _Server.url is None:
        from tests import clickhouse_front

        data = tempfile.mkdtemp(prefix="openrum-clickhouse-front-")
        front = clickhouse_front.start(data)
        atexit.register(shutil.rmtree, data, True)
        atexit.register(front.stop)  # runs first
        _Server.url = front.url
    return urlunsplit(urlsplit(_Server.url)._replace(path=f"/{database}"))


def _url(backend: str, database: str, chdb_path: Path) -> str:
    if backend == "chdb":
        return f"chdb:///{chdb_path}?database={database}"
    return server_url(database)


def _transport(backend: str, database: str, chdb_path: Path) -> Any:
    from openrum.store.transport import ChdbTransport, HttpTransport

    if backend == "chdb":  # the data path as the stores' URLs name it (chdb takes one)
        return ChdbTransport(
            _url(backend, database, chdb_path)[len("chdb://") :].split("?")[0], database
        )
    return HttpTransport(server_url(database))


def _command(sql: str, database: str = "default") -> None:
    from openrum.store.transport import HttpTransport

    t = HttpTransport(server_url(database))
    try:
        t.command(sql)
    finally:
        t.close()


def _shape(t: Any) -> tuple[Any, ...]:
    """A database's tables (with their definitions) and the migrations recorded in it."""
    from openrum.store.clickhouse import rows_of

    tables = rows_of(t.query(
        "SELECT name, engine, replaceAll(create_table_query, currentDatabase(), '') "
        "FROM system.tables WHERE database = currentDatabase() ORDER BY name"
    ))[1]  # fmt: skip
    done = rows_of(t.query("SELECT name FROM schema_migrations ORDER BY name"))[1]
    return tuple(tables), tuple(done)


def _pooled_database(backend: str, chdb_path: Path) -> str:
    """An empty, migrated database of ``backend``: from its pool, or a new one."""
    pool = _POOLS[backend]
    if pool.free:
        return pool.free.pop()
    database = f"contract_{os.getpid()}_{next(_numbers)}_{secrets.token_hex(4)}"
    if backend == "clickhouse":
        _command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    if pool.shape is None:
        open_store(_url(backend, database, chdb_path)).close()  # migrated: the shape to keep
        t = _transport(backend, database, chdb_path)
        pool.shape = _shape(t)
        t.close()
        if backend == "clickhouse":
            atexit.register(_drop_pool)
    return database


def recycle(backend: str, database: str, chdb_path: Path) -> None:
    """Back to the pool, emptied, when its schema is the migrations' own; dropped otherwise."""
    pool = _POOLS[backend]
    t = _transport(backend, database, chdb_path)
    try:
        if _shape(t) != pool.shape:
            t.command(f"DROP DATABASE IF EXISTS `{database}`")
            return
        for name, engine, _ in pool.shape[0]:
            if engine.endswith("MergeTree") and name != "schema_migrations":
                t.command(f"TRUNCATE TABLE `{name}`")
    finally:
        t.close()
    pool.free.append(database)


def _drop_pool() -> None:
    if SERVER:  # (the front's files go with it)
        for database in _POOLS["clickhouse"].free:
            _command(f"DROP DATABASE IF EXISTS `{database}`")


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # chdb runs one data path per process: every chdb store of the run lives under it, each in
    # a database of its own.
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def url_for(backend: str, chdb_path: Path, tmp_path: Path) -> tuple[str, str]:
    """A fresh store URL on ``backend`` and the database name it uses."""
    # Unique even when this module is imported twice (as a conftest and by test modules).
    database = f"contract_{os.getpid()}_{next(_numbers)}_{secrets.token_hex(4)}"
    if backend == "duckdb":
        return f"duckdb:///{tmp_path / (database + '.duckdb')}", database
    if backend == "chdb":
        return f"chdb:///{chdb_path}?database={database}", database
    database = _pooled_database(backend, chdb_path)
    return server_url(database), database


@contextlib.contextmanager
def shared_store(backend: str, chdb_path: Path, tmp_path: Path) -> Iterator[Store]:
    """A store that a module's tests share: a new DuckDB file, or a database of the pool
    (migrated already), emptied and given back when the module is done."""
    if backend == "duckdb":
        store = open_store(url_for(backend, chdb_path, tmp_path)[0])
        try:
            yield store
        finally:
            store.close()
        return
    database = _pooled_database(backend, chdb_path)
    store = open_store(_url(backend, database, chdb_path))
    try:
        yield store
    finally:
        store.close()
        recycle(backend, database, chdb_path)


@pytest.fixture
def opener(backend: str, chdb_path: Path, tmp_path: Path) -> Iterator[Opener]:
    """Opens stores on one fresh database of ``backend``: call it twice for two writers."""
    if backend == "duckdb":
        url, database = url_for(backend, chdb_path, tmp_path)
    else:  # a database of the pool, emptied after the test
        database = _pooled_database(backend, chdb_path)
        url = _url(backend, database, chdb_path)
    opened: list[Store] = []

    def open_() -> Store:
        store = open_store(url)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()
    if backend != "duckdb":
        recycle(backend, database, chdb_path)


@pytest.fixture
def store(opener: Opener) -> Store:
    return opener()
