"""Releases and their regressions read from the store (openrum/web/releases.py), on DuckDB and
chdb: two releases, one segment made 60 % slower in the newer one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from openrum import releases
from openrum.collect.spool import Raw
from openrum.enrich.pipeline import Pipeline
from openrum.settings import Settings
from openrum.store.base import Store
from openrum.web.api import ApiError
from openrum.web.releases import regressions
from tests.conftest import UA_CHROME
from tests.store.conftest import BACKENDS, shared_store
from tests.test_query import UA_IPHONE, load, received

PER_SEGMENT = 150  # page loads per release and segment
SLOWER = (("page", "/checkout"), ("device", "desktop"))


def traffic(seed: int = 1) -> list[Raw]:
    """Release 1.0, then 2.0 (first seen 60 minutes later); in 2.0, desktop /checkout loads
    take 1.6 times as long; mobile / is unchanged."""
    rng = np.random.default_rng(seed)
    out = []
    for release, start in (("1.0", 180), ("2.0", 120)):
        for path, ua, scale in (("/checkout", UA_CHROME, 1.6), ("/", UA_IPHONE, 1.0)):
            scale = scale if release == "2.0" else 1.0
            durations = rng.lognormal(np.log(2000), 0.5, PER_SEGMENT) * scale
            lcps = rng.lognormal(np.log(1800), 0.5, PER_SEGMENT)
            for s in range(PER_SEGMENT // 10):
                actions = [
                    load(f"a{i}", f"https://shop.example{path}", float(durations[i]),
                         float(lcps[i]), start - i % 50)
                    for i in range(s * 10, s * 10 + 10)
                ]  # fmt: skip
                out.append(received(f"{release}{path}{s}", ua, actions, release=release))
    return out


def settings() -> Settings:
    return Settings.load({"regression_min_actions": 100}, environ={})


def fill(store: Store) -> Store:
    p = Pipeline(settings())
    store.write(p.run(traffic()))
    p.close()
    return store


@pytest.fixture(scope="module", params=BACKENDS)
def filled(
    request: pytest.FixtureRequest, chdb_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    with shared_store(request.param, chdb_path, tmp_path_factory.mktemp("releases")) as store:
        yield fill(store)


def test_releases_newest_first_with_their_previous(filled: Store) -> None:
    found = releases.releases(filled, "shop")
    assert [(r["release"], r["previous"], r["actions"]) for r in found] == [
        ("2.0", "1.0", 2 * PER_SEGMENT),
        ("1.0", None, 2 * PER_SEGMENT),
    ]
    assert found[1]["first_seen"] < found[0]["first_seen"]


def test_the_slower_segment_regressed_and_nothing_else(filled: Store) -> None:
    out = regressions(filled, "shop", "2.0", None, settings())
    assert out["against"]["release"] == "1.0" and out["segments"] == 4
    regressed = {
        (tuple(f["segment"].items()), f["metric"])
        for f in out["findings"]
        if f["direction"] == "regressed"
    }
    # The slower page, and the browser whose traffic it is (desktop Chrome): slower loads, and
    # so a lower Apdex (more loads above T = 3 s). Mobile / and Mobile Safari are unchanged.
    chrome = (("browser", "Chrome"),)
    assert regressed == {
        (SLOWER, "load_duration"),
        (SLOWER, "apdex"),
        (chrome, "load_duration"),
        (chrome, "apdex"),
    }
    [f] = [
        f
        for f in out["findings"]
        if tuple(f["segment"].items()) == SLOWER and f["metric"] == "load_duration"
    ]
    assert f["n_before"] == f["n_after"] == PER_SEGMENT
    assert f["effect_kind"] == "ratio" and f["low"] < f["effect"] < f["high"] and f["low"] > 1.2


def test_sample_limit_bounds_what_is_read(filled: Store) -> None:
    small = Settings.load({"regression_min_actions": 50, "regression_sample_limit": 60}, environ={})
    before, after = releases.samples(filled, "shop", ("1.0", "2.0"), small)
    assert {s.actions for s in [*before.values(), *after.values()]} == {60}
    # The same actions on every read.
    again, _ = releases.samples(filled, "shop", ("1.0", "2.0"), small)
    seg = next(iter(before))
    assert list(again[seg].values["load_duration"]) == list(before[seg].values["load_duration"])


@pytest.mark.parametrize(
    ("release", "against", "status", "says"),
    [
        ("3.0", None, 404, "no release '3.0'"),
        ("1.0", None, 400, "no previous release"),
        ("2.0", "0.9", 404, "no release '0.9'"),
        ("2.0", "2.0", 400, "another release"),
    ],
)
def test_bad_releases(
    filled: Store, release: str, against: str | None, status: int, says: str
) -> None:
    with pytest.raises(ApiError) as e:
        regressions(filled, "shop", release, against, settings())
    assert e.value.status == status and says in str(e.value)


@pytest.mark.anyio
async def test_routes(tmp_path: Path) -> None:
    import httpx

    from openrum.server import Server
    from openrum.store.base import App
    from openrum.store.duckdb import DuckDBStore

    store = fill(DuckDBStore(tmp_path / "db.duckdb"))
    store.create_app(App(id="shop", name="Shop", origins=[], created=0))
    server = Server(store, settings(), tmp_path)
    server.writer.start()
    transport = httpx.ASGITransport(app=server.app, client=("127.0.0.1", 5000))
    headers = {"authorization": f"Bearer {server.admin_key}"}
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://openrum.test", headers=headers
        ) as c:
            r = await c.get("/api/v1/releases", params={"app": "shop"})
            assert r.status_code == 200 and r.json()["releases"][0]["release"] == "2.0"
            r = await c.get("/api/v1/releases/2.0/regressions", params={"app": "shop"})
            assert r.status_code == 200 and r.json()["findings"][0]["direction"] == "regressed"
            for path, params, status, says in [
                ("/api/v1/releases", {}, 400, "app is required"),
                ("/api/v1/releases", {"app": "nope"}, 404, "no application"),
                ("/api/v1/releases/2.0/regressions", {"app": "shop", "against": "2.0"}, 400,
                 "another release"),
                ("/api/v1/releases/9/regressions", {"app": "shop"}, 404, "no release"),
            ]:  # fmt: skip
                r = await c.get(path, params=params)
                assert r.status_code == status and says in r.json()["error"], r.text
            r = await c.get(
                "/api/v1/releases", params={"app": "shop"}, headers={"authorization": ""}
            )
            assert r.status_code in (401, 403)
    finally:
        server.writer.stop()
        store.close()
