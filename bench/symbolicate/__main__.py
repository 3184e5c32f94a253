"""Symbolication cost (``python -m bench.symbolicate``), written to docs/benchmarks.md.

A synthetic app of a few hundred modules bundled and minified by esbuild into one file with a
source map of about 5 MB (sources included). Measured on one core:

* loading: parsing the minified file and its map into symbolic's cache (the first frame of a
  release after a start), and the memory that cache holds;
* frames per second with a warm cache, through ``Symbolicator.resolve`` (stack parsing, the
  lookup, with 5 lines of context for the error page or the line only for grouping);
* at ingest: the batch step (``Pipeline.run``) on the same errors with and without source maps,
  the extra time per error (each error's frames resolved to group it);
* at read time: the error page's five samples of ten frames, warm.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import msgspec
from symbolic.sourcemap import SourceMapView

from bench.harness import rss_mb
from bench.report import ROOT, machine, write_section
from openrum.collect.beacon import Beacon, Env, Error
from openrum.collect.spool import Raw
from openrum.enrich.pipeline import Pipeline
from openrum.enrich.symbolicate import Symbolicator
from openrum.settings import Settings
from openrum.sourcemaps import MapStore

ESBUILD = ROOT / "agent" / "node_modules" / ".bin" / "esbuild"
URL = "https://shop.example/static/app.min.js"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def make_app(src: Path, modules: int) -> None:
    """``modules`` modules of a dozen functions each, the entry calling into all of them."""
    rng = random.Random(7)
    for m in range(modules):
        body = []
        for f in range(12):
            lines = [
                f"  const value{i} = input * {rng.randint(2, 999)} + {i}; // step {i}"
                for i in range(8)
            ]
            body.append(
                f"export function handler{m}x{f}(input) {{\n" + "\n".join(lines)
                + f"\n  if (input < 0) throw new Error('bad input in {m}/{f}');\n"
                + "  return " + " + ".join(f"value{i}" for i in range(8)) + ";\n}\n"
            )  # fmt: skip
        (src / f"mod{m}.js").write_text("\n".join(body))
    imports = "\n".join(f"import * as m{m} from './mod{m}.js';" for m in range(modules))
    (src / "main.js").write_text(
        imports + f"\nwindow.mods = [{', '.join(f'm{m}' for m in range(modules))}];\n"
    )


def build(work: Path) -> Path:
    src, out = work / "src", work / "build"
    src.mkdir()
    make_app(src, 420)
    subprocess.run(
        [str(ESBUILD), str(src / "main.js"), "--bundle", "--minify", "--sourcemap",
         f"--outfile={out / 'static' / 'app.min.js'}", "--log-level=error"],
        check=True,
    )  # fmt: skip
    return out


def frames_of(map_bytes: bytes, n: int) -> list[tuple[int, int]]:
    """``n`` (line, column) positions, 1-based, of mapped tokens of the minified file."""
    view = SourceMapView.from_json_bytes(map_bytes)
    rng = random.Random(3)
    out = []
    for _ in range(n):
        t = view[rng.randrange(len(view))]
        out.append((t.dst_line + 1, t.dst_col + 1))
    return out


def stack(positions: list[tuple[int, int]]) -> str:
    return "\n".join(f"at f{i} ({URL}:{line}:{col})" for i, (line, col) in enumerate(positions))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        out = build(work)
        minified = (out / "static" / "app.min.js").read_bytes()
        map_bytes = (out / "static" / "app.min.js.map").read_bytes()
        maps = MapStore(work / "sourcemaps", 50 << 20, 1 << 30)
        maps.upload(
            "shop", "1.0",
            {"static/app.min.js": minified, "static/app.min.js.map": map_bytes},
            "https://shop.example/",
        )  # fmt: skip
        positions = frames_of(map_bytes, 20_000)

        # Loading: a fresh symbolicator's first frame parses the map.
        loads, held = [], []
        for _ in range(5):
            gc.collect()
            before = rss_mb(os.getpid(), children=False)
            s = Symbolicator(maps)
            t0 = time.perf_counter()
            s.resolve("shop", "1.0", stack(positions[:1]))
            loads.append((time.perf_counter() - t0) * 1000)
            held.append(rss_mb(os.getpid(), children=False) - before)
            del s

        # Warm: frames per second.
        s = Symbolicator(maps)
        s.resolve("shop", "1.0", stack(positions[:1]))
        stacks = [stack(positions[i : i + 10]) for i in range(0, len(positions), 10)]
        t0 = time.perf_counter()
        resolved = sum(
            1 for st in stacks for f in s.resolve("shop", "1.0", st) if f.file is not None
        )
        warm_s = time.perf_counter() - t0
        per_s = len(positions) / warm_s
        t0 = time.perf_counter()
        for st in stacks:
            s.resolve("shop", "1.0", st, context=0)
        bare_per_s = len(positions) / (time.perf_counter() - t0)

        # Ingest: the batch step with and without maps, 2,000 errors of 10 frames.
        raws = []
        for i, st in enumerate(stacks[:2000]):
            b = Beacon(
                v=1, app="shop", sid=f"s{i}", page=f"p{i}", sent=int(time.time() * 1000),
                events=[Error(id="e1", type="js", time=int(time.time() * 1000) - 1000,
                              message=f"bad input {i % 50}", name="Error",
                              url="https://shop.example/cart", stack=st)],
                env=Env(release="1.0"),
            )  # fmt: skip
            raws.append(Raw(msgspec.json.encode(b), 1, b.sent, "198.51.100.1", UA))
        timings = {}
        for label, settings in (
            ("without", Settings()),
            ("with", Settings(sourcemaps_dir=str(maps.root))),
        ):
            p = Pipeline(settings)
            p.run(raws[:10])  # warm: the user agent, the map
            runs = []
            for _ in range(3):
                t0 = time.perf_counter()
                p.run(raws)
                runs.append(time.perf_counter() - t0)
            timings[label] = statistics.median(runs)
        extra_us = (timings["with"] - timings["without"]) / len(raws) * 1e6

        # Read time: the error page's five samples of ten frames, warm.
        page = stacks[:5]
        t0 = time.perf_counter()
        for _ in range(200):
            for st in page:
                s.resolve("shop", "1.0", st)
        page_ms = (time.perf_counter() - t0) / 200 * 1000

    write_section(
        "symbolicate",
        f"""## Symbolication (`python -m bench.symbolicate`)

