"""Abuse limits on the hot path: token buckets per client address and per application.

Pure and cheap: a dictionary look-up and a little arithmetic per request; time arrives as
``now`` (seconds). A bucket refills at ``rate`` tokens per second up to ``burst``.
"""

from __future__ import annotations

import zlib

from openrum.collect.beacon import Drop


class RateLimiter:
    """Token buckets keyed by any string; ``rate <= 0`` turns the limiter off."""

    def __init__(self, rate: float, burst: float, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, last refill)

    def allow(self, key: str, now: float) -> float:
        """0 when ``key`` may go on (a token is taken), else seconds until it may retry."""
        if self.rate <= 0:
            return 0.0
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if len(self._buckets) >= self.max_keys and key not in self._buckets:
            # Bounded memory under an address-spraying flood: start over (full buckets are the
            # default anyway, so only clients in the middle of a burst lose their state).
            self._buckets.clear()
        self._buckets[key] = (tokens - 1.0, now)
        return 0.0


def inflate(body: bytes, encoding: bytes, cap: int) -> bytes | Drop:
    """Decompress a gzip or deflate body, refusing to inflate past ``cap`` bytes."""
    if encoding in (b"", b"identity"):
        return body
    if encoding == b"gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == b"deflate":
        # RFC 9110 "deflate" is zlib-wrapped; some clients send raw deflate: accept both.
        inflater = zlib.decompressobj(zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS)
    else:
        return Drop("unsupported_encoding", 415, f"Content-Encoding {encoding.decode('latin-1')}")
    try:
        out = inflater.decompress(body, cap + 1)
    except zlib.error as e:
        return Drop("bad_encoding", 400, str(e))
    if len(out) > cap or inflater.unconsumed_tail:
        return Drop("body_too_large", 413, f"decompressed body over {cap} bytes")
    if not inflater.eof:
        return Drop("bad_encoding", 400, "truncated compressed body")
    return out
