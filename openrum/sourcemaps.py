"""Uploaded source maps, per application and release, in the data directory (docs/errors.md).

``DATA/sourcemaps/APP/RELEASE/`` holds a release's files under their names relative to the build
directory (``static/app.3f9c.js``, ``static/app.3f9c.js.map``) and ``index.json``: the URL prefix
the files are served under and, for each minified file, the map its ``sourceMappingURL`` names.
Files, not store rows: a map is a blob of up to megabytes read whole by the symbolicator, never
queried; both engines would hold it as an opaque string, and a release's removal is one
directory's.
"""

from __future__ import annotations

import base64
import copy
import json
import posixpath
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urljoin, urlsplit

from openrum.settings import Settings

# Application ids and releases become directory names: no separators, no dot-only names.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
# The last sourceMappingURL comment of a minified file (the spec: the last one wins).
# https://tc39.es/source-map/#linking-generated-code
_MAPPING_URL = re.compile(rb"[#@]\s*sourceMappingURL=(\S+)\s*(?:\*/)?\s*$")
INDEX = "index.json"


def open_maps(settings: Settings) -> MapStore | None:
    """The settings' MapStore; None when no ``sourcemaps_dir`` is set (the server sets it to
    DATA/sourcemaps)."""
    if not settings.sourcemaps_dir:
        return None
    return MapStore(
        Path(settings.sourcemaps_dir),
        settings.sourcemap_max_file_bytes,
        settings.sourcemap_max_app_bytes,
    )


class UploadError(ValueError):
    """A refused upload: a bad name (status 400) or a file over a size cap (413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Release:
    app: str
    release: str
    files: int
    bytes: int
    uploaded: int  # ms since the epoch


def check_name(value: str, what: str) -> str:
    """``value`` if it is a safe application id or release; raises UploadError otherwise."""
    if not _NAME.match(value or ""):
        raise UploadError(f"{what} must be 1-128 letters, digits, '.', '_', '+' or '-'")
    return value


def file_name(name: str) -> str:
    """A file's relative POSIX name, normalised; raises UploadError for an absolute name, a
    backslash, a NUL or a ``..`` that would leave the release's directory."""
    if not name or "\\" in name or "\0" in name or name.startswith("/"):
        raise UploadError(f"bad file name {name!r}")
    normal = posixpath.normpath(name)
    if normal.startswith("../") or normal in ("..", ".", INDEX) or normal.startswith("/"):
        raise UploadError(f"bad file name {name!r}")
    return normal


def mapping_url(minified: bytes, inline: bool = False) -> str | None:
    """The ``sourceMappingURL`` named at the end of a minified file (None if none, or a data:
    URL, whose inline map an upload does not need, unless ``inline``)."""
    # An inline map is as long as the map: the comment is searched in the whole last line.
    m = _MAPPING_URL.search(minified[minified.rfind(b"\n", 0, len(minified) - 1) + 1 :])
    if m is None or (m.group(1).startswith(b"data:") and not inline):
        return None
    return m.group(1).decode("utf-8", "replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect could leave the application's origins: it is refused, not followed.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _download(url: str, max_bytes: int, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"user-agent": "OpenRUM source map fetcher"})
    with _opener.open(request, timeout=timeout) as resp:
        data: bytes = resp.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"over {max_bytes} bytes")
    return data


def fetch(
    maps: MapStore,
    app: str,
    release: str,
    url: str,
    allowed: Callable[[str], bool],
    timeout: float,
) -> str | None:
    """Download the script at ``url`` and the source map it names into (app, release)'s files,
    as if uploaded; None when stored, else why not. Only from URLs that ``allowed`` accepts
    (the application's own origins), without redirects, each file within the upload's size cap
    and ``timeout`` seconds: fetching is off unless an application turns it on (docs/errors.md)."""
    parts = urlsplit(url)
    if not allowed(url):
        return "the script is not on one of the application's origins"
    try:
        script = _download(url, maps.max_file_bytes, timeout)
        linked = mapping_url(script, inline=True)
        if linked is None:
            return "the script names no source map (sourceMappingURL)"
        map_url = urljoin(url, linked)
        if linked.startswith("data:"):
            meta, _, payload = linked.partition(",")
            raw = unquote_to_bytes(payload)
            source_map = base64.b64decode(raw) if meta.endswith(";base64") else raw
        else:
            if not allowed(map_url):
                return "the source map is not on one of the application's origins"
            source_map = _download(map_url, maps.max_file_bytes, timeout)
    except (OSError, ValueError) as e:  # URLError, HTTPError, timeouts, sizes, bad base64
        return f"fetching the source map failed: {e}"
    # Stored as an upload would be: a relative link names the map by its path, any other
    # (absolute, data:) is stored beside the script as SCRIPT.map, which the index links.
    try:
        name = file_name(parts.path.lstrip("/"))
        relative = "://" not in linked and not linked.startswith(("/", "data:"))
        map_name = file_name(urlsplit(map_url).path.lstrip("/")) if relative else f"{name}.map"
        maps.upload(app, release, {name: script, map_name: source_map})
    except UploadError as e:
        return f"the fetched files cannot be kept: {e}"
    return None


