"""Compose the server: store → batch writer → collector (hot path) + web app (API, dashboard)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import gc
import logging
import secrets
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from openrum.alerts.scheduler import Scheduler
from openrum.collect.app import Collector
from openrum.collect.metrics import Metrics
from openrum.collect.spool import Spool
from openrum.collect.writer import BatchWriter
from openrum.enrich.symbolicate import Symbolicator
from openrum.query.model import QueryError
from openrum.settings import Settings
from openrum.sourcemaps import open_maps
from openrum.store.base import Store, StoreError
from openrum.web import (
    actions,
    alerts,
    api,
    apps,
    checks,
    distribution,
    errors,
    openapi,
    releases,
    sessions,
    sourcemaps,
)
from openrum.web.auth import Auth
from openrum.web.routing import Fallback
from openrum.web.static import Dashboard

log = logging.getLogger("openrum.server")

DASHBOARD = Path(str(resources.files("openrum.web"))) / "static"


class Server:
    """Everything one ``openrum serve`` process runs; ``app`` is its ASGI entry point."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        data: Path,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if not settings.sourcemaps_dir:
            settings = dataclasses.replace(settings, sourcemaps_dir=str(data / "sourcemaps"))
        self.store = store
        self.settings = settings
        self.metrics = Metrics()
        self.spool = Spool(data / "spool", settings.spool_max_bytes, settings.spool_segment_bytes)
        self.writer = BatchWriter(store, settings, self.metrics, self.spool)
        self.collector = Collector(settings, self.writer, self.metrics)
        self.collector.set_apps(store.list_apps())
        self.alerts = Scheduler(  # docs/alerts.md: evaluates while it holds the store's lease
            store, settings, lambda fn: self.writer.call(fn).result(), metrics=self.metrics
        )
        # The CLI on this machine acts through the server with this key (DATA/server.json).
        self.admin_key = secrets.token_urlsafe(32)
        self.auth = Auth(
            store,
            self._write,
            self.admin_key,
            settings.login_attempts_per_min,
            settings.login_session_hours,
            settings.metrics_public,
            settings.body_timeout_s,
        )
        maps = open_maps(settings)
        assert maps is not None  # sourcemaps_dir is set above
        symbolicator = Symbolicator(
            maps, settings.sourcemap_cache_size, settings.sourcemap_fetch_timeout_s
        )
        self.web = Starlette(
            routes=[
                *api.routes(
                    store, self.writer, self.collector, settings, self.auth, self.metrics, now
                ),
                *apps.routes(store, self.writer, self.collector),
                *errors.routes(store, self.collector, settings, now, symbolicator, self.writer),
                *sourcemaps.routes(maps, symbolicator, settings.sourcemap_max_request_bytes),
                *actions.routes(store, self.collector, settings, now),
                *distribution.routes(store, self.collector, settings, now),
                *sessions.routes(store, self.collector, settings, now),
                *alerts.routes(store, self.writer, self.collector, settings, now),
                *releases.routes(store, self.collector, settings),
                *checks.routes(store, self.writer, self.collector, settings),
                *openapi.routes(),
                *self._dashboard_routes(),
            ],
            exception_handlers={
                api.ApiError: api.handle_error,
                QueryError: api.handle_error,
                StoreError: api.handle_store_error,
            },
            lifespan=self._lifespan,
        )
        self.collector.fallback = self.auth.wrap(self.web)
        self.app = self.collector

    async def _write(self, fn: Callable[[Store], Any]) -> Any:
        return await asyncio.wrap_future(self.writer.call(fn))

    def _dashboard_routes(self) -> list[Route | Mount]:
        # Last: for the paths no route above knows (and 405 for a method none of theirs).
        if (DASHBOARD / "manifest.json").is_file():
            return [Fallback(Dashboard(DASHBOARD))]
        return [Fallback(PlainTextResponse("dashboard not built: run `make web`\n", 503))]

    def _pause(self) -> None:
        threading.Thread(target=self.writer.pause, name="openrum-pause", daemon=True).start()

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        # Everything allocated so far (modules, parsers, catalogues) lives as long as the process:
        # move it out of the collector's sight, and collect young objects less often. Batches
        # allocate many short-lived objects; full passes over a large heap are what costs.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 50)
        # The writer thread holds the interpreter lock between its database calls: the event
        # loop waits at most this.
        sys.setswitchinterval(self.settings.switch_interval_ms / 1000)
        self.writer.start()
        self.alerts.start()
        loop = asyncio.get_running_loop()
        # Operators pause writes to copy the store's files consistently (docs/operations.md);
        # the spool keeps accepting meanwhile, up to spool_max_bytes.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGUSR1, self._pause)
            loop.add_signal_handler(signal.SIGUSR2, self.writer.resume)
        try:
            yield
        finally:
            self.alerts.stop()
            self.writer.stop(self.settings.shutdown_timeout_s)  # closes the spool too
            self.store.close()
