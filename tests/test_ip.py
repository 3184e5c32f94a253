"""IP masking (RUM.md): the default zeroes the IPv4 last octet and the IPv6 last 80 bits."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openrum.enrich.ip import mask_ip


@pytest.mark.parametrize(
    ("address", "level", "masked"),
    [
        ("203.0.113.77", 1, "203.0.113.0"),
        ("203.0.113.77", 2, "203.0.0.0"),
        ("203.0.113.77", 0, "203.0.113.77"),
        ("2001:db8:1234:5678:9abc:def0:1234:5678", 1, "2001:db8:1234::"),
        ("::ffff:203.0.113.77", 1, "203.0.113.0"),
        ("[2001:db8::1]", 1, "2001:db8::"),
        ("not an ip", 1, ""),
        ("", 1, ""),
    ],
)
def test_mask(address: str, level: int, masked: str) -> None:
    assert mask_ip(address, level) == masked


@given(st.ip_addresses())
def test_masking_is_idempotent_and_keeps_the_network(ip: ipaddress._BaseAddress) -> None:
    once = mask_ip(str(ip))
    assert mask_ip(once) == once
    if isinstance(ip, ipaddress.IPv4Address):
        assert once.rsplit(".", 1)[0] == str(ip).rsplit(".", 1)[0]
