"""The built dashboard's bytes and how `openrum serve` sends them (docs/dashboard.md, Caching):
the script the overview loads fits its brotli budget; hashed assets are precompressed and cached
for good, the page is revalidated; /openrum.js goes as brotli to browsers that accept it."""

from __future__ import annotations

import gzip
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from openrum.encoding import choose
from openrum.server import DASHBOARD
from tests.conftest import LiveServer

BUDGET = 200 * 1024  # brotli bytes of the script the overview loads (issue #23, docs/dashboard.md)
AGENT = Path(str(resources.files("openrum.collect"))) / "static"

built = pytest.mark.skipif(
    not (DASHBOARD / "index.html").is_file(), reason="dashboard not built: run `make web`"
)


def manifest() -> dict[str, Any]:
    result: dict[str, Any] = json.loads((DASHBOARD / "manifest.json").read_text())
    return result


@built
def test_the_overview_script_fits_its_brotli_budget() -> None:
    m = manifest()
    first = m["first"]
    total = sum((DASHBOARD / f"{name}.br").stat().st_size for name in first)
    assert total <= BUDGET, f"{total} B brotli > {BUDGET} B: {first}"
    # The map (TopoJSON arcs, read by topojson-client) is not in it: the map page loads it.
    assert not any(b".arcs" in (DASHBOARD / name).read_bytes() for name in first)
    assert any(b".arcs" in (DASHBOARD / name).read_bytes() for name in m["assets"])
    page = (DASHBOARD / "index.html").read_text()
    named = set(re.findall(r'(?:src|href)="/([^"]+\.(?:js|css))"', page))
    assert named == {*first, next(n for n in m["assets"] if n.endswith(".css"))}
    for name in m["assets"]:
        assert re.fullmatch(r"[a-z]+-[A-Z0-9]{8}\.(js|css)", name), name  # content-hashed


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        (b"gzip, deflate, br, zstd", "br"),
        (b"gzip, deflate", "gzip"),
        (b"", ""),
        (b"identity", ""),
        (b"br;q=0, gzip;q=0.5", "gzip"),
        (b"BR;Q=1.0", "br"),
        (b"*", "br"),
        (b"*;q=0, gzip", "gzip"),
        (b"gzip;q=0, br;q=0", ""),
        (b"gzip;q=x", ""),
    ],
)
def test_encoding_choice(accept: bytes, coding: str) -> None:
    assert choose(accept) == coding


@built
def test_assets_are_sent_precompressed_and_cached_for_good(live_server: LiveServer) -> None:
    name = manifest()["entry"]
    raw = (DASHBOARD / name).read_bytes()
    get = live_server.request
    status, h, body = get("GET", "/" + name, headers={"accept-encoding": "gzip, deflate, br"})
    assert (status, h["content-encoding"], body) == (
        200,
        "br",
        (DASHBOARD / f"{name}.br").read_bytes(),
    )
    assert h["cache-control"] == "public, max-age=31536000, immutable"
    assert h["vary"].lower() == "accept-encoding"
    assert h["content-type"] == "text/javascript; charset=utf-8"
    assert int(h["content-length"]) == len(body)
    status, h, body = get("GET", "/" + name, headers={"accept-encoding": "gzip"})
    assert (status, h["content-encoding"], gzip.decompress(body)) == (200, "gzip", raw)
    status, h, body = get("GET", "/" + name, headers={"accept-encoding": "identity"})
    assert (status, "content-encoding" in h, body) == (200, False, raw)
    assert h["cache-control"] == "public, max-age=31536000, immutable"
    status, h, body = get("HEAD", "/" + name, headers={"accept-encoding": "br"})
    assert (status, body, h["content-encoding"]) == (200, b"", "br")
    css = next(n for n in manifest()["assets"] if n.endswith(".css"))
    status, h, _ = get("GET", "/" + css, headers={"accept-encoding": "br"})
    assert (status, h["content-type"], h["content-encoding"]) == (
        200,
        "text/css; charset=utf-8",
        "br",
    )
    # The names before hashing, for a page cached before: today's files, revalidated.
    status, h, body = get("GET", "/app.js", headers={"accept-encoding": "gzip"})
    assert (status, h["cache-control"], gzip.decompress(body)) == (200, "no-cache", raw)
    assert get("GET", "/style.css")[1]["cache-control"] == "no-cache"
    assert get("GET", "/chunk.js")[0] == 404
    assert get("GET", "/manifest.json")[0] == 404
    assert get("POST", "/" + name)[0] == 405


@built
def test_the_page_is_revalidated(live_server: LiveServer) -> None:
    for path in ("/", "/index.html"):
        status, h, body = live_server.request("GET", path, headers={"accept-encoding": "br"})
        assert status == 200 and body == (DASHBOARD / "index.html").read_bytes()
        assert h["cache-control"] == "no-cache"
        assert h["content-type"] == "text/html; charset=utf-8"
        status, _, body = live_server.request("GET", path, headers={"if-none-match": h["etag"]})
        assert (status, body) == (304, b"")


@pytest.mark.skipif(not (AGENT / "openrum.js").is_file(), reason="agent not built")
def test_the_agent_is_sent_as_brotli_when_accepted(live_server: LiveServer) -> None:
    raw = (AGENT / "openrum.js").read_bytes()
    status, h, body = live_server.request(
        "GET", "/openrum.js", headers={"accept-encoding": "gzip, deflate, br"}, auth=False
    )
    assert (status, h["content-encoding"]) == (200, "br")
    assert body == (AGENT / "openrum.js.br").read_bytes() and len(body) < 5 * 1024
    assert h["vary"].lower() == "accept-encoding"
    status, h, body = live_server.request(
        "GET", "/openrum.js", headers={"accept-encoding": "gzip"}, auth=False
    )
    assert (status, h["content-encoding"], gzip.decompress(body)) == (200, "gzip", raw)
    status, h, body = live_server.request("GET", "/openrum.js", auth=False)
    assert (status, "content-encoding" in h, body) == (200, False, raw)
