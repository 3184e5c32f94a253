"""openrum/malloc.py: freed memory goes back to the system after ``trim``."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import sys
from openrum.malloc import limit_arenas, trim

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

limit_arenas()
blocks = [bytes(1000) + bytes([i % 256]) for i in range(150_000)]  # ~150 MB, malloc'd
last = blocks[-1]  # pins the top of the heap: glibc alone gives nothing back
del blocks
before = rss_mb()
trim()
print(before, rss_mb())
"""


def test_trim_gives_freed_memory_back() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True
    ).stdout
    before, after = map(float, out.split())
    assert before - after > 100, (before, after)
