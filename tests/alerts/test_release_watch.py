"""The release regression detector in the scheduler, on both engines: a seeded simulated store
(tests/store/test_releases.py: release 2.0 makes desktop /checkout 60 % slower) opens one incident
per release × segment × metric that regressed, notified once to a real webhook receiver and not
again at the next comparisons; resolved (notified) when a comparison no longer finds them, and
silently when a newer release has no regression."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import msgspec
import numpy as np

from openrum.alerts.channels import Channel
from openrum.alerts.release_watch import PREFIX
from openrum.collect.spool import Raw
from openrum.enrich.pipeline import Pipeline
from openrum.store.base import App
from tests.alerts.conftest import Receiver
from tests.alerts.test_scheduler import SETTINGS, Clock, at, scheduler
from tests.conftest import UA_CHROME
from tests.store.conftest import Opener
from tests.store.test_releases import PER_SEGMENT, SLOWER, fill, settings
from tests.test_query import UA_IPHONE, load, received


def unchanged(release: str) -> list[Raw]:
    """A release first seen an hour ago, as fast as 1.0 on both segments (150 loads each)."""
    rng = np.random.default_rng(7)
    out = []
    for path, ua in (("/checkout", UA_CHROME), ("/", UA_IPHONE)):
        durations = rng.lognormal(np.log(2000), 0.5, PER_SEGMENT)
        for s in range(PER_SEGMENT // 10):
            actions = [load(f"{release}-{path}-{i}", f"https://shop.example{path}",
                            float(durations[i]), 1800.0, 60 - i % 50)
                       for i in range(s * 10, s * 10 + 10)]  # fmt: skip
            out.append(received(f"{release}{path}{s}", ua, actions, release=release))
    return out


OTHERS = ("error_spike", "new_error_group", "apdex_drop", "vital_poor", "traffic_drop")


def test_each_regression_opens_one_incident_once(
    opener: Opener, receiver: Receiver, tmp_path: Path
) -> None:
    store = fill(opener())
    hook = Channel(id="c1", name="ops", kind="webhook", url=receiver.url)
    store.save_alert_item("channels", "c1", msgspec.to_builtins(hook))
    config = {"detectors": {**dict.fromkeys(OTHERS, False), "channels": ["c1"]}}
    store.create_app(App(id="shop", name="Shop", origins=[], created=0, config=config))
    # Compared at every evaluation here (an hour apart by default).
    every = dataclasses.replace(SETTINGS, **{
        **{k: getattr(settings(), k) for k in ("regression_min_actions",)},
        "detector_regression_interval_s": 0.0,
    })  # fmt: skip
    clock = Clock()
    s = scheduler(store, clock, "a", every)
    for minute in (0, 1, 2):
        clock.t = at(minute)
        s.tick()
    found = store.incidents()
    chrome = {"browser": "Chrome"}
    assert {(json.dumps(i.detail["segment"]), i.detail["metric"]) for i in found} == {
        (json.dumps(dict(SLOWER)), "load_duration"), (json.dumps(dict(SLOWER)), "apdex"),
        (json.dumps(chrome), "load_duration"), (json.dumps(chrome), "apdex"),
    }  # fmt: skip
    assert all(i.state == "firing" and i.rule.startswith(PREFIX + "shop-") for i in found)
    assert len({i.rule for i in found}) == 4
    [slower] = [i for i in found if i.detail["segment"] == dict(SLOWER)
                and i.detail["metric"] == "load_duration"]  # fmt: skip
    d = slower.detail
    assert (d["release"], d["against"], d["detector"]) == ("2.0", "1.0", "release_regression")
    assert d["value"] > 1.4 * d["baseline"] and d["low"] > 1.2 and d["q"] <= 0.05
    assert d["link"].startswith("/#/overview?app=shop&range=custom")
    assert "f=release%7Cis%7C2.0" in d["link"] and "f=page%7Cis%7C%2Fcheckout" in d["link"]
    # One notification per incident, in three evaluations.
    sent = receiver.wait_for(4)
    assert sorted(json.loads(r["body"])["incident"]["id"] for r in sent) == sorted(
        i.id for i in found
    )
    assert {r["headers"]["x-openrum-event"] for r in sent} == {"firing"}
    assert s.firing == {"warning": 4}

    # A comparison that no longer finds them (here: stricter thresholds) resolves them, notified.
    s.settings = dataclasses.replace(
        every, regression_min_relative=5.0, regression_min_apdex_points=1
    )
    clock.t = at(3)
    s.tick()
    assert {i.state for i in store.incidents()} == {"resolved"}
    assert [r["headers"]["x-openrum-event"] for r in receiver.wait_for(8)][4:] == ["resolved"] * 4
    s.settings = every
    clock.t = at(4)
    s.tick()
    assert len(store.incidents(state="firing")) == 4 and len(receiver.wait_for(12)) == 12

    # Release 3.0, as fast as 1.0: the newest release has no regression; 2.0's incidents end.
    p = Pipeline(settings())
    store.write(p.run(unchanged("3.0")))
    p.close()
    clock.t = at(5)
    s.tick()
    assert store.incidents(state="firing") == []
    assert len(receiver.wait_for(13, timeout=2)) == 12  # silently: 2.0 is not the newest
