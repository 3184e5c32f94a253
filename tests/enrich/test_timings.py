"""Timings are stored in whole milliseconds (CLS, unitless, as measured): a browser's timings are
coarsened to 0.1 ms or more anyway, and whole numbers take a quarter of the bytes in either store
(bench/store_bytes)."""

from __future__ import annotations

from tests.beacons import beacon, load_action
from tests.enrich.test_pipeline_rules import raw, run


def test_timings_are_rounded_to_whole_ms_and_cls_is_kept() -> None:
    a = load_action("a1", duration=1800.4999)
    a["nt"].update(domainLookupStart=2.25, domainLookupEnd=12.8)  # dns 10.55 ms
    a["vitals"]["lcp"]["value"] = 2500.4  # good (≤ 2.5 s) as stored: judged on what is stored
    a["vitals"]["cls"]["value"] = 0.1234
    a["vitals"]["inp"] = {"id": "i1", "value": 96.5, "phase": {"input_delay": 10.5,
                          "processing": 40.25, "presentation": 45.75}}  # fmt: skip
    batch, _ = run([raw(beacon("shop", events=[a]))], {"apdex": {"load": {"metric": "lcp",
                   "t": 2500, "f": 10000}}})  # fmt: skip
    [row] = batch.actions.to_pylist()
    assert (row["duration"], row["dns"], row["lcp"], row["inp"]) == (1800.0, 11.0, 2500.0, 97.0)
    assert (row["inp_input_delay"], row["inp_processing"], row["inp_presentation"]) == (
        11.0,
        40.0,
        46.0,
    )
    assert row["cls"] == 0.1234
    assert row["apdex"] == "S"
    for name in ("frontend_time", "server_time", "network_time", "dom_complete", "load_event_end"):
        assert row[name] is None or row[name] == int(row[name]), name
