"""Minified stack frames resolved to their original source through uploaded source maps.

Resolution is symbolic's (Sentry's source-map library): ``SourceMapCache`` reads a minified file
and its map once and answers each (line, column) with the original file, line, column, the
enclosing function's original name (from the scopes of the minified code) and the lines around
it from the map's ``sourcesContent``. Parsed caches are kept per (app, release, file), least
recently used first out. A frame that cannot be resolved keeps its raw position and says why
(``reason``); nothing here raises for a missing, wrong or corrupt map.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symbolic.exceptions import SymbolicError
from symbolic.sourcemapcache import SourceMapCache

from openrum.sourcemaps import MapStore, fetch

# The agent's frame format (agent/src/lib/stack.js): `at fn (url:line:col)`; a browser's own
# `fn@url:line:col` too, for stacks sent through the API.
_FRAME = re.compile(r"^\s*(?:at (?:(.+?) \()?|(.*?)@)(.+?):(\d+):(\d+)\)?\s*$")
# Not the application's own code: dependencies and the bundlers' vendor chunks.
_NOT_IN_APP = re.compile(r"(^|/)(node_modules|vendor|vendors|bower_components)(/|[.~-])|^webpack/")
CONTEXT_LINES = 5
# How long a script's map, or its absence, is trusted before the release's files are read again.
RECHECK_S = 10.0
# A failed fetch of a script's map (docs/errors.md) is tried again after this many seconds.
FETCH_RETRY_S = 300.0


@dataclass(slots=True)
class Frame:
    """One stack frame: its raw position, and its original one when resolved."""

    function: str
    url: str
    line: int
    col: int
    file: str | None = None  # original source file, when resolved
    original_line: int | None = None
    original_col: int | None = None
    original_function: str | None = None
    in_app: bool = False
    pre_context: list[str] | None = None
    context_line: str | None = None
    post_context: list[str] | None = None
    reason: str | None = None  # why a frame was not resolved

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def parse_stack(stack: str | None) -> list[Frame]:
    """The frames of a stack as the agent sends it (lines that are not frames are skipped)."""
    frames = []
    for line in (stack or "").splitlines():
        m = _FRAME.match(line)
        if m:
            fn = m.group(1) or m.group(2) or "?"
            frames.append(Frame(fn, m.group(3), int(m.group(4)), int(m.group(5))))
    return frames


def in_app(file: str) -> bool:
    """Whether an original source file is the application's own code."""
    return _NOT_IN_APP.search(file.replace("\\", "/")) is None


