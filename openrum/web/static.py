"""The built dashboard (web/build.mjs), read into memory once and served with its cache policy.

- ``index.html`` names the current scripts and style: ``Cache-Control: no-cache`` (revalidated
  with its ETag on each visit, so that a new version is seen at once);
- the assets listed in ``manifest.json`` have content-hashed names: a changed file is a new name,
  so they are cached for a year, ``immutable`` (no revalidation on reload);
- each asset has a brotli and a gzip copy made at build time: the request's ``Accept-Encoding``
  picks one (br > gzip > identity), ``Vary: Accept-Encoding`` tells caches so.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from starlette.types import Receive, Scope, Send

from openrum.encoding import choose

IMMUTABLE = b"public, max-age=31536000, immutable"
TYPES = {
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".html": b"text/html; charset=utf-8",
}


@dataclass(frozen=True)
class File:
    """One file's bytes in each encoding (``""`` is identity) and its fixed headers."""

    bodies: dict[str, bytes]
    headers: list[tuple[bytes, bytes]]
    etag: bytes


def _etag(body: bytes) -> bytes:
    return b'"' + hashlib.blake2b(body, digest_size=8).hexdigest().encode() + b'"'


def _asset(path: Path) -> File:
    bodies = {"": path.read_bytes()}
    for coding, suffix in (("br", ".br"), ("gzip", ".gz")):
        packed = path.with_name(path.name + suffix)
        if packed.is_file():
            bodies[coding] = packed.read_bytes()
    headers = [
        (b"content-type", TYPES.get(path.suffix, b"application/octet-stream")),
        (b"cache-control", IMMUTABLE),
        (b"vary", b"accept-encoding"),
    ]
    return File(bodies, headers, _etag(bodies[""]))


class Dashboard:
    """ASGI app for ``/``, ``/index.html`` and the assets; anything else is a 404."""

    def __init__(self, directory: Path) -> None:
        manifest = json.loads((directory / "manifest.json").read_text("utf-8"))
        self.files: dict[str, File] = {
            "/" + name: _asset(directory / name) for name in manifest["assets"]
        }
        index = (directory / "index.html").read_bytes()
        page = File(
            {"": index},
            [(b"content-type", TYPES[".html"]), (b"cache-control", b"no-cache")],
            _etag(index),
        )
        self.files["/"] = self.files["/index.html"] = page
        # A page cached by a browser before the names were hashed asks for /app.js and
        # /style.css: they answer with today's files, revalidated (no-cache) like the page.
        for old, name in (("/app.js", manifest["entry"]), ("/style.css", manifest["style"])):
            asset = self.files["/" + name]
            headers = [(n, b"no-cache" if n == b"cache-control" else v) for n, v in asset.headers]
            self.files[old] = File(asset.bodies, headers, asset.etag)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await _send(send, 405, [(b"allow", b"GET, HEAD")], b"method not allowed\n")
            return
        file = self.files.get(scope["path"])
        if file is None:
            await _send(
                send, 404, [(b"content-type", b"text/plain; charset=utf-8")], b"not found\n"
            )
            return
        accept = match = b""
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                match = value
            elif name == b"accept-encoding":
                accept = value
        coding = choose(accept) if len(file.bodies) > 1 else ""
        body = file.bodies.get(coding)
        if body is None:
            coding, body = "", file.bodies[""]
        # One ETag per encoding: the copies are different bytes (RFC 9110 §8.8.3).
        etag = file.etag[:-1] + b"-" + coding.encode() + b'"' if coding else file.etag
        headers = [*file.headers, (b"etag", etag)]
        if match and etag in match:
            await _send(send, 304, headers, b"", head=True)
            return
        headers.append((b"content-length", b"%d" % len(body)))
        if coding:
            headers.append((b"content-encoding", coding.encode()))
        await _send(send, 200, headers, body, head=scope["method"] == "HEAD")


async def _send(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, head: bool = False
) -> None:
    if not head and not any(n == b"content-length" for n, _ in headers):
        headers = [*headers, (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
