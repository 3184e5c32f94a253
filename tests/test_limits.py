"""Abuse limits: token buckets and bounded decompression."""

from __future__ import annotations

import gzip
import zlib

import pytest

from openrum.collect.beacon import Drop
from openrum.collect.limits import RateLimiter, inflate


def test_a_bucket_allows_a_burst_then_the_rate() -> None:
    limiter = RateLimiter(rate=2, burst=3)
    assert [limiter.allow("a", 100.0) for _ in range(3)] == [0, 0, 0]
    assert limiter.allow("a", 100.0) == pytest.approx(0.5)  # empty: one token in 0.5 s
    assert limiter.allow("b", 100.0) == 0  # other keys are independent
    assert limiter.allow("a", 100.6) == 0
    assert limiter.allow("a", 100.6) > 0


def test_a_zero_rate_is_off() -> None:
    limiter = RateLimiter(rate=0, burst=1)
    assert all(limiter.allow("a", 1.0) == 0 for _ in range(1000))


def test_memory_stays_bounded_under_address_spraying() -> None:
    limiter = RateLimiter(rate=1, burst=5, max_keys=100)
    for i in range(10_000):
        limiter.allow(f"10.0.{i // 256}.{i % 256}", 1.0)
    assert len(limiter._buckets) <= 100


PAYLOAD = b'{"v": 1}' * 100


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (gzip.compress(PAYLOAD, mtime=0), b"gzip"),
        (zlib.compress(PAYLOAD), b"deflate"),
        (zlib.compress(PAYLOAD)[2:-4], b"deflate"),  # raw deflate, as some clients send it
        (PAYLOAD, b"identity"),
    ],
)
def test_inflate(body: bytes, encoding: bytes) -> None:
    assert inflate(body, encoding, 10_000) == PAYLOAD


@pytest.mark.parametrize(
    ("body", "encoding", "reason", "status"),
    [
        (gzip.compress(b"\0" * 10_000_000, mtime=0), b"gzip", "body_too_large", 413),  # a zip bomb
        (b"not gzip at all", b"gzip", "bad_encoding", 400),
        (gzip.compress(PAYLOAD, mtime=0)[:-12], b"gzip", "bad_encoding", 400),  # truncated
        (PAYLOAD, b"br", "unsupported_encoding", 415),
    ],
)
def test_inflate_refuses(body: bytes, encoding: bytes, reason: str, status: int) -> None:
    result = inflate(body, encoding, 100_000)
    assert isinstance(result, Drop)
    assert (result.reason, result.status) == (reason, status)