class Symbolicator:
    """Resolves stacks of (app, release) against a MapStore, with a cache of parsed maps."""

    def __init__(self, maps: MapStore, cache_size: int = 64, fetch_timeout: float = 5.0) -> None:
        self.maps = maps
        self.cache_size = cache_size
        self.fetch_timeout = fetch_timeout
        # (app, release, map path) → the parsed cache, or why there is none.
        self._cache: OrderedDict[tuple[str, str, str], SourceMapCache | str] = OrderedDict()
        # (app, release, script URL) → (until when it holds, its parsed map or None or why).
        self._found: dict[tuple[str, str, str], tuple[float, SourceMapCache | str | None]] = {}
        self._lock = threading.Lock()  # the web app resolves from several threads

    def resolve(
        self,
        app: str,
        release: str | None,
        stack: str | None,
        context: int = CONTEXT_LINES,
        fetch_from: Callable[[str], bool] | None = None,
    ) -> list[Frame]:
        """The frames of ``stack``, each resolved where a map of (app, release) covers it, with
        ``context`` lines of source around it (grouping needs none: it reads the line itself).
        A script without an uploaded map is fetched, with its map, when ``fetch_from`` accepts
        its URL (the application's origins, when it turned fetching on)."""
        frames = parse_stack(stack)
        for frame in frames:
            self._resolve(app, release, frame, context, fetch_from)
        return frames

    def _resolve(
        self,
        app: str,
        release: str | None,
        frame: Frame,
        context: int,
        fetch_from: Callable[[str], bool] | None,
    ) -> None:
        if not release:
            frame.reason = "no release on the error (the snippet's data-release)"
            return
        cache = self._where(app, release, frame.url, fetch_from)
        if cache is None:
            frame.reason = f"no source map uploaded for this file in release {release}"
            return
        if isinstance(cache, str):
            frame.reason = cache
            return
        try:
            token = cache.lookup(frame.line, frame.col, context)
        except SymbolicError as e:  # a position past the map's end
            token = None
            frame.reason = f"lookup failed: {e}"
        if token is None or not token.src:
            frame.reason = frame.reason or "the source map has no mapping at this position"
            return
        frame.file = token.src
        frame.original_line = token.line
        frame.original_col = token.col
        # symbolic names an anonymous function (a callback) "<anonymous>": no name, as the
        # browser's frame has none.
        name = token.function_name
        frame.original_function = None if name in (None, "<anonymous>") else name
        frame.in_app = in_app(token.src)
        frame.context_line = _line(token.context_line)
        frame.pre_context = [_line(x) for x in token.pre_context]
        frame.post_context = [_line(x) for x in token.post_context]

    def _where(
        self, app: str, release: str, url: str, fetch_from: Callable[[str], bool] | None
    ) -> SourceMapCache | str | None:
        """The parsed map of the script at ``url`` (None: no map; a string: why it is unusable).
        Looked up in the release's files again after ``RECHECK_S``, so that a new upload is
        used within that time; in between, a frame costs no file system call (nor a fetch)."""
        key = (app, release, url)
        now = time.monotonic()
        hit = self._found.get(key)
        if hit is not None and now < hit[0]:
            return hit[1]
        cache: SourceMapCache | str | None = None
        until = now + RECHECK_S
        try:
            found = self.maps.find(app, release, url)
        except (OSError, ValueError) as e:  # an unreadable folder: the frame says so
            cache = f"source maps unreadable: {e}"
        else:
            if found is None and fetch_from is not None:
                failed = fetch(self.maps, app, release, url, fetch_from, self.fetch_timeout)
                found = None if failed else self.maps.find(app, release, url)
                cache = failed
                if failed:  # the site is asked again only after a while
                    until = now + FETCH_RETRY_S
            if found is not None:
                cache = self._load(app, release, *found)
        with self._lock:
            if len(self._found) >= 10_000:  # scripts of many releases: start over
                self._found.clear()
            self._found[key] = (until, cache)
        return cache

    def _load(self, app: str, release: str, minified: Path, map_path: Path) -> SourceMapCache | str:
        try:  # a file uploaded again under the same name is parsed again
            stamp = map_path.stat().st_mtime_ns
        except OSError:
            stamp = 0
        key = (app, release, f"{map_path}@{stamp}")
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        try:
            loaded: SourceMapCache | str = SourceMapCache.from_bytes(
                minified.read_bytes(), map_path.read_bytes()
            )
        except FileNotFoundError as e:
            loaded = f"file missing from the upload: {Path(e.filename or '').name}"
        except (OSError, SymbolicError) as e:
            loaded = f"corrupt source map: {e}"
        with self._lock:
            self._cache[key] = loaded
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return loaded

    def forget(self, app: str, release: str) -> None:
        """Drop the cached maps of (app, release): its files were replaced or deleted."""
        with self._lock:
            for key in [k for k in self._cache if k[:2] == (app, release)]:
                del self._cache[key]
            for where in [k for k in self._found if k[:2] == (app, release)]:
                del self._found[where]


def grouping_frames(frames: list[Frame]) -> str | None:
    """What identifies a bug in resolved frames, the same in every build: each in-app frame's
    original file, function and source line (its text, not its number, which moves when code
    above it changes; Sentry groups JavaScript by context line too). None when no in-app frame
    was resolved."""
    keys = [
        f"{f.file}|{f.original_function or ''}|{(f.context_line or '').strip()[:200]}"
        for f in frames
        if f.in_app and f.file
    ]
    return "\n".join(keys) if keys else None


def _line(text: str | None) -> str:
    return (text or "").rstrip("\r\n")
