"""The spool: an append-only, fsynced log of accepted beacons between the collector and the store.

"Accepted" means durable: the collector answers 202 only after the beacon's record is written and
fsynced. Records that arrive while an fsync is in flight are written together by the next one
(group commit), so one fsync serves every concurrent request. The batch writer reads records up to
the last fsynced offset, stores them, and deletes a segment once all of it is stored. After a crash
the remaining segments are read again from the start: the store keeps every event once.

A record is ``length (4 bytes) | crc32 (4 bytes) | msgpack [received, events, ip, ua, origin,
body]``; a torn record at the end of a segment (a crash in the middle of a write) fails its length
or CRC check and ends that segment: it was never acknowledged.
"""

from __future__ import annotations

import asyncio
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec


class Raw(msgspec.Struct, gc=False):
    """An accepted beacon as the collector spools it: the body bytes and the stamp.

    Bytes and strings are not tracked by the garbage collector, so a batch of them costs no GC
    passes; the batch step decodes the body again (a few µs).
    """

    body: bytes
    events: int
    received: int  # server clock, epoch ms
    ip: str
    ua: str
    origin: str | None = None


_HEADER = struct.Struct("<II")
_SUFFIX = ".seg"


def encode(raw: Raw) -> bytes:
    """One framed record."""
    payload = msgspec.msgpack.encode(
        (raw.received, raw.events, raw.ip, raw.ua, raw.origin, raw.body)
    )
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


_record = msgspec.msgpack.Decoder(tuple[int, int, str, str, str | None, bytes])


def read_records(data: bytes) -> Iterator[tuple[int, Raw]]:
    """(offset after the record, record) for every intact record; stops at a torn one."""
    pos = 0
    end = len(data)
    while pos + _HEADER.size <= end:
        length, crc = _HEADER.unpack_from(data, pos)
        start = pos + _HEADER.size
        if start + length > end:
            return
        payload = data[start : start + length]
        if zlib.crc32(payload) != crc:
            return
        try:
            received, events, ip, ua, origin, body = _record.decode(payload)
        except msgspec.DecodeError:
            return
        pos = start + length
        yield pos, Raw(body, events, received, ip, ua, origin)


class Spool:
    """Segments ``NNNNNNNNNN.seg`` in one directory; written by the event loop, read by the writer.

    The loop side (``append``) and the writer side (``ready``/``consumed``) share only integers
    published after each fsync, so no lock is held on the hot path.
    """

    def __init__(self, directory: Path, max_bytes: int, segment_bytes: int) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        existing = sorted(int(p.stem) for p in directory.glob("*" + _SUFFIX))
        self._sizes: dict[int, int] = {n: self._path(n).stat().st_size for n in existing}
        self.current = (existing[-1] + 1) if existing else 1
        self._sizes[self.current] = 0
        self._fd = os.open(self._path(self.current), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._synced = dict(self._sizes)  # segment → bytes fsynced (what readers may read)
        self._closed = set(existing)  # segments no longer written to
        self._buffer = bytearray()
        self._group: asyncio.Future[None] | None = None  # the records in _buffer await it
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flushing = False
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="openrum-spool")
        self._lock = threading.Lock()  # guards _sizes/_synced/_closed between loop and writer
        self._on_disk = sum(self._sizes.values())  # their sum, published under the lock
        self.appended = 0  # records appended (loop side)

    def _path(self, n: int) -> Path:
        return self.directory / f"{n:010d}{_SUFFIX}"

    @property
    def size(self) -> int:
        """Bytes in the spool (written or waiting), not yet stored and deleted."""
        return self._on_disk + len(self._buffer)

    # -- the event loop side ------------------------------------------------------------------
    def append(self, record: bytes) -> asyncio.Future[None] | None:
        """Queue a record for the next group fsync; None when the spool is full.

        The future (one for every record of the group) resolves once the record is on disk.
        Requests share it, so one cancelled while awaiting it (uvicorn cancels only at shutdown)
        cancels it for its whole group.
        """
        if self._on_disk + len(self._buffer) + len(record) > self.max_bytes:
            return None
        self._buffer += record
        self.appended += 1
        group = self._group
        if group is None:
            if self._loop is None:
                self._loop = asyncio.get_running_loop()
            group = self._group = self._loop.create_future()
            if not self._flushing:
                self._flushing = True
                self._task = self._loop.create_task(self._flush())
        return group

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._buffer:
                data, group = bytes(self._buffer), self._group
                self._buffer, self._group = bytearray(), None
                try:
                    await loop.run_in_executor(self._executor, self._write, data)
                except OSError as e:
                    if group is not None:
                        group.set_exception(e)
                        group.exception()  # marked retrieved: each request awaiting it raises it
                    continue
                if group is not None and not group.done():
                    group.set_result(None)
        finally:
            self._flushing = False

    def _write(self, data: bytes) -> None:
        """Append and fsync (spool thread); rotate when the segment is full."""
        os.write(self._fd, data)
        os.fsync(self._fd)
        with self._lock:
            self._sizes[self.current] += len(data)
            self._synced[self.current] = self._sizes[self.current]
            self._on_disk += len(data)
            if self._sizes[self.current] >= self.segment_bytes:
                self._rotate()

    def _rotate(self) -> None:
        os.close(self._fd)
        self._closed.add(self.current)
        self.current += 1
        self._sizes[self.current] = 0
        self._synced[self.current] = 0
        self._fd = os.open(self._path(self.current), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def close(self) -> None:
        """Stop writing (after the loop has stopped appending); the last segment is closed."""
        self._executor.shutdown(wait=True)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        with self._lock:
            self._closed.add(self.current)

    # -- the writer side ----------------------------------------------------------------------
    def segments(self) -> list[tuple[int, int, bool]]:
        """(segment, bytes readable, closed) for every segment, oldest first."""
        with self._lock:
            return [(n, self._synced[n], n in self._closed) for n in sorted(self._synced)]

    def read(self, segment: int, start: int, end: int) -> bytes:
        """Bytes [start, end) of a segment."""
        with self._path(segment).open("rb") as f:
            f.seek(start)
            return f.read(end - start)

    def delete(self, segment: int) -> None:
        """Drop a closed segment whose records are all stored."""
        with self._lock:
            if segment not in self._closed:
                return
            self._closed.discard(segment)
            self._on_disk -= self._sizes.pop(segment, 0)
            self._synced.pop(segment, None)
        self._path(segment).unlink(missing_ok=True)
