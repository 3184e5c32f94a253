"""The batch writer: one thread that owns every write to the store.

The collector appends received beacons to a bounded queue and replies at once. This thread wakes
on a timer (``flush_interval_s``, at most 1 s) or when ``flush_max_events`` are waiting, runs the
enrichment pipeline on the whole batch and writes it. A failed write is retried with the same
batch: nothing accepted is dropped. Other writes (applications) run here too, through ``call``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import msgspec

from openrum.collect.beacon import Beacon
from openrum.collect.metrics import Metrics
from openrum.enrich import pipeline
from openrum.rows import Batch
from openrum.settings import Settings
from openrum.store.base import Store, StoreError

log = logging.getLogger("openrum.writer")
_decoder = msgspec.json.Decoder(Beacon)
T = TypeVar("T")


class Raw(msgspec.Struct, gc=False):
    """A validated beacon as the collector queues it: the body bytes and the stamp.

    Bytes and strings are not tracked by the garbage collector, so a deep queue costs no GC
    passes on the hot path; the batch step decodes the body again (a few µs).
    """

    body: bytes
    events: int
    received: int  # server clock, epoch ms
    ip: str
    ua: str
    origin: str | None = None


class BatchWriter:
    """Queue in, batches out, on one thread."""

    def __init__(self, store: Store, settings: Settings, metrics: Metrics) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self._queue: deque[Raw] = deque()
        self._queued_events = 0
        self._calls: deque[tuple[Callable[[Store], Any], Future[Any]]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        # Beacons put and beacons written: flush() waits for the second to reach the first.
        self._put = 0
        self._written = 0
        self._progress = threading.Condition()
        self._retry: Batch | None = None
        self._batch_items = 0
        self._thread = threading.Thread(target=self._run, name="openrum-writer", daemon=True)
        self.listeners: list[Callable[[], None]] = []  # called after each successful write

    # -- called from the event loop -----------------------------------------------------------
    def put(self, item: Raw) -> bool:
        """Queue a beacon; False when the queue is full (the collector answers 503)."""
        if len(self._queue) >= self.settings.queue_max_beacons:
            return False
        self._queue.append(item)
        self._put += 1
        self._queued_events += item.events
        if self._queued_events >= self.settings.flush_max_events and not self._wake.is_set():
            self._wake.set()
        return True

    @property
    def depth(self) -> int:
        """Beacons accepted and not yet stored."""
        return len(self._queue)

    def call(self, fn: Callable[[Store], T]) -> Future[T]:
        """Run ``fn(store)`` on the writer thread; the future holds its result or exception."""
        future: Future[T] = Future()
        if not self._thread.is_alive():
            future.set_result(fn(self.store))
            return future
        self._calls.append((fn, future))
        self._wake.set()
        return future

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is stored; True when it was in time."""
        target = self._put
        self._wake.set()
        with self._progress:
            return self._progress.wait_for(lambda: self._written >= target, timeout)

    # -- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._wake.wait(self.settings.flush_interval_s)
            self._wake.clear()
            self._run_calls()
            self._drain()
            if self._stopping and not self._queue and self._retry is None:
                self._run_calls()
                return

    def _run_calls(self) -> None:
        while self._calls:
            fn, future = self._calls.popleft()
            try:
                future.set_result(fn(self.store))
            except Exception as e:  # the caller receives it through the future
                future.set_exception(e)

    def _drain(self) -> None:
        while self._retry is not None or self._queue:
            batch = self._retry
            if batch is None:
                items: list[pipeline.Received] = []
                events = 0
                while self._queue and events < self.settings.flush_max_events:
                    raw = self._queue.popleft()
                    events += raw.events
                    beacon = _decoder.decode(raw.body)  # validated by the collector already
                    items.append(
                        pipeline.Received(beacon, raw.received, raw.ip, raw.ua, raw.origin)
                    )
                self._queued_events -= events
                ctx = pipeline.Context(self.settings)
                began = time.perf_counter()
                batch = pipeline.run(items, ctx)
                self.metrics.dropped.update(ctx.drops)
                self._batch_items = len(items)
            else:
                began = time.perf_counter()
            try:
                self.store.write(batch)
            except StoreError as e:
                self.metrics.flush_failures += 1
                log.error("batch write failed, retrying: %s", e)
                self._retry = batch
                if self._stopping:
                    return
                time.sleep(min(self.settings.flush_interval_s, 1.0))
                continue
            self._retry = None
            with self._progress:
                self._written += self._batch_items
                self._progress.notify_all()
            self.metrics.observe_flush(time.perf_counter() - began)
            self.metrics.stored["actions"] += len(batch.actions)
            self.metrics.stored["errors"] += len(batch.errors)
            self.metrics.stored["user_events"] += len(batch.user_events)
            for listener in self.listeners:
                listener()
