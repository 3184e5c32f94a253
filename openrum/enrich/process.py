"""The batch step in a child process, so that it never competes with requests for the GIL.

The collector's event loop and the batch step are both Python: in one process they take turns on
one core. Here the writer thread names the spool's unread ranges to a child process (started
with ``spawn``, run at a lower scheduling priority, ``background_nice``), which reads a batch of
records from them and enriches it, and the writer waits for its Arrow tables (in shared memory)
while the event loop keeps answering requests; the store write stays in the parent, which owns the
database file. The child holds no state that matters: if it dies, the batch is retried
on a new one. The writer stops it after ``rest_after_s`` without a batch (an idle server does not
keep its memory), and the next batch starts it again.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import hashlib
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyarrow as pa

from openrum.collect.spool import Range, Raw, read_batch
from openrum.malloc import limit_arenas, trim
from openrum.rows import Batch
from openrum.settings import Settings, background
from openrum.store.base import App, Store

log = logging.getLogger("openrum.enrich")


class _NoPandas:
    """An import finder that says pandas is not installed (``without_pandas``)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def without_pandas() -> None:
    """Keep pandas out of this process, installed or not.

    pyarrow and DuckDB import pandas, when it is installed (the ClickHouse extra brings it), the
    first time they are handed a Python object, to tell a data frame from an Arrow table: 65 MB
    of memory in each process, and 0.13 s (measured, files cached) holding the interpreter lock
    while requests wait.
    The server on DuckDB and the batch step hand them Arrow and lists only.
    """
    if "pandas" not in sys.modules and not any(isinstance(f, _NoPandas) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())


def system_allocator() -> None:
    """Have pyarrow allocate with the C library's ``malloc`` in this process. Its default
    allocator (mimalloc) keeps what a batch freed for later: with it, the batch step peaked
    about 30 MB higher under a sustained load, no faster (CHANGELOG.md)."""
    pa.set_memory_pool(pa.system_memory_pool())


class BatchStepError(RuntimeError):
    """The child process failed a call (its message says why) or died."""


class ChildDied(BatchStepError):
    """The child process died during a call; a new one holds the same state."""


def _child(
    conn: Connection,
    settings: Settings,
    apps: list[App],
    pages: list[tuple[str, str]],
    prefix: str,
    server: int,
) -> None:
    """The child's loop: one call at a time, until the parent closes its end of the pipe.
    ``prefix``: the start of its answer files' names (``_shared_prefix``); ``server``: the
    server's process id."""
    _die_with(server)
    # The enrichment's libraries (user agents, geo) load here only, not in the server.
    from openrum.enrich import ua
    from openrum.enrich.pipeline import Context, Pipeline

    background(settings.background_nice, settings.background_idle)
    limit_arenas()
    without_pandas()
    system_allocator()
    # A stop signal sent to the whole process group (Ctrl-C, a service manager) is the parent's
    # to act on: it stores what is spooled with this process's help, then closes the pipe.
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.SIG_IGN)
    pipeline = Pipeline(settings, apps)
    pipeline.seed_pages(pages)
    ua.analyse("Mozilla/5.0")  # the user agent matcher builds itself on first use
    conn.send((True, None))  # ready
    while True:
        try:
            op, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if op == "spooled":  # records the child reads from the spool itself
                ctx = Context(settings)
                raws, ends, torn = read_batch(*args)
                if torn:
                    ctx.drops["spool_torn_record"] += torn
                result: Any = (
                    _put(pipeline.run(raws, ctx), prefix),
                    ctx.drops,
                    ends,
                    len(raws),
                )
            elif op == "run":
                ctx = Context(settings)
                result = (_put(pipeline.run(args, ctx), prefix), ctx.drops)
            else:  # set_apps, seed_pages
                result = getattr(pipeline, op)(*args)
            conn.send((True, result))
        except Exception as e:  # the parent raises it (the writer isolates the beacon)
            conn.send((False, f"{type(e).__name__}: {e}"))
        result = None
        pa.default_memory_pool().release_unused()  # a batch's buffers go back to the system
        trim()


# A batch goes back to the writer through a file in shared memory, which the writer maps: through
# the pipe, the writer thread would copy it in 64 KB reads, taking the interpreter lock back from
# the event loop after each. Where no such file can be written, through the pipe.
_SHM = Path("/dev/shm")
SHARED = _SHM if _SHM.is_dir() and os.access(_SHM, os.W_OK) else Path(tempfile.gettempdir())
Shared = tuple[str, dict[str, tuple[int, int]]] | Batch


def data_tag(data: Path) -> str:
    """A short name of a data directory, in the names of the files its server leaves in shared
    memory: a start removes those a crash left (of its own directory only)."""
    return hashlib.blake2b(str(data.resolve()).encode(), digest_size=5).hexdigest()


def _shared_prefix(tag: str, server_pid: int | None = None) -> str:
    """The start of the name of each answer file for the server process ``server_pid`` of the
    data directory tagged ``tag`` (``data_tag``); of all its servers' without a pid."""
    return f"openrum-batch-{tag}-" + ("" if server_pid is None else f"{server_pid}-")


