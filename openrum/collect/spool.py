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
import contextlib
import os
import struct
import subprocess
import sys
import threading
import weakref
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

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


def segment_path(directory: Path, n: int) -> Path:
    """The file of segment ``n``."""
    return directory / f"{n:010d}{_SUFFIX}"


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


def count_records(path: Path) -> int:
    """How many whole records a segment holds, by their headers alone (a torn last one is not
    counted; nor is a record whose CRC fails, as far as its length is whole)."""
    n = pos = 0
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        while pos + _HEADER.size <= size:
            length, _ = _HEADER.unpack(os.pread(f.fileno(), _HEADER.size, pos))
            pos += _HEADER.size + length
            if pos > size:
                break
            n += 1
    return n


Range = tuple[int, int, int, bool]  # (segment, read from, readable to, closed)


def read_batch(
    directory: Path, ranges: Sequence[Range], limit: int, chunk: int
) -> tuple[list[Raw], dict[int, int], int]:
    """The records of ``ranges`` (oldest first) up to ``limit`` events, read ``chunk`` bytes at a
    time; the position each segment's read ends at; and how many torn records were skipped (a
    record cut short at the end of a closed segment: written when the process died, never
    acknowledged). The writer's batch step calls it with the ranges the writer has not read."""
    items: list[Raw] = []
    ends: dict[int, int] = {}
    torn = events = 0
    for segment, start, readable, closed in ranges:
        end = start
        with segment_path(directory, segment).open("rb") as f:
            while end < readable and events < limit:  # always whole records
                begin = end
                stop = min(readable, begin + chunk)
                f.seek(begin)
                for offset, raw in read_records(f.read(stop - begin)):
                    items.append(raw)
                    events += raw.events
                    end = begin + offset
                    if events >= limit:
                        break
                if end == begin:  # no whole record in reach
                    if stop == readable and closed:
                        torn += 1
                        end = readable
                    break
        if end > start:
            ends[segment] = end
        if events >= limit:
            break
    return items, ends, torn


# The fsync helper: a process of its own, so that no thread of the server waits on the disk and
# then on the interpreter lock (a thread that needs the lock back after each fsync makes the event
# loop hand it over, hundreds of times a second under load). It reads requests (segment, offset)
# on stdin, fsyncs that segment (and the directory, for a new one) and answers (segment, offset,
# errno) on stdout, which the event loop watches.
_REQUEST = struct.Struct("<IQ")
_REPLY = struct.Struct("<IQI")
_HELPER = f"""
import os, struct, sys
directory, request, reply = sys.argv[1], struct.Struct("<IQ"), struct.Struct("<IQI")
dir_fd, fds = os.open(directory, os.O_RDONLY), {{}}
while len(data := os.read(0, request.size)) == request.size:
    segment, offset = request.unpack(data)
    error = 0
    try:
        if segment not in fds:
            for old in list(fds):  # requests come in order: older segments are synced already
                os.close(fds.pop(old))
            name = os.path.join(directory, f"{{segment:010d}}{_SUFFIX}")
            fds[segment] = os.open(name, os.O_RDONLY)
            os.fsync(dir_fd)
        os.fsync(fds[segment])
    except OSError as e:
        error = e.errno or 5
    os.write(1, reply.pack(segment, offset, error))
"""


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Helper:
    """The fsync helper process, and the side of its pipes an event loop watches."""

    def __init__(self, directory: Path) -> None:
        their_stdin, self.stdin = os.pipe()
        self.stdout, their_stdout = os.pipe()
        try:
            proc = subprocess.Popen(
                # -S: no site packages to look at (the helper needs os, struct and sys only),
                # 2 of its 5 MB.
                [sys.executable, "-I", "-S", "-c", _HELPER, str(directory)],
                stdin=their_stdin,
                stdout=their_stdout,
            )
        finally:
            os.close(their_stdin)
            os.close(their_stdout)
        self.pid = proc.pid
        # Ended on close, or when this object is collected (or at exit) if it never was.
        self._end = weakref.finalize(self, _end, proc, self.stdin, self.stdout)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._pending = b""

    def attach(self, loop: asyncio.AbstractEventLoop, on_reply: Any) -> None:
        """Have ``loop`` call ``on_reply`` with each answer (None once the helper is gone)."""
        if loop is not self.loop:
            self._detach()
            self.loop = loop
            loop.add_reader(self.stdout, self._read, on_reply)

    def request(self, segment: int, offset: int) -> None:
        os.write(self.stdin, _REQUEST.pack(segment, offset))  # 12 bytes: one atomic pipe write

    def _read(self, on_reply: Any) -> None:
        try:
            data = os.read(self.stdout, 4096)
        except OSError:
            data = b""
        if not data:
            self.close()
            on_reply(None)
            return
        data = self._pending + data
        whole = len(data) - len(data) % _REPLY.size
        self._pending = data[whole:]
        for i in range(0, whole, _REPLY.size):
            on_reply(_REPLY.unpack_from(data, i))

    def _detach(self) -> None:
        if self.loop is not None:
            with contextlib.suppress(Exception):  # the loop may be closed already
                self.loop.remove_reader(self.stdout)

    def close(self) -> None:
        self._detach()
        self._end()


