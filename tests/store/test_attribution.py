"""Web Vitals attribution through the query API on every backend: the LCP element, the INP
target with its three phases, the CLS source (docs/api.md), grouped per page."""

from __future__ import annotations

import datetime as dt

import pytest

from openrum.rows import Batch
from openrum.store.base import Store
from tests.store.test_contract import DAY, action, ask, table

T = DAY + dt.timedelta(hours=9)


@pytest.fixture
def attributed(store: Store) -> Store:
    rows = [
        # Three loads of / whose LCP is the hero image, one whose LCP is the heading.
        *(action(i, T, lcp=2000.0 + 100 * i, lcp_target="img.hero", cls=0.2,
                 cls_target="div.banner") for i in range(3)),
        action(3, T, lcp=900.0, lcp_target="h1"),
        # Interactions on /cart: INP with its phases (input delay + processing + presentation).
        *(action(10 + i, T, page="/cart", action_type="xhr", inp=300.0 + 10 * i,
                 inp_target="button#pay", inp_input_delay=50.0, inp_processing=200.0 + 10 * i,
                 inp_presentation=50.0) for i in range(2)),
        action(20, T, page="/cart", action_type="xhr", inp=120.0, inp_target="input#qty",
               inp_input_delay=20.0, inp_processing=60.0, inp_presentation=40.0),
    ]  # fmt: skip
    store.write(Batch(actions=table(rows)))
    return store


def test_top_lcp_elements_per_page(attributed: Store) -> None:
    rows = ask(
        attributed, metrics=["count", "lcp:p50"], dimensions=["page", "lcp_target"],
        filters=[["lcp_target", "is_not", None]], order_by="-count",
    )  # fmt: skip
    assert rows == [
        {"page": "/", "lcp_target": "img.hero", "count": 3, "lcp:p50": 2100.0},
        {"page": "/", "lcp_target": "h1", "count": 1, "lcp:p50": 900.0},
    ]
    # As the dashboard asks (approximate: rollups where they can answer; these run raw).
    rows = ask(attributed, False, metrics=["count", "lcp:p75"], dimensions=["lcp_target"])
    assert {r["lcp_target"]: r["count"] for r in rows} == {"img.hero": 3, "h1": 1, None: 3}


def test_inp_targets_with_their_phases(attributed: Store) -> None:
    phases = ["inp_input_delay:p50", "inp_processing:p50", "inp_presentation:p50"]
    rows = ask(
        attributed, metrics=["count", "inp:p50", *phases], dimensions=["inp_target"],
        filters=[["page", "is", "/cart"]], order_by="-count",
    )  # fmt: skip
    assert [(r["inp_target"], r["count"], r["inp:p50"]) for r in rows] == [
        ("button#pay", 2, 305.0),
        ("input#qty", 1, 120.0),
    ]
    assert [rows[0][p] for p in phases] == [50.0, 205.0, 50.0]


def test_cls_sources_and_a_filter_on_one(attributed: Store) -> None:
    rows = ask(attributed, metrics=["count", "cls:p75"], dimensions=["cls_target"])
    assert {r["cls_target"]: r["count"] for r in rows} == {"div.banner": 3, None: 4}
    [row] = ask(attributed, metrics=["count"], filters=[["cls_target", "is", "div.banner"]])
    assert row["count"] == 3