def _die_with(server: int) -> None:
    """Have Linux kill this process when the server dies (even by ``kill -9``): an orphan went
    on with its batch and left the answer in shared memory, where no one read it. (The signal
    comes when the thread that started this process ends: the server's main thread, or its
    writer thread, which ends only when the server stops.)"""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != server:  # the server died before that took effect
        os._exit(0)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _put(batch: Batch, prefix: str) -> Shared:
    """Write the batch's tables to a new file in shared memory, one Arrow IPC stream after
    another: its path and each table's (offset, size); the batch itself if that fails."""
    path = ""
    where: dict[str, tuple[int, int]] = {}
    try:
        fd, path = tempfile.mkstemp(prefix=prefix, dir=SHARED)
        os.close(fd)
        with pa.OSFile(path, "wb") as sink:
            for name, table in batch.tables().items():
                start = sink.tell()
                with pa.ipc.new_stream(sink, table.schema) as stream:
                    stream.write_table(table)
                where[name] = (start, sink.tell() - start)
    except OSError:  # no such directory, a full file system
        if path:
            os.unlink(path)
        return batch
    return path, where


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def remove_shared(tag: str) -> int:
    """Remove the answer files of the data directory ``tag`` that no running server will read:
    this process's (its child died writing one, or it stopped) and those of servers that died
    (``kill -9``, a crash). Another running server's are kept. Returns how many were removed."""
    removed = 0
    me = os.getpid()
    for unread in SHARED.glob(_shared_prefix(tag) + "*"):
        pid = unread.name[len(_shared_prefix(tag)) :].split("-", 1)[0]
        if pid.isdigit() and (int(pid) == me or not _alive(int(pid))):
            unread.unlink(missing_ok=True)
            removed += 1
    return removed


def _get(shared: Shared) -> Batch:
    """The batch ``_put`` wrote, read in place (the file is removed; its memory stays mapped
    while the tables are in use)."""
    if isinstance(shared, Batch):
        return shared
    path, where = shared
    try:
        data = pa.memory_map(path).read_buffer()
    finally:
        os.unlink(path)
    return Batch(
        **{
            name: pa.ipc.open_stream(data.slice(start, size)).read_all()
            for name, (start, size) in where.items()
        }
    )


class PipelineProcess:
    """``Pipeline``'s interface, run in a child process; called by the writer thread only."""

    def __init__(self, settings: Settings, tag: str = "") -> None:
        """``tag``: the server's data directory's (``data_tag``), in its answer files' names."""
        self.settings = settings
        self.tag = tag or "0"
        self._apps: list[App] = []
        self._pages: list[tuple[str, str]] = []
        self._process: multiprocessing.process.BaseProcess | None = None
        remove_shared(self.tag)

    def start(self) -> None:
        """Start the child unless it runs, with the state set meanwhile; return once it is
        ready."""
        if self._process is not None:
            return
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        process = context.Process(
            target=_child,
            args=(
                child,
                self.settings,
                self._apps,
                self._pages,
                _shared_prefix(self.tag, os.getpid()),
                os.getpid(),
            ),
            name="openrum-batch-step",
            daemon=True,
        )
        process.start()
        child.close()
        try:
            if not self._conn.poll(self.settings.batch_step_start_s):
                raise BatchStepError("the batch step process did not start")
            self._conn.recv()
        except (EOFError, OSError, BatchStepError) as e:
            process.kill()
            self._conn.close()
            raise BatchStepError("the batch step process did not start") from e
        self._process = process
        # The child ignores stop signals, so multiprocessing's own exit handler (registered by
        # the start above, run after this one) would wait for it: close the pipe first.
        atexit.register(self.close)

    def _call(self, op: str, args: Any) -> Any:
        self._send(op, args)
        return self._receive()

    def _send(self, op: str, args: Any) -> None:
        try:
            self.start()
            self._conn.send((op, args))
        except (BatchStepError, OSError) as e:  # not started, or died: _receive says so
            log.error("the batch step process is not running: %s", e)

    def _receive(self) -> Any:
        """The answer to the call submitted last."""
        if self._process is None:
            raise ChildDied("the batch step process is not running")
        try:
            ok, result = self._conn.recv()
        except (EOFError, OSError) as e:
            # The child died (killed, out of memory): a new one gets the same state, and the
            # caller retries or isolates the batch.
            log.error("batch step process died (%s); the next call starts a new one", e)
            self.close()
            raise ChildDied("the batch step process died") from e
        if not ok:
            raise BatchStepError(result)
        return result

    def submit(self, directory: Path, ranges: Sequence[Range], limit: int, chunk: int) -> None:
        """Start the batch step on the spooled records ``spool.read_batch`` reads from these
        ranges (the child reads them: the writer thread, which shares the interpreter lock with
        the event loop, neither parses nor copies them); ``result`` waits for its answer."""
        self._send("spooled", (directory, list(ranges), limit, chunk))

    def result(self, drops: Counter[str]) -> tuple[Batch, dict[int, int], int]:
        """The batch, the position each segment's read ended at, and how many records it read."""
        shared, dropped, ends, records = self._receive()
        drops.update(dropped)
        return _get(shared), ends, records

    def run(self, raws: Sequence[Raw], drops: Counter[str]) -> Batch:
        """The batch step on these records (read by the caller)."""
        shared, dropped = self._call("run", list(raws))
        drops.update(dropped)
        return _get(shared)

    def _set(self, op: str, args: Any) -> None:
        """A change of the child's state, if it runs: one started later receives the state
        with its arguments (as does one started meanwhile)."""
        if self._process is not None:
            with contextlib.suppress(ChildDied):
                self._call(op, args)

    def set_apps(self, apps: Sequence[App]) -> None:
        if list(apps) != self._apps:
            self._apps = list(apps)
            self._set("set_apps", (self._apps,))

    def load_pages(self, store: Store) -> None:
        """Seed the page cap with the pages already stored (read here: the child has no store)."""
        _, rows = store.select("SELECT DISTINCT app, page FROM actions", [])
        self._pages = [(str(app), str(page)) for app, page in rows]
        self._set("seed_pages", (self._pages,))

    def close(self) -> None:
        """Stop the child (it ends when its pipe closes), if it runs."""
        process, self._process = self._process, None
        if process is None:
            return
        atexit.unregister(self.close)
        self._conn.close()
        process.join(5)
        if process.is_alive():
            process.kill()
        remove_shared(self.tag)
