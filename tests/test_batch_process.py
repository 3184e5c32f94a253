"""Background work: the batch step's child process (lower priority, replaced when it dies, nothing
lost) and the database's worker threads (lower priority)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from multiprocessing.process import BaseProcess
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from openrum.enrich import process
from openrum.rows import Batch
from openrum.server import Server
from openrum.settings import Settings
from openrum.store.base import App
from openrum.store.duckdb import DuckDBStore
from tests.beacons import beacon, encode

pytestmark = pytest.mark.anyio


async def send(c: httpx.AsyncClient, n: int) -> None:
    """Post ``n`` beacons, each accepted."""
    for _ in range(n):
        r = await c.post(
            "/api/v1/beacon", content=encode(beacon()), headers={"content-type": "text/plain"}
        )
        assert r.status_code == 202


async def test_a_killed_batch_step_process_is_replaced_and_nothing_is_lost(
    store: DuckDBStore, tmp_path: Path
) -> None:
    store.create_app(App(id="shop", name="Shop", origins=[], created=0))
    srv = Server(store, Settings.load({}, environ={}), tmp_path)
    srv.writer.start()
    transport = httpx.ASGITransport(app=srv.app, client=("198.51.100.7", 1))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as c:
            await send(c, 3)
            assert srv.writer.flush()
            child = srv.writer.pipeline._process
            nice = min(os.getpriority(os.PRIO_PROCESS, 0) + Settings().background_nice, 19)
            assert os.getpriority(os.PRIO_PROCESS, child.pid) == nice  # requests come first
            assert os.sched_getscheduler(child.pid) == os.SCHED_IDLE
            # A stop signal to the process group is the parent's to act on: the child stays.
            os.kill(child.pid, signal.SIGTERM)
            child.join(0.5)
            assert child.is_alive()
            os.kill(child.pid, signal.SIGKILL)
            child.join(5)
            await send(c, 4)
            assert srv.writer.flush(30)
        assert srv.writer.pipeline._process.pid != child.pid
        _, rows = store.select("SELECT count(DISTINCT session_id) FROM actions", [])
        assert rows == [(7,)]
        assert srv.metrics.dropped["batch_error"] == 0
    finally:
        srv.writer.stop()


async def test_the_batch_step_process_runs_only_while_there_are_batches(
    store: DuckDBStore, tmp_path: Path
) -> None:
    """Issue #23: an idle server kept the batch step's process (72 MB of the 227 MB at rest). It
    stops after ``rest_after_s`` without a batch, and the next batch starts a new one."""
    store.create_app(App(id="shop", name="Shop", origins=[], created=0))
    srv = Server(store, Settings.load({"rest_after_s": "1"}, environ={}), tmp_path)
    srv.writer.start()
    transport = httpx.ASGITransport(app=srv.app, client=("198.51.100.7", 1))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as c:

            def stopped(child: BaseProcess) -> None:
                deadline = time.monotonic() + 15  # by the writer thread, which reaps it
                while child.exitcode is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert child.exitcode == 0 and srv.writer.pipeline._process is None

            first = srv.writer.pipeline._process  # started with the server: ready for beacons
            assert first is not None and first.is_alive()
            stopped(first)  # no batch yet
            await send(c, 2)
            assert srv.writer.flush(60)
            second = srv.writer.pipeline._process
            assert second is not None and second.pid != first.pid
            stopped(second)
            await send(c, 3)
            assert srv.writer.flush(60)
            third = srv.writer.pipeline._process
            assert third is not None and third.pid != second.pid
        _, rows = store.select("SELECT count(DISTINCT session_id) FROM actions", [])
        assert rows == [(5,)]
    finally:
        srv.writer.stop()
    assert not third.is_alive()


def test_the_databases_worker_threads_run_below_the_event_loop(tmp_path: Path) -> None:
    def priority() -> dict[str, tuple[int, int]]:
        """Thread id → (niceness, scheduling policy)."""
        out = {}
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                stat = Path(f"/proc/self/task/{tid}/stat").read_text()
                out[tid] = (
                    int(stat.rsplit(")", 1)[1].split()[16]),
                    os.sched_getscheduler(int(tid)),
                )
        return out

    before = priority()
    store = DuckDBStore(tmp_path / "x.duckdb", workers_priority=(5, True))
    try:
        started = {t: p for t, p in priority().items() if t not in before}
        assert started, "DuckDB started no worker thread"
        base = os.getpriority(os.PRIO_PROCESS, 0)
        assert set(started.values()) == {(min(base + 5, 19), os.SCHED_IDLE)}
        mine = priority()[str(threading.get_native_id())]
        assert mine == (base, os.sched_getscheduler(0))  # the caller's is unchanged
    finally:
        store.close()


def test_a_process_holding_the_batch_step_until_exit_still_exits() -> None:
    """The child ignores stop signals; the parent's exit must still end it (not wait for it)."""
    code = (
        "from openrum.enrich.process import PipelineProcess\n"
        "from openrum.settings import Settings\n"
        "held = PipelineProcess(Settings.load({}, environ={}))\n"
        "held.start()\n"
    )
    subprocess.run([sys.executable, "-c", code], timeout=60, check=True)


