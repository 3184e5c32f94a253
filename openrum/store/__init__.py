"""Storage: one Store protocol, an embedded DuckDB implementation, a ClickHouse one (server or
in-process chdb), and ``open_store(url)``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from openrum.settings import Settings
from openrum.store.base import App, LoginSession, Store, StoreError, Token

__all__ = ["App", "LoginSession", "Store", "StoreError", "Token", "default_url", "open_store"]


def default_url(data_dir: Path) -> str:
    """The embedded default: one DuckDB file in the data directory."""
    return f"duckdb:///{(data_dir / 'openrum.duckdb').resolve()}"


def open_store(url: str, settings: Settings | None = None) -> Store:
    """Open (and migrate) the store a URL names: ``duckdb:///path/file.duckdb``,
    ``clickhouse://user:pass@host:8123/db`` (``clickhouses://`` for TLS) or ``chdb:///path``.

    ``settings``: the server's — the embedded engine's memory bound (it spills past it), its
    rollups' compaction, its checkpoints and its worker threads' lower priority
    (``background_nice``, ``background_idle``). Without them (command-line use): the defaults, at
    normal priority. Raises ``StoreError`` for a scheme this build does not support.
    """
    scheme = urlsplit(url).scheme
    if scheme == "duckdb":
        from openrum.store.duckdb import DuckDBStore

        path = url[len("duckdb://") :]
        s = settings or Settings()
        return DuckDBStore(
            path,
            memory_limit=f"{s.store_memory_mb}MB",
            checkpoint=f"{s.store_checkpoint_mb}MB",
            workers_priority=(s.background_nice, s.background_idle) if settings else None,
            compact_every=s.store_rollup_compact_writes,
            resend_window_s=s.resend_window_s,
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