class MapStore:
    """The source maps under one directory (``DATA/sourcemaps``)."""

    def __init__(self, root: Path, max_file_bytes: int, max_app_bytes: int) -> None:
        self.root = root
        self.max_file_bytes = max_file_bytes
        self.max_app_bytes = max_app_bytes
        self._indexes: dict[Path, tuple[int, dict[str, Any]]] = {}

    def release_dir(self, app: str, release: str) -> Path:
        return self.root / check_name(app, "app") / check_name(release, "release")

    def upload(
        self, app: str, release: str, files: Mapping[str, bytes], url_prefix: str = ""
    ) -> Release:
        """Store a build's ``.js`` and ``.map`` files for (app, release), added to what the
        release holds. Raises UploadError, storing nothing, for a bad name, a file over
        ``max_file_bytes`` or an application over ``max_app_bytes``."""
        where = self.release_dir(app, release)
        named = {file_name(k): v for k, v in files.items()}
        for name, data in named.items():
            if len(data) > self.max_file_bytes:
                raise UploadError(f"{name}: {len(data)} bytes, over {self.max_file_bytes}", 413)
            if not name.endswith((".js", ".mjs", ".cjs", ".map")):
                raise UploadError(f"{name}: only .js and .map files are kept")
        replaced = sum(_size(where / n) for n in named)
        total = self.app_bytes(app) - replaced + sum(len(v) for v in named.values())
        if total > self.max_app_bytes:
            raise UploadError(
                f"application {app} would hold {total} bytes, over {self.max_app_bytes}", 413
            )
        index = copy.deepcopy(self.index(app, release))
        maps: dict[str, str] = index.setdefault("maps", {})
        for name, data in named.items():
            path = where / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            if name.endswith(".map"):
                maps.setdefault(name[: -len(".map")], name)
            else:
                linked = mapping_url(data)
                if linked and "://" not in linked and not linked.startswith("/"):
                    target = posixpath.normpath(posixpath.join(posixpath.dirname(name), linked))
                    if not target.startswith("../"):
                        maps[name] = target
        if url_prefix:
            index["url_prefix"] = url_prefix
        index["uploaded"] = int(time.time() * 1000)
        (where / INDEX).write_text(json.dumps(index))
        return self._release(app, release)

    def index(self, app: str, release: str) -> dict[str, Any]:
        """The release's index (empty if it has none), read again only when its file changed:
        the symbolicator asks for it at every frame."""
        path = self.release_dir(app, release) / INDEX
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            return {}
        cached = self._indexes.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            found = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        found = found if isinstance(found, dict) else {}
        self._indexes[path] = (stamp, found)
        return found

    def releases(self, app: str) -> list[Release]:
        """The releases with source maps of ``app``, newest upload first."""
        base = self.root / check_name(app, "app")
        if not base.is_dir():
            return []
        found = [self._release(app, d.name) for d in base.iterdir() if d.is_dir()]
        return sorted(found, key=lambda r: (-r.uploaded, r.release))

    def delete(self, app: str, release: str) -> bool:
        """Remove a release's files; False if it had none."""
        where = self.release_dir(app, release)
        if not where.is_dir():
            return False
        shutil.rmtree(where)
        return True

    def app_bytes(self, app: str) -> int:
        base = self.root / check_name(app, "app")
        if not base.is_dir():
            return 0
        return sum(p.stat().st_size for p in base.rglob("*") if p.is_file() and p.name != INDEX)

    def find(self, app: str, release: str, url: str) -> tuple[Path, Path] | None:
        """(minified file, map) of the script at ``url`` in (app, release), or None. The URL is
        matched by its path after the release's URL prefix, else by its longest suffix that
        names an uploaded file (``/static/app.js`` finds ``static/app.js`` or ``app.js``)."""
        try:
            where = self.release_dir(app, release)
        except UploadError:
            return None
        index = self.index(app, release)
        maps: dict[str, str] = index.get("maps") or {}
        if not maps:
            return None
        prefix = str(index.get("url_prefix") or "")
        rel = url[len(prefix) :] if prefix and url.startswith(prefix) else urlsplit(url).path
        parts = [p for p in rel.split("/") if p]
        for i in range(len(parts)):
            name = "/".join(parts[i:])
            if name in maps:
                return where / name, where / maps[name]
        return None

    def _release(self, app: str, release: str) -> Release:
        where = self.release_dir(app, release)
        files = [p for p in where.rglob("*") if p.is_file() and p.name != INDEX]
        return Release(
            app,
            release,
            len(files),
            sum(p.stat().st_size for p in files),
            int(self.index(app, release).get("uploaded") or 0),
        )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