def test_the_server_does_not_load_the_enrichment_libraries_its_child_runs() -> None:
    code = (
        "import sys\n"
        "import openrum.cli, openrum.server\n"
        "loaded = {'ua_parser', 'maxminddb', 'openrum.enrich.pipeline'} & set(sys.modules)\n"
        "sys.exit(f'loaded: {sorted(loaded)}' if loaded else 0)\n"
    )
    subprocess.run([sys.executable, "-c", code], timeout=60, check=True)


def test_the_server_and_the_batch_step_keep_pandas_out() -> None:
    """pandas is installed here (the ClickHouse extra): pyarrow and DuckDB would import it."""
    code = (
        "import sys, duckdb, pyarrow as pa\n"
        "from openrum.enrich.process import without_pandas\n"
        "without_pandas()\n"
        "try:\n"
        "    import pandas\n"
        "    sys.exit('pandas imported')\n"
        "except ImportError:\n"
        "    pass\n"
        "con = duckdb.connect()\n"
        "con.register('t', pa.table({'x': pa.array([1, 2], pa.uint64())}))\n"
        "assert con.execute('SELECT sum(x) FROM t').fetchall() == [(3,)]\n"
        "assert 'pandas' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], timeout=60, check=True)
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.util as u; print(u.find_spec('pandas') is not None)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == "True"  # so the test above shows the blocker at work


def test_system_allocator_has_pyarrow_allocate_with_malloc() -> None:
    code = (
        "import pyarrow as pa\n"
        "from openrum.enrich.process import system_allocator\n"
        "assert pa.default_memory_pool().backend_name != 'system'\n"
        "system_allocator()\n"
        "assert pa.default_memory_pool().backend_name == 'system'\n"
        "assert pa.array(range(1000)).sum().as_py() == 499500\n"
    )
    subprocess.run([sys.executable, "-c", code], timeout=60, check=True)


def test_a_start_removes_the_leftovers_of_its_data_directory_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process, "SHARED", tmp_path)
    ended = subprocess.Popen(["true"])
    ended.wait()
    mine, other = process.data_tag(tmp_path / "a"), process.data_tag(tmp_path / "b")
    assert mine != other and mine == process.data_tag(tmp_path / "x" / ".." / "a")
    names = {
        f"openrum-batch-{mine}-{os.getpid()}-a": False,  # this process's: never to be read
        f"openrum-batch-{mine}-{ended.pid}-b": False,  # a dead server's (kill -9)
        f"openrum-batch-{mine}-{os.getppid()}-c": True,  # a running server's
        f"openrum-batch-{other}-{ended.pid}-d": True,  # another data directory's
        "unrelated": True,
    }
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    assert process.remove_shared(mine) == 2
    assert {p.name for p in tmp_path.iterdir()} == {n for n, kept in names.items() if kept}


def test_a_batch_comes_back_in_shared_memory_or_else_through_the_pipe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = pa.table({"eid": ["a", "b"], "duration": [1.5, None]})
    monkeypatch.setattr(process, "SHARED", tmp_path)
    shared = process._put(Batch(actions=table), "openrum-batch-t-1-")
    assert isinstance(shared, tuple) and list(tmp_path.iterdir())
    assert process._get(shared).actions == table
    assert not list(tmp_path.iterdir())  # removed once mapped
    monkeypatch.setattr(process, "SHARED", tmp_path / "missing")
    shared = process._put(Batch(actions=table), "openrum-batch-t-1-")
    assert isinstance(shared, Batch) and process._get(shared).actions == table
