"""The client address: the socket peer, or from headers only behind a trusted proxy."""

from __future__ import annotations

import pytest

from openrum.enrich.ip import ClientAddress, mask_ip, parse_ip

TRUSTED = ["10.0.0.0/8", "192.0.2.1"]


def h(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(n.encode(), v.encode()) for n, v in pairs]


@pytest.mark.parametrize(
    ("peer", "headers", "client"),
    [
        # An untrusted peer: headers are anyone's words, ignored.
        ("198.51.100.7", h(("x-forwarded-for", "1.2.3.4")), "198.51.100.7"),
        # A trusted proxy: X-Forwarded-For right to left, trusted hops skipped.
        ("10.0.0.2", h(("x-forwarded-for", "203.0.113.9")), "203.0.113.9"),
        ("10.0.0.2", h(("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.1.1.1")), "203.0.113.9"),
        # Two X-Forwarded-For lines are one list.
        ("10.0.0.2", h(("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "203.0.113.9")),
         "203.0.113.9"),
        # Only trusted hops: the leftmost.
        ("10.0.0.2", h(("x-forwarded-for", "10.9.9.9, 10.1.1.1")), "10.9.9.9"),
        # A garbage entry ends the walk: the next header, else the peer.
        ("10.0.0.2", h(("x-forwarded-for", "nonsense, 10.1.1.1")), "10.0.0.2"),
        ("10.0.0.2", h(("x-forwarded-for", "nonsense"), ("x-real-ip", "203.0.113.5")),
         "203.0.113.5"),
        # RFC 7239 Forwarded, quoted IPv6 with a port.
        ("192.0.2.1", h(("forwarded", 'for="[2001:db8::17]:4711";proto=https, for=10.2.2.2')),
         "2001:db8::17"),
        ("192.0.2.1", h(("forwarded", "for=203.0.113.60;by=10.0.0.1")), "203.0.113.60"),
        ("10.0.0.2", h(("cf-connecting-ip", "203.0.113.77")), "203.0.113.77"),
        ("10.0.0.2", h(("true-client-ip", "203.0.113.78")), "203.0.113.78"),
        # X-Forwarded-For comes before X-Real-IP in the default order.
        ("10.0.0.2", h(("x-real-ip", "203.0.113.1"), ("x-forwarded-for", "203.0.113.2")),
         "203.0.113.2"),
        # IPv4-mapped IPv6, ports.
        ("::ffff:10.0.0.2", h(("x-forwarded-for", "::ffff:203.0.113.9")), "203.0.113.9"),
        ("10.0.0.2", h(("x-forwarded-for", "203.0.113.9:5123")), "203.0.113.9"),
        ("::ffff:198.51.100.7", [], "198.51.100.7"),
        ("", [], ""),
    ],
)  # fmt: skip
def test_resolve(peer: str, headers: list[tuple[bytes, bytes]], client: str) -> None:
    assert ClientAddress(TRUSTED).resolve(peer, headers) == client


def test_the_header_order_is_configurable() -> None:
    only_real_ip = ClientAddress(TRUSTED, ["X-Real-IP"])
    headers = h(("x-forwarded-for", "203.0.113.2"), ("x-real-ip", "203.0.113.1"))
    assert only_real_ip.resolve("10.0.0.2", headers) == "203.0.113.1"
    assert only_real_ip.header_bytes == frozenset({b"x-real-ip"})


def test_no_trusted_proxy_means_the_socket() -> None:
    assert ClientAddress([]).resolve("10.0.0.2", h(("x-forwarded-for", "1.2.3.4"))) == "10.0.0.2"


def test_a_bad_trusted_entry_is_an_error() -> None:
    with pytest.raises(ValueError, match="trusted proxy"):
        ClientAddress(["not-a-network"])


@pytest.mark.parametrize(
    ("text", "ip"),
    [("[2001:db8::1]:443", "2001:db8::1"), ("fe80::1%eth0", "fe80::1"), ("x", None)],
)
def test_parse_ip(text: str, ip: str | None) -> None:
    parsed = parse_ip(text)
    assert (str(parsed) if parsed else None) == ip


def test_level_two_masks_two_octets_and_96_bits() -> None:
    assert mask_ip("203.0.113.77", 2) == "203.0.0.0"
    assert mask_ip("2001:db8:1234:5678::1", 2) == "2001:db8::"
