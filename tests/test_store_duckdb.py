"""The DuckDB store: migrations, applications, session merging, reopening a file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec
import pyarrow as pa
import pytest

from openrum.rows import Batch, SessionTouch
from openrum.store import open_store
from openrum.store.base import App, StoreError
from openrum.store.duckdb import DuckDBStore


def test_migrations_apply_once_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "x.duckdb"
    first = DuckDBStore(path)
    version = first.migrate()
    first.create_app(App(id="shop", name="Shop", origins=["https://shop.example"], created=5))
    first.close()
    again = open_store(f"duckdb:///{path}")
    assert isinstance(again, DuckDBStore)
    assert again.migrate() == version
    assert [a.id for a in again.list_apps()] == ["shop"]
    again.close()


def test_applications(store: DuckDBStore) -> None:
    app = App(
        id="shop",
        name="Shop",
        origins=["https://shop.example"],
        created=1000,
        config={"sampling": 50},
    )
    store.create_app(app)
    with pytest.raises(StoreError, match="exists"):
        store.create_app(app)
    app.origins.append("https://www.shop.example")
    app.config["sampling"] = 25
    store.update_app(app)
    assert store.list_apps() == [app]
    with pytest.raises(StoreError, match="no application"):
        store.update_app(App(id="nope", name="x", origins=[], created=0))


def touch(start: int, last: int, page: str, **kw: object) -> SessionTouch:
    return SessionTouch(
        app="shop",
        session_id="s1",
        start=start,
        last_seen=last,
        last_received=last,
        entry_page=page,
        exit_page=page,
        **kw,
    )  # type: ignore[arg-type]


def sessions(*touches: SessionTouch) -> Batch:
    rows = []
    for t in touches:
        row = msgspec.structs.asdict(t)
        for name in ("start", "last_seen", "last_received"):
            row[name] = dt.datetime.fromtimestamp(row[name] / 1000, dt.UTC).replace(tzinfo=None)
        rows.append(row)
    return Batch(sessions=pa.Table.from_pylist(rows))


def test_session_touches_merge_in_any_order(store: DuckDBStore) -> None:
    # One touch per session and batch (the batch step groups by session).
    store.write(sessions(touch(5000, 6000, "/b")))
    store.write(sessions(touch(9000, 9500, "/c", user_tag="u1")))
    store.write(sessions(touch(1000, 2000, "/a", ended=True)))
    store.write(sessions(touch(1000, 2000, "/a")))  # re-sent: no change
    _, rows = store.select(
        "SELECT epoch_ms(start), epoch_ms(last_seen), entry_page, exit_page, "
        "user_tag, ended FROM sessions",
        [],
    )
    assert rows == [(1000, 9500, "/a", "/c", "u1", True)]


def test_an_unknown_store_url_is_refused() -> None:
    with pytest.raises(StoreError, match="unsupported store URL"):
        open_store("mysql://localhost/x")
