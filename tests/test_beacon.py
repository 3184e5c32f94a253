"""Decoding and request-level limits of beacon protocol v1."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openrum.collect.beacon import Action, Beacon, Drop, Error, UserEvent, decode
from tests.beacons import beacon, encode, load_action


def test_a_valid_beacon_decodes_to_typed_events() -> None:
    body = beacon(
        events=[
            load_action(),
            {"kind": "error", "id": "e1", "type": "js", "time": 1, "message": "boom"},
            {"kind": "user", "id": "u1", "type": "rage_click", "time": 1, "count": 4},
        ]
    )
    b = decode(encode(body), 200)
    assert isinstance(b, Beacon)
    assert [type(e) for e in b.events] == [Action, Error, UserEvent]
    assert b.events[0].vitals["lcp"].value == 1500  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "malformed_json"),
        (b"", "malformed_json"),
        (b"\xff\xfe\x00", "invalid_utf8"),
        (encode(beacon()).replace(b"1.0.0", b"1.\xff\xfe"), "invalid_utf8"),
        (b'{"v": 1, "app": "shop"}', "invalid_field"),  # required fields missing
        (encode(beacon(v=2)), "unsupported_version"),
        (encode(beacon(events=[])), "no_events"),
        (encode(beacon(sid=12)), "invalid_field"),  # wrong type
        (encode(beacon(events=[{"kind": "nope", "id": "x"}])), "invalid_field"),
        (encode(beacon(events=[load_action(type="teleport")])), "invalid_field"),
        (encode(beacon(seq=2**64 + 1)), "invalid_field"),  # integer past 2^64
        (encode(beacon(seq=-1)), "invalid_field"),
        (encode(beacon(weight=0.5)), "invalid_field"),
        (encode(beacon()).replace(b'"duration": 1800.0', b'"duration": NaN'), "malformed_json"),
        (
            encode(beacon()).replace(b'"duration": 1800.0', b'"duration": Infinity'),
            "malformed_json",
        ),
        (encode(beacon()).replace(b'"duration": 1800.0', b'"duration": 1e999'), "invalid_field"),
        (b'{"v":1,"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "too_deep"),
    ],
)
def test_bad_bodies_become_drops_with_a_reason(body: bytes, reason: str) -> None:
    result = decode(body, 200)
    assert isinstance(result, Drop)
    assert result.reason == reason
    assert result.status == 400


def test_too_many_events_is_a_drop() -> None:
    body = encode(beacon(events=[load_action(f"a{i}") for i in range(11)]))
    result = decode(body, 10)
    assert isinstance(result, Drop) and result.reason == "too_many_events"
    assert isinstance(decode(body, 11), Beacon)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    body = beacon(future_field={"a": [1, 2]})
    body["events"][0]["new_measure"] = 3
    assert isinstance(decode(encode(body), 200), Beacon)


def test_lone_surrogates_are_rejected_not_stored() -> None:
    raw = encode(beacon()).replace(b'"1.0.0"', b'"\\ud800x"')
    result = decode(raw, 200)
    assert isinstance(result, Drop) and result.reason == "malformed_json"


@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    assert isinstance(decode(data, 200), (Beacon, Drop))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.dictionaries(
        st.sampled_from(
            ["v", "app", "sid", "page", "sent", "events", "seq", "env", "weight", "url"]
        ),
        json_values,
    )
)
def test_arbitrary_json_envelopes_never_raise(fields: dict[str, object]) -> None:
    assert isinstance(decode(json.dumps(fields).encode(), 200), (Beacon, Drop))
