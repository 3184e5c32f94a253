"""The batch writer: one thread that owns every write to the store.

It has the batch step (a child process: enrich/process.py) read a batch of the spool's fsynced
records and enrich it, and writes it, the child reading and enriching the next batch meanwhile;
a segment is deleted once all its records are stored. It wakes on a timer (``flush_interval_s``,
at most 1 s) or when asked to flush. A failed write is retried with the same batch while the
spool absorbs new beacons: nothing accepted is dropped. Other writes (applications) run here too,
through ``call``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from openrum import privacy, sessions
from openrum.collect.metrics import Metrics
from openrum.collect.spool import Range, Raw, Spool, read_batch
from openrum.enrich.process import BatchStepError, PipelineProcess, data_tag
from openrum.malloc import trim
from openrum.rows import Batch
from openrum.settings import Settings, background
from openrum.store.base import Store, StoreError

log = logging.getLogger("openrum.writer")
T = TypeVar("T")


class BatchWriter:
    """Spool in, batches out, on one thread."""

    def __init__(self, store: Store, settings: Settings, metrics: Metrics, spool: Spool) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.spool = spool
        # The batch step, in a child process used by the writer thread only. Started now, so
        # that it is ready (its imports take a second) by the time the first beacon arrives;
        # stopped when the server rests (``_rest``), started again by the next batch.
        self.pipeline = PipelineProcess(settings, data_tag(spool.directory))
        self.pipeline.start()
        self._read: dict[int, int] = {}  # segment → bytes read ahead of what is stored
        self._ahead: list[Range] | None = None  # submitted to the batch step
        self.closer = sessions.Closer(store, settings, time.time)  # issue 4: session closer
        self._positions: dict[int, int] = {}  # segment → bytes consumed
        self._calls: list[tuple[Callable[[Store], Any], Future[Any]]] = []
        self._wake = threading.Event()
        self._stopping = False
        self._progress = threading.Condition()
        self.written = 0  # spooled records stored (replayed ones included)
        # Paused: nothing is written to the store (a backup of its files is consistent); the
        # collector keeps accepting into the spool. Stopping writes what is spooled regardless.
        self.paused = settings.start_paused
        self._thread = threading.Thread(target=self._run, name="openrum-writer", daemon=True)
        self._pages_loaded = False
        self.listeners: list[Callable[[], None]] = []  # called after each successful write
        self._failing_since: float | None = None  # monotonic time of the first failed write
        self.last_error = ""
        self._wrote = time.monotonic()  # when the last batch was stored (or the start)
        self._rested = False

    def failing_for(self) -> float:
        """Seconds since store writes began to fail (0 while they succeed)."""
        since = self._failing_since
        return time.monotonic() - since if since is not None else 0.0

    @property
    def depth(self) -> int:
        """Beacons accepted and not yet stored: those the spool held at start (a crash or a
        stop left them; ``written`` counts them as they are stored again) and this process's."""
        return max(self.spool.recovered + self.spool.appended - self.written, 0)

    def call(self, fn: Callable[[Store], T]) -> Future[T]:
        """Run ``fn(store)`` on the writer thread; the future holds its result or exception."""
        future: Future[T] = Future()
        if not self._thread.is_alive():
            try:
                future.set_result(fn(self.store))
            except Exception as e:  # the caller receives it through the future
                future.set_exception(e)
            return future
        self._calls.append((fn, future))
        self._wake.set()
        return future

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Store what is spooled (within ``timeout``), then stop the thread.

        What is not stored by then stays in the spool and is stored after the next start.
        """
        self._stopping = True
        self._deadline = time.monotonic() + timeout
        self._wake.set()
        self._thread.join(timeout + 1)
        self.pipeline.close()
        self.spool.close()
        self._prune()

    def pause(self) -> None:
        """Stop writing to the store until ``resume``; beacons keep arriving in the spool."""
        self.paused = True
        self.call(lambda store: None).result(timeout=60)  # the batch in flight is done
        log.warning("writes paused: beacons are spooled until writes resume")

    def resume(self) -> None:
        """Write again, starting with what was spooled meanwhile."""
        self.paused = False
        self._wake.set()
        log.warning("writes resumed")

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every beacon spooled so far is stored; True when it was in time."""
        target = self.spool.appended
        self._wake.set()
        with self._progress:
            return self._progress.wait_for(lambda: self.written >= target, timeout)

    # -- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        # Requests come first: this thread (and the batch step process) run at a lower priority.
        background(self.settings.background_nice, self.settings.background_idle)
        next_retention = time.monotonic() + 60  # first pass a minute after start
        while True:
            self._wake.wait(self.settings.flush_interval_s)
            self._wake.clear()
            worked = self._run_calls()
            if time.monotonic() >= next_retention and not self.paused:
                next_retention = time.monotonic() + self.settings.retention_interval_s
                self._expire()
                worked = True
            if not self.paused:
                worked |= self._sessions()
            if not self.paused or self._stopping:
                self._drain()
            if self._ahead is None:  # no batch submitted
                self._rest(worked)
            if self._stopping and (self._pending() == 0 or time.monotonic() > self._deadline):
                self._run_calls()
                return

    def _rest(self, worked: bool) -> None:
        """Once no batch came for ``rest_after_s``: stop the batch step process, and have the
        store give back what it cached (both come back with the next batch); again after each
        piece of background work done at rest (``worked``: alerts, the session closer)."""
        after = self.settings.rest_after_s
        if after <= 0 or time.monotonic() - self._wrote < after or (self._rested and not worked):
            return
        self.pipeline.close()
        try:
            self._rested = self.store.rest()
        except Exception as e:  # tried again a second later; never ends the thread
            log.error("store could not rest: %s", e, exc_info=not isinstance(e, StoreError))
        trim()  # what the store freed

    def _expire(self) -> None:
        try:
            deleted = privacy.expire_all(self.store, self.settings, int(time.time() * 1000))
        except StoreError as e:
            log.error("retention job failed: %s", e)
            return
        for table, n in deleted.items():
            self.metrics.expired[table] += n

    def _sessions(self) -> bool:
        """Apps' rules into the batch step; close due sessions on their timer (sessions.py).
        True when the closer ran."""
        due = self.closer.next_run
        try:
            apps = self.store.list_apps()
            self.pipeline.set_apps(apps)
            if not self._pages_loaded:
                self.pipeline.load_pages(self.store)
                self._pages_loaded = True
            self.closer.tick(apps)
        except (StoreError, BatchStepError) as e:
            log.error("session closer failed: %s", e)
        return self.closer.next_run != due

    def _enrich(self, items: list[Raw], drops: Counter[str]) -> Batch:
        """The batch step; a beacon it cannot process is set aside, never lost or retried forever.

        Such a beacon passed the collector's checks, so this is a bug: it is written to
        ``spool/rejected.log`` for inspection and counted as ``batch_error``.
        """
        try:
            return self.pipeline.run(items, drops)
        except Exception:
            log.exception("batch step failed; isolating the beacon that fails")
        return self._isolate(items, drops)

    def _isolate(self, items: list[Raw], drops: Counter[str]) -> Batch:
        """A batch that failed as a whole: each half on its own, down to single beacons."""
        if len(items) == 1:
            drops["batch_error"] += 1
            with (self.spool.directory / "rejected.log").open("ab") as f:
                f.write(items[0].body + b"\n")
            return Batch()
        half = len(items) // 2
        return Batch.concat([self._enrich(items[:half], drops), self._enrich(items[half:], drops)])

    def _prune(self) -> None:
        """Delete closed segments whose records are all stored."""
        for segment, readable, closed in self.spool.segments():
            if closed and self._positions.get(segment, 0) >= readable:
                self.spool.delete(segment)
                self._positions.pop(segment, None)
                self._read.pop(segment, None)

    def _run_calls(self) -> bool:
        """Run the calls waiting; True when there were any."""
        ran = bool(self._calls)
        while self._calls:
            fn, future = self._calls.pop(0)
            try:
                future.set_result(fn(self.store))
            except Exception as e:  # the caller receives it through the future
                future.set_exception(e)
        return ran

    def _pending(self) -> int:
        return sum(size - self._positions.get(n, 0) for n, size, _ in self.spool.segments())

    def _ranges(self) -> list[Range]:
        """What the spool holds that is not read yet: (segment, from, readable, closed)."""
        self._prune()  # segments stored in full since the last write
        ranges = []
        for segment, readable, closed in self.spool.segments():
            start = self._read.get(segment, self._positions.get(segment, 0))
            if start < readable:
                ranges.append((segment, start, readable, closed))
        return ranges

    def _read_args(self, ranges: list[Range]) -> tuple[Path, list[Range], int, int]:
        """``spool.read_batch``'s arguments: up to ``write_max_events`` events, a few MB at a
        time (a backlog can be a whole segment)."""
        chunk = 8 * 2**20 + 2 * self.settings.max_decompressed_bytes
        return self.spool.directory, ranges, self.settings.write_max_events, chunk

    def _next(self) -> list[Range] | None:
        """The ranges of the next batch, already submitted to the batch step; None when none."""
        ranges = self._ranges()
        if not ranges:
            return None
        self.pipeline.submit(*self._read_args(ranges))
        return ranges

    def _finish(
        self, ranges: list[Range], drops: Counter[str]
    ) -> tuple[Batch, dict[int, int], int]:
        """The batch step's answer for ``ranges`` (submitted by ``_next``): the batch, the
        positions its records end at, and how many records it holds."""
        try:
            batch, ends, records = self.pipeline.result(drops)
        except Exception:
            log.exception("batch step failed; isolating the beacon that fails")
            # The same records (the spool does not change behind a read), read here.
            items, ends, torn = read_batch(*self._read_args(ranges))
            if torn:
                drops["spool_torn_record"] += torn
            batch, records = self._isolate(items, drops), len(items)
        self._read.update(ends)
        return batch, ends, records

    def _drain(self) -> None:
        """Store what is spooled, a batch of up to ``write_max_events`` at a time. The batch step
        (another process) enriches the next batch while the store writes this one."""
        ahead = self._ahead or self._next()
        self._ahead = None
        while ahead is not None and (not self.paused or self._stopping):
            drops: Counter[str] = Counter()  # per reason: counted once the batch is stored
            began = time.perf_counter()
            batch, positions, records = self._finish(ahead, drops)
            ahead = self._next() if positions else None  # none: nothing whole to read yet
            if not self._write(batch):
                self._ahead = ahead
                return
            self.metrics.dropped.update(drops)
            self.metrics.observe_flush(time.perf_counter() - began)
            self._wrote, self._rested = time.monotonic(), False
            for table in ("actions", "errors", "user_events"):
                self.metrics.stored[table] += len(getattr(batch, table) or ())
            self._positions.update(positions)
            self._prune()
            del batch  # its buffers go back to the system before the next batch
            pa.default_memory_pool().release_unused()
            trim()  # and what the store's write freed
            with self._progress:
                self.written += records
                self._progress.notify_all()
            for listener in self.listeners:
                listener()
            self._run_calls()  # between batches: a long backlog does not hold calls up
        self._ahead = ahead

    def _write(self, batch: Batch) -> bool:
        """Write, retrying while the store fails; False when stopping past the deadline."""
        while True:
            try:
                if len(batch):
                    self.store.write(batch)
                self._failing_since = None
                return True
            except Exception as e:  # a bug too: retried, counted, never ends the thread
                self.metrics.flush_failures += 1
                self.last_error = f"{type(e).__name__}: {e}"[:500]
                if self._failing_since is None:
                    self._failing_since = time.monotonic()
                # A store error says what failed; anything else is a bug: its traceback too.
                log.error(
                    "batch write failed, retrying: %s", e, exc_info=not isinstance(e, StoreError)
                )
                if self._stopping and time.monotonic() > self._deadline:
                    return False
                time.sleep(min(self.settings.flush_interval_s, 1.0))
                self._run_calls()
