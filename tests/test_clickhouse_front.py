"""The ClickHouse HTTP front (tests/clickhouse_front.py) as clickhouse-connect sees it: results in
each format it asks for, compressed when it asks, long parameter values sent as a form, inserts
with their data in the body, and the engine's errors with their codes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from tests.store.conftest import server_url


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from urllib.parse import urlsplit

    import clickhouse_connect

    url = urlsplit(server_url())
    c = clickhouse_connect.get_client(host=url.hostname, port=url.port, compress="lz4")
    c.command("CREATE DATABASE IF NOT EXISTS front_test")
    yield c
    c.command("DROP DATABASE IF EXISTS front_test")
    c.close()


def test_native_results_compressed(client: Any) -> None:
    rows = client.query("SELECT number, toString(number) FROM numbers(3)").result_rows
    assert rows == [(0, "0"), (1, "1"), (2, "2")]


def test_arrow_results_with_bound_values_and_settings(client: Any) -> None:
    long = [f"value-{i:05d}-{'x' * 20}" for i in range(2000)]  # too long for a URL: a form
    table = client.query_arrow(
        "SELECT length({a:Array(String)}) AS n, {b:String} AS b, getSetting('final') AS f",
        parameters={"a": long, "b": "it's\ta;\n'value'"},
        settings={"final": 1},
    )
    assert table.to_pylist() == [{"n": 2000, "b": "it's\ta;\n'value'", "f": True}]
    # A setting lasts for its statement only.
    assert client.command("SELECT getSetting('final')") in (False, "false", 0, "0")


def test_arrow_inserts(client: Any) -> None:
    client.command(
        "CREATE TABLE front_test.t (a UInt64, b String, t DateTime64(3, 'UTC')) "
        "ENGINE = MergeTree ORDER BY a"
    )
    when = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
    data = pa.table({"a": pa.array([1, 2], pa.uint64()), "b": ["x", "y"],
                     "t": pa.array([when, when], pa.timestamp("ms", "UTC"))})  # fmt: skip
    summary = client.insert_arrow("front_test.t", data)
    assert summary.written_rows == 2
    assert client.query("SELECT a, b FROM front_test.t ORDER BY a").result_rows == [
        (1, "x"),
        (2, "y"),
    ]


def test_engine_errors_keep_their_code(client: Any) -> None:
    from clickhouse_connect.driver.exceptions import DatabaseError

    with pytest.raises(DatabaseError) as e:
        client.command("SELECT * FROM front_test.nowhere")
    assert e.value.code == 60  # UNKNOWN_TABLE
    assert "nowhere" in str(e.value)
