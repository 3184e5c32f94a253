"""Storage: one Store protocol, an embedded DuckDB implementation, a ClickHouse one (server or
in-process chdb), and ``open_store(url)``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from openrum.store.base import App, LoginSession, Store, StoreError, Token

__all__ = ["App", "LoginSession", "Store", "StoreError", "Token", "default_url", "open_store"]


def default_url(data_dir: Path) -> str:
    """The embedded default: one DuckDB file in the data directory."""
    return f"duckdb:///{(data_dir / 'openrum.duckdb').resolve()}"


def open_store(
    url: str, memory_mb: int = 256, workers_nice: int = 0, compact_writes: int = 30
) -> Store:
    """Open (and migrate) the store a URL names: ``duckdb:///path/file.duckdb``,
    ``clickhouse://user:pass@host:8123/db`` (``clickhouses://`` for TLS) or ``chdb:///path``.

    ``memory_mb`` bounds an embedded engine's memory (it spills to disk past it);
    ``workers_nice`` lowers the priority of its worker threads (DuckDB); ``compact_writes`` is
    how many writes the DuckDB rollups' partial rows gather. Raises
    ``StoreError`` for a scheme this build does not support.
    """
    scheme = urlsplit(url).scheme
    if scheme == "duckdb":
        from openrum.store.duckdb import DuckDBStore

        path = url[len("duckdb://") :]
        return DuckDBStore(
            path,
            memory_limit=f"{memory_mb}MB",
            workers_nice=workers_nice,
            compact_every=compact_writes,
        )
    if scheme in ("clickhouse", "clickhouses", "chdb"):
        try:
            from openrum.store.clickhouse import open_clickhouse
        except ImportError as e:  # the optional dependencies: pip install 'openrum[clickhouse]'
            raise StoreError(f"{scheme}:// needs openrum[clickhouse] installed: {e}") from e
        return open_clickhouse(url)
    raise StoreError(
        f"unsupported store URL {url!r}: use duckdb:///path/to/openrum.duckdb, "
        "clickhouse://user:pass@host:8123/db or chdb:///path/to/dir"
    )