def _end(proc: subprocess.Popen[bytes], *fds: int) -> None:
    """Close the helper's pipes (it exits at the end of its input) and reap it."""
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Spool:
    """Segments ``NNNNNNNNNN.seg`` in one directory; written by the event loop, read by the writer.

    The loop writes a group of records with one ``write`` and has the fsync helper sync it; the
    next group gathers meanwhile. The loop side (``append``) and the writer side
    (``segments``/``delete``; the batch step reads with ``read_batch``) share only integers
    published after each fsync, under a lock neither holds for long.
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
        self._open_current()
        self._synced = dict(self._sizes)  # segment → bytes fsynced (what readers may read)
        self._closed = set(existing)  # segments no longer written to, all of them synced
        self._full: set[int] = set()  # segments no longer written to, waiting for their fsync
        self._buffer = bytearray()
        self._group: asyncio.Future[None] | None = None  # the records in _buffer await it
        self._syncing: asyncio.Future[None] | None = None  # the group being fsynced
        # Started now, not on the first beacon (a process takes tens of milliseconds to start).
        self._helper: _Helper | None = _Helper(directory)
        self._lock = threading.Lock()  # guards _sizes/_synced/_closed between loop and writer
        self._on_disk = sum(self._sizes.values())  # their sum, published under the lock
        self.appended = 0  # records appended (loop side)
        # Records the segments held at start, all read again (the store keeps each event once).
        self.recovered = sum(count_records(self._path(n)) for n in existing)

    def _path(self, n: int) -> Path:
        return segment_path(self.directory, n)

    def _open_current(self) -> None:
        self._fd = os.open(self._path(self.current), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

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
            group = self._group = asyncio.get_running_loop().create_future()
            if self._syncing is None:
                self._flush()
        return group

    def _flush(self) -> None:
        """Write the gathered group and have the helper fsync it (nothing in flight)."""
        data, group = self._buffer, self._group
        self._buffer, self._group = bytearray(), None
        if group is None:
            return
        segment = self.current
        try:
            written = 0
            while written < len(data):  # a regular file takes it all, unless the disk is full
                written += os.write(self._fd, memoryview(data)[written:])
        except OSError as e:
            # What part of the group reached the file ends this segment: the next group starts
            # a new one, so that no torn record lies between stored ones.
            self._wrote(segment, os.fstat(self._fd).st_size - self._sizes[segment])
            self._rotate()
            self._end_segments([segment])  # its torn tail ends it for the writer
            group.set_exception(e)
            group.exception()  # marked retrieved: each request awaiting it raises it
            return
        self._wrote(segment, len(data))
        if self._sizes[segment] >= self.segment_bytes:
            self._rotate()
        if self._helper is None:  # the last one died
            self._helper = _Helper(self.directory)
        self._helper.attach(group.get_loop(), self._synced_to)
        self._syncing = group
        try:
            self._helper.request(segment, self._sizes[segment])
        except OSError:  # it died: this group fails (503, retried by its clients) and the next
            self._helper.close()  # starts a new helper
            self._synced_to(None)

    def _wrote(self, segment: int, size: int) -> None:
        with self._lock:
            self._sizes[segment] += size
            self._on_disk += size

    def _synced_to(self, reply: tuple[int, int, int] | None) -> None:
        """The helper's answer: the group in flight is on disk (or failed); then the next one."""
        group, self._syncing = self._syncing, None
        error: OSError | None = None
        if reply is None:  # the helper died: the next group starts a new one
            self._helper = None
            error = OSError("the spool's fsync helper exited")
        elif reply[2]:
            error = OSError(reply[2], os.strerror(reply[2]))
        else:
            segment, offset, _ = reply
            with self._lock:
                self._synced[segment] = max(self._synced[segment], offset)
                for n in [n for n in self._full if self._synced[n] >= self._sizes[n]]:
                    self._full.discard(n)
                    self._closed.add(n)
        if group is not None and not group.done():
            if error is None:
                group.set_result(None)
            else:
                group.set_exception(error)
                group.exception()
        if self._group is not None:
            self._flush()

    def _rotate(self, reopen: bool = True) -> None:
        """End the current segment (closed for readers once synced); start the next."""
        os.close(self._fd)
        self._fd = -1
        with self._lock:
            self._full.add(self.current)
            if not reopen:
                return
            self.current += 1
            self._sizes[self.current] = 0
            self._synced[self.current] = 0
        self._open_current()

    def close(self) -> None:
        """Stop writing (after the loop has stopped appending): what is written is synced here,
        and every segment is closed."""
        if self._helper is not None:
            self._helper.close()
            self._helper = None
        if self._fd >= 0:
            if self._buffer:  # gathered by requests that did not wait for it: harmless to keep
                os.write(self._fd, self._buffer)
                self._wrote(self.current, len(self._buffer))
                self._buffer = bytearray()
            self._rotate(reopen=False)
        self._end_segments(sorted(self._full))

    def _end_segments(self, segments: list[int]) -> None:
        """Sync segments no longer written to, here, and close them for the writer."""
        for n in segments:
            with contextlib.suppress(OSError):  # read back from the page cache all the same
                _fsync(self._path(n))
        with self._lock:
            for n in segments:
                self._synced[n] = self._sizes[n]
                self._full.discard(n)
                self._closed.add(n)

    # -- the writer side ----------------------------------------------------------------------
    def segments(self) -> list[tuple[int, int, bool]]:
        """(segment, bytes readable, closed) for every segment, oldest first."""
        with self._lock:
            return [(n, self._synced[n], n in self._closed) for n in sorted(self._synced)]

    def delete(self, segment: int) -> None:
        """Drop a closed segment whose records are all stored."""
        with self._lock:
            if segment not in self._closed:
                return
            self._closed.discard(segment)
            self._on_disk -= self._sizes.pop(segment, 0)
            self._synced.pop(segment, None)
        self._path(segment).unlink(missing_ok=True)
