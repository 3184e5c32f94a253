"""``bind``: the ``?`` placeholders outside quotes and comments become typed, named ones."""

from __future__ import annotations

import datetime as dt

import pytest

from openrum.store.transport import bind


def test_placeholders_outside_quotes_and_comments() -> None:
    sql = (
        "SELECT '?', 'it''s ?', 'a\\'?', \"?\", `?` -- ?\n"
        "/* ? */ FROM t WHERE a = ? AND b IN ? AND c = ? AND d = ?"
    )
    text, values = bind(sql, [1.5, ["x", "y"], None, dt.datetime(2026, 12, 7, 1, 2, 3, 456789)])
    assert text == (
        "SELECT '?', 'it''s ?', 'a\\'?', \"?\", `?` -- ?\n"
        "/* ? */ FROM t WHERE a = {p0:Float64} AND b IN {p1:Array(String)} AND c = NULL "
        "AND d = {p3:DateTime64(3, 'UTC')}"
    )
    assert values == {"p0": "1.5", "p1": ["x", "y"], "p3": "2026-12-07 01:02:03.456"}


def test_a_long_literal_is_passed_over_whole() -> None:
    state = "0A1B" * 50_000  # a kept T-Digest state in hex
    text, values = bind(f"SELECT unhex('{state}') WHERE x = ?", ["a"])
    assert text == f"SELECT unhex('{state}') WHERE x = {{p0:String}}" and values == {"p0": "a"}


@pytest.mark.parametrize(
    ("sql", "params"),
    [("a = ? AND b = ?", [1]), ("a = ?", [1, 2]), ("a = '?", [1]), ("a = 1 -- ?", [1])],
)
def test_counts_must_match(sql: str, params: list[object]) -> None:
    with pytest.raises(ValueError):
        bind(sql, params)
