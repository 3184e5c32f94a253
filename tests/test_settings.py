"""Settings: every name known, every value checked when it is loaded."""

from __future__ import annotations

import re

import pytest

from openrum.settings import Settings


def test_environment_then_overrides() -> None:
    environ = {"OPENRUM_WRITE_MAX_EVENTS": "20000", "OPENRUM_STORE_MEMORY_MB": "64"}
    settings = Settings.load({"write_max_events": "30000"}, environ=environ)
    assert (settings.write_max_events, settings.store_memory_mb) == (30_000, 64)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"no_such_setting": "1"}, "unknown setting 'no_such_setting'"),
        ({"flush_interval_s": "2"}, "flush_interval_s must be in (0, 1]"),
        ({"switch_interval_ms": "0"}, "switch_interval_ms must be > 0"),
        ({"write_max_events": "0"}, "write_max_events must be at least 1"),
        ({"max_header_bytes": "0"}, "max_header_bytes must be at least 1"),
        ({"max_connections": "0"}, "max_connections must be at least 1"),
        ({"keepalive_timeout_s": "0"}, "keepalive_timeout_s must be at least 1"),
        ({"header_timeout_s": "0"}, "header_timeout_s must be > 0"),
        ({"body_timeout_s": "-1"}, "body_timeout_s must be > 0"),
        ({"batch_step_chunk_beacons": "-5"}, "batch_step_chunk_beacons must be at least 1"),
        ({"bot_traffic": "keep"}, "bot_traffic must be 'drop' or 'tag'"),
        ({"keep_fragment": "anchors"}, "keep_fragment must be 'routes', 'all' or 'none'"),
    ],
)
def test_bad_values_are_refused_by_name(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Settings.load(overrides, environ={})


@pytest.mark.parametrize(
    ("value", "mode"),
    [(None, "routes"), ("all", "all"), ("none", "none"), ("true", "all"), ("0", "none")],
)
def test_keep_fragment_is_hash_routes_by_default_and_reads_its_old_booleans(
    value: str | None, mode: str
) -> None:
    environ = {"OPENRUM_KEEP_FRAGMENT": value} if value is not None else {}
    assert Settings.load({}, environ=environ).keep_fragment == mode