{machine()}. One esbuild bundle of 420 modules: minified file {len(minified) / 1e6:.1f} MB, source
map {len(map_bytes) / 1e6:.1f} MB (with `sourcesContent`); frames at 20,000 random mapped
positions, ten to a stack, resolved with 5 lines of context by symbolic's `SourceMapCache`.

| measure | value |
|---|---|
| first frame of a release (read and parse the file and its map), median of 5 | {statistics.median(loads):,.0f} ms |
| memory the parsed map holds | {statistics.median(held):,.1f} MB |
| frames per second, warm cache, with 5 lines of context (the error page) | {per_s:,.0f} |
| frames per second, warm cache, the line only (grouping at ingest) | {bare_per_s:,.0f} |
| frames resolved | {resolved:,} of {len(positions):,} |
| batch step, 2,000 errors of 10 frames, without source maps | {timings["without"] * 1000:,.0f} ms |
| the same with source maps (grouping by resolved frames) | {timings["with"] * 1000:,.0f} ms |
| extra time per error at ingest | {extra_us:,.0f} µs |
| error page: 5 samples of 10 frames, warm | {page_ms:,.2f} ms |

Both are cheap once a map is parsed: ingest resolves (grouping needs the resolved frames before
an error is stored), and the error page resolves again for display (docs/errors.md says why).
""",
    )
    print(
        f"load {statistics.median(loads):.0f} ms, {per_s:,.0f} frames/s, +{extra_us:.0f} µs/error at ingest, page {page_ms:.2f} ms"
    )


if __name__ == "__main__":
    main()
