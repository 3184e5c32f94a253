"""Which precompressed copy of a file to send: brotli, then gzip, then the file as it is.

Files are compressed once, when they are built (web/build.mjs, agent/build.mjs), never per
request; this only reads the request's ``Accept-Encoding`` (RFC 9110 §12.5.3).
"""

from __future__ import annotations

import functools

PREFERENCE = ("br", "gzip")


@functools.lru_cache(maxsize=256)
def choose(accept: bytes) -> str:
    """``"br"``, ``"gzip"`` or ``""`` (identity): the first of ours the client accepts.

    A coding is accepted when it is listed, or covered by ``*``, with a q-value above zero.
    Browsers send a handful of distinct values: the answers are cached.
    """
    weights: dict[str, float] = {}
    for item in accept.decode("latin-1").lower().split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip()
        if not coding:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        weights[coding] = q
    for coding in PREFERENCE:
        if weights.get(coding, weights.get("*", 0.0)) > 0:
            return coding
    return ""
