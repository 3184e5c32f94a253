"""The C library's allocator (glibc's ``malloc``), told to keep less memory it no longer uses.

DuckDB (without jemalloc in its Python wheel), pyarrow (``system_allocator``) and the interpreter
allocate with ``malloc``. glibc gives each thread that allocates its own arena (up to 8 per
core), and keeps what a write freed inside them: under a sustained load the server's store
writes, the batch step's tables and the event loop's requests each filled arenas of their own,
which stayed full between writes. ``limit_arenas`` caps the arenas (before threads start) and
``trim`` gives freed pages back after each batch. Elsewhere (musl, macOS) both do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes

_M_ARENA_MAX = -8  # mallopt's parameter (malloc.h)


def _libc() -> ctypes.CDLL | None:
    with contextlib.suppress(OSError):
        libc = ctypes.CDLL(None)
        if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim"):
            return libc
    return None


_LIBC = _libc()


def limit_arenas(arenas: int = 2) -> None:
    """At most ``arenas`` arenas for the whole process: threads share them (a thread that finds
    every arena busy waits for a lock, which on two cores costs no measurable time)."""
    if _LIBC is not None:
        _LIBC.mallopt(_M_ARENA_MAX, arenas)


def trim() -> None:
    """Give the pages freed since the last call back to the system (a few ms, on the calling
    thread)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
