"""The Store protocol: the one seam between OpenRUM and a database engine."""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from openrum.rows import Batch


class StoreError(Exception):
    """The store cannot do what was asked (bad URL, engine failure)."""


class App(msgspec.Struct, omit_defaults=True):
    """An application: one website or SPA and the origins allowed to send beacons for it."""

    id: str
    name: str
    origins: list[str]
    created: int  # epoch ms
    config: dict[str, Any] = {}


class Store(Protocol):
    """What every storage engine provides. ``write`` is called from one writer thread only."""

    engine: str  # the SQL dialect the query compiler targets: "duckdb", "clickhouse"

    def write(self, batch: Batch) -> None:
        """Store a batch; events already stored (same key) are kept once. Raises StoreError."""

    def select(self, sql: str, params: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a read-only query with bound parameters; return column names and rows."""

    def create_app(self, app: App) -> None:
        """Add an application. Raises StoreError when the id exists."""

    def update_app(self, app: App) -> None:
        """Replace an application's name, origins and config. Raises StoreError if unknown."""

    def list_apps(self) -> list[App]:
        """Every application, oldest first."""

    def close(self) -> None:
        """Flush and release the engine."""
