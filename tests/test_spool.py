"""The spool: framing, torn records, group fsync, and replay after a crash."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from openrum.collect.metrics import Metrics
from openrum.collect.spool import Raw, Spool, encode, read_batch, read_records
from openrum.collect.writer import BatchWriter
from openrum.enrich import process
from openrum.rows import Batch
from openrum.settings import Settings
from openrum.store.base import App
from openrum.store.duckdb import DuckDBStore
from tests.beacons import beacon
from tests.beacons import encode as encode_body


def raw(i: int) -> Raw:
    body = encode_body(beacon(sid=f"s{i}"))
    return Raw(body, 1, 1_700_000_000_000 + i, "198.51.100.1", "UA", None)


def test_records_round_trip_and_a_torn_tail_is_ignored() -> None:
    data = b"".join(encode(raw(i)) for i in range(3))
    assert [r.received for _, r in read_records(data)] == [1_700_000_000_000 + i for i in range(3)]
    for cut in range(1, 40):  # a crash in the middle of the last record
        assert len(list(read_records(data[:-cut]))) == 2
    corrupt = bytearray(data)
    corrupt[-5] ^= 0xFF
    assert len(list(read_records(bytes(corrupt)))) == 2


async def _append(spool: Spool, rounds: int, per_round: int) -> None:
    for r in range(rounds):
        # Appends made together are written and fsynced together (one group).
        futures = [spool.append(encode(raw(r * per_round + i))) for i in range(per_round)]
        assert all(f is not None for f in futures)
        await asyncio.gather(*[f for f in futures if f is not None])


def test_appends_are_grouped_rotated_and_replayed(tmp_path: Path, settings: Settings) -> None:
    spool = Spool(tmp_path / "spool", 1 << 30, 2000)  # tiny segments: rotate often
    asyncio.run(_append(spool, 10, 3))
    spool.close()
    segments = sorted((tmp_path / "spool").glob("*.seg"))
    assert len(segments) > 3
    # A torn record at the end of the last segment, as after kill -9 during a write.
    with segments[-1].open("ab") as f:
        f.write(encode(raw(99))[:-7])
    store = DuckDBStore(tmp_path / "x.duckdb")
    store.create_app(App(id="shop", name="Shop", origins=[], created=0))
    metrics = Metrics()
    again = Spool(tmp_path / "spool", 1 << 30, 2000)  # a restart: old segments are replayed
    writer = BatchWriter(store, settings, metrics, again)
    writer.start()
    writer.stop()
    assert store.select("SELECT count(DISTINCT session_id) FROM actions", [])[1] == [(30,)]
    assert metrics.dropped["spool_torn_record"] == 1
    assert list((tmp_path / "spool").glob("*.seg")) == []  # all stored: nothing left
    again.close()
    store.close()


def test_when_the_fsync_helper_dies_a_new_one_syncs_the_next_group(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", 1 << 30, 1 << 20)

    async def run() -> tuple[int, int]:
        await _append(spool, 1, 2)
        assert spool._helper is not None
        first = spool._helper.pid
        os.kill(first, signal.SIGKILL)
        for _ in range(200):  # the loop sees its pipe close
            if spool._helper is None:
                break
            await asyncio.sleep(0.01)
        assert spool._helper is None
        await _append(spool, 1, 2)  # answered: synced by a new helper
        assert spool._helper is not None
        return first, spool._helper.pid

    first, second = asyncio.run(run())
    assert first != second
    [(segment, readable, closed)] = spool.segments()
    assert readable == (tmp_path / "spool" / f"{segment:010d}.seg").stat().st_size and not closed
    items, ends, torn = read_batch(
        tmp_path / "spool", [(segment, 0, readable, closed)], 100, 1 << 20
    )
    assert (len(items), ends, torn) == (4, {segment: readable}, 0)
    spool.close()


def store_all(store: DuckDBStore, spool: Spool, settings: Settings) -> Metrics:
    """Store what ``spool`` holds for the application `shop`, through a writer; its metrics."""
    store.create_app(App(id="shop", name="Shop", origins=[], created=0))
    metrics = Metrics()
    writer = BatchWriter(store, settings, metrics, spool)
    writer.start()
    assert writer.flush(20)
    writer.stop()
    # Each batch came back through a file in shared memory, removed once mapped.
    prefix = process._shared_prefix(process.data_tag(spool.directory), os.getpid())
    assert not list(process.SHARED.glob(prefix + "*"))
    return metrics


def test_a_beacon_the_batch_step_cannot_read_is_set_aside_not_retried_forever(
    tmp_path: Path, settings: Settings
) -> None:
    spool = Spool(tmp_path / "spool", 1 << 30, 1 << 20)
    poison = Raw(b'{"v": 1, "app": "shop", "x": "\xff"}', 1, 1_700_000_000_000, "", "UA")

    async def fill() -> None:
        futures = [
            spool.append(encode(raw(1))),
            spool.append(encode(poison)),
            spool.append(encode(raw(2))),
        ]
        await asyncio.gather(*[f for f in futures if f is not None])

    asyncio.run(fill())
    store = DuckDBStore(tmp_path / "x.duckdb")
    metrics = store_all(store, spool, settings)
    assert store.select("SELECT count(DISTINCT session_id) FROM actions", [])[1] == [(2,)]
    assert metrics.dropped["batch_error"] == 1
    assert (tmp_path / "spool" / "rejected.log").read_bytes().startswith(b'{"v": 1')
    store.close()


def test_an_unexpected_error_in_a_write_is_retried_not_the_end_of_the_writer(
    tmp_path: Path, settings: Settings
) -> None:
    class Flaky(DuckDBStore):
        fails = 1

        def write(self, batch: Batch) -> None:
            if self.fails:
                self.fails -= 1
                raise RuntimeError("a bug in the store")
            super().write(batch)

    spool = Spool(tmp_path / "spool", 1 << 30, 1 << 20)
    asyncio.run(_append(spool, 1, 2))
    store = Flaky(tmp_path / "x.duckdb")
    metrics = store_all(store, spool, settings)
    assert store.select("SELECT count(DISTINCT session_id) FROM actions", [])[1] == [(2,)]
    assert metrics.flush_failures == 1
    store.close()
