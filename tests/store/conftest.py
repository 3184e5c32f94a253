"""Stores for the contract suite: a DuckDB file, the ClickHouse engine in process (chdb), and a
ClickHouse server when ``OPENRUM_CLICKHOUSE_URL`` is set (``clickhouse://user:pass@host:8123/db``;
each store gets a database of its own on it, dropped afterwards)."""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from openrum.store import open_store
from openrum.store.base import Store

SERVER = os.environ.get("OPENRUM_CLICKHOUSE_URL")
BACKENDS = ["duckdb", "chdb", *(["clickhouse"] if SERVER else [])]
_numbers = itertools.count()

Opener = Callable[[], Store]


def _server_url(database: str) -> str:
    assert SERVER
    return urlunsplit(urlsplit(SERVER)._replace(path=f"/{database}"))


def _drop_server_database(database: str) -> None:
    from openrum.store.transport import HttpTransport

    HttpTransport(_server_url("default")).command(f"DROP DATABASE IF EXISTS `{database}`")


def _create_server_database(database: str) -> None:
    from openrum.store.transport import HttpTransport

    HttpTransport(_server_url("default")).command(f"CREATE DATABASE IF NOT EXISTS `{database}`")


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
    _create_server_database(database)
    return _server_url(database), database


@pytest.fixture
def opener(backend: str, chdb_path: Path, tmp_path: Path) -> Iterator[Opener]:
    """Opens stores on one fresh database of ``backend``: call it twice for two writers."""
    url, database = url_for(backend, chdb_path, tmp_path)
    opened: list[Store] = []

    def open_() -> Store:
        store = open_store(url)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        store.close()
    if backend == "clickhouse":
        _drop_server_database(database)


@pytest.fixture
def store(opener: Opener) -> Store:
    return opener()
