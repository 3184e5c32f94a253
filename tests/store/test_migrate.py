"""``openrum migrate``: a DuckDB installation moved to ClickHouse (chdb) keeps every row, and a
second run stores nothing twice."""

from __future__ import annotations

import io
from pathlib import Path

from openrum.cli import main
from openrum.rows import Batch
from openrum.store import open_store
from openrum.store.base import App, Token
from tests.store.conftest import url_for
from tests.store.test_contract import ACTIONS, ERRORS, closed_session, table, touch

TABLES = ("actions", "errors", "user_events", "sessions")


def counts(url: str) -> list[object]:
    store = open_store(url)
    try:
        out: list[object] = [store.select(f"SELECT count(*) FROM {t}", [])[1][0][0] for t in TABLES]
        out.append(store.select("SELECT count(*) FROM sessions WHERE closed", [])[1][0][0])
        out.append(store.select("SELECT round(sum(duration), 3) FROM actions", [])[1][0][0])
        out += [[a.id for a in store.list_apps()], [t.id for t in store.list_tokens()]]
        return out
    finally:
        store.close()


def test_migrate_to_chdb(tmp_path: Path, chdb_path: Path) -> None:
    source_url = f"duckdb:///{tmp_path / 'old.duckdb'}"
    source = open_store(source_url)
    source.create_app(App(id="shop", name="Shop", origins=[], created=1))
    source.save_token(Token(id="t1", name="ci", token_hash="h", created=2))
    source.write(Batch(actions=table(ACTIONS), errors=table(ERRORS)))
    source.write(Batch(sessions=table([touch(0, 5000, "/a"), touch(0, 10, "/b", sid="s2")])))
    assert source.close_sessions(closed_session(source)) == 1
    source.close()
    target_url, _ = url_for("chdb", chdb_path, tmp_path)
    args = ["migrate", "--from", source_url, "--to", target_url, "--batch-rows", "100"]
    assert main(args) == 0
    expected = counts(source_url)
    assert counts(target_url) == expected
    assert main(args) == 0  # again: nothing stored twice
    assert counts(target_url) == expected


def test_progress_bar() -> None:
    from openrum.migrate import Progress

    out = io.StringIO()
    p = Progress(200, out, width=10)
    p.step("actions", 100)
    assert "[#####     ]  50% 100 / 200 rows" in out.getvalue()
