"""The foreign agents (package.json here) built into one script each, for the browser tests of
docs/ingest.md: Boomerang, the Grafana Faro Web SDK and the OpenTelemetry web SDK."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
ESBUILD = ROOT / "agent" / "node_modules" / ".bin" / "esbuild"
MODULES = HERE / "node_modules"
# Boomerang's plugins are plain scripts that its own build concatenates (they are not modules:
# errors.js defines ErrorStackParser on the global object): the plugins of a Basic RUM set-up.
BOOMERANG = (
    "boomerang.js",
    "plugins/rt.js",
    "plugins/navtiming.js",
    "plugins/restiming.js",
    "plugins/painttiming.js",
    "plugins/eventtiming.js",
    "plugins/continuity.js",
    "plugins/auto-xhr.js",
    "plugins/errors.js",
    "plugins/compression.js",
    "plugins/zzz-last-plugin.js",
)


def _check() -> None:
    assert MODULES.exists(), "run make foreign-agents"


@functools.cache
def boomerang() -> str:
    """Boomerang and its plugins, started with the page's ``window.BOOMR_CONFIG``."""
    _check()
    parts = [(MODULES / "boomerangjs" / name).read_text() for name in BOOMERANG]
    return "\n;\n".join([*parts, "BOOMR.init(window.BOOMR_CONFIG);"])


@functools.cache
def bundle(name: str) -> str:
    """``{name}.js`` here with its npm dependencies bundled by esbuild, as a page loads it."""
    _check()
    args = ["--bundle", "--format=iife", "--target=es2020", "--log-level=error"]
    out = subprocess.run(
        [str(ESBUILD), str(HERE / f"{name}.js"), *args],
        check=True,
        capture_output=True,
        timeout=120,
        cwd=HERE,
    )
    return out.stdout.decode()


def inline(script: str) -> str:
    """``script`` in a ``<script>`` element: what would end the element is escaped (the same
    JavaScript; ``<\\/`` is ``</`` in strings, regular expressions and comments)."""
    return "<script>" + script.replace("</", "<\\/").replace("<!--", "<\\!--") + "</script>"
