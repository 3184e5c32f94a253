"""Real builds of the small shop app in app/: minified with source maps by esbuild (the agent's
bundler) and by Rollup with terser (this folder's package.json), and where its errors come from."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
ESBUILD = ROOT / "agent" / "node_modules" / ".bin" / "esbuild"
ROLLUP = HERE / "node_modules" / ".bin" / "rollup"
BUNDLERS = ("esbuild", "rollup")
FILES = ("main.js", "lib/cart.js", "lib/price.js", "vendor/iterate.js")


def build(bundler: str, out: Path, shift: int = 0) -> Path:
    """Bundle app/ into ``out/static/app.min.js`` (+ ``.map``); ``shift`` lines at the top of
    every module make another build of the same code. Returns the build directory ``out``."""
    src = out / "src"
    shutil.copytree(HERE / "app", src, dirs_exist_ok=True)
    for name in FILES:  # a statement a minifier keeps, so the minified code moves too
        path = src / name
        stamp = f'globalThis.buildStamp = "{name}";' if shift else ""
        path.write_text(stamp + "\n" * shift + path.read_text())
    target = out / "static" / "app.min.js"
    if bundler == "esbuild":
        cmd = [str(ESBUILD), str(src / "main.js"), "--bundle", "--minify", "--sourcemap",
               f"--outfile={target}", "--log-level=error"]  # fmt: skip
        subprocess.run(cmd, check=True, timeout=60)
    else:
        env = {**os.environ, "OUT": str(target), "NODE_PATH": str(HERE / "node_modules")}
        config = str(HERE / "rollup.config.mjs")
        cmd = [str(ROLLUP), "-c", config, "--silent", "-i", str(src / "main.js")]
        subprocess.run(cmd, check=True, timeout=60, env=env, cwd=HERE)
    return out


def line_of(marker: str, shift: int = 0) -> tuple[str, int]:
    """(module, 1-based line) of the source line carrying ``marker``."""
    for name in FILES:
        for i, text in enumerate((HERE / "app" / name).read_text().splitlines(), 1):
            if marker in text:
                return name, i + shift
    raise LookupError(marker)


def files(out: Path) -> dict[str, bytes]:
    """The build's files by name relative to ``out``, as an upload sends them."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in (out / "static").iterdir()
        if p.suffix in (".js", ".map")
    }


URL = "https://shop.example/static/app.min.js"
# Runs the bundle in V8 (Node's; Chromium's is the same engine) and prints the agent's format.
_NODE = """
globalThis.window = globalThis; globalThis.document = {};
require(process.argv[1]);
try { window[process.argv[2]](); } catch (e) {
  const frames = e.stack.split("\\n").slice(1).filter((l) => l.includes(process.argv[1]));
  console.log(frames.map((l) => l.trim().split(process.argv[1]).join(process.argv[3])).join("\\n"));
}
"""


def v8_stack(out: Path, fn: str) -> str:
    """The stack of ``window[fn]()`` in the build at ``out``, its frames at ``URL``."""
    script = str(out / "static" / "app.min.js")
    done = subprocess.run(
        ["node", "-e", _NODE, script, fn, URL], check=True, capture_output=True, timeout=30
    )
    return done.stdout.decode().strip()
