"""bench/agent_size: the agent's bytes beside full-featured peers, built the same way.

Run: ``.venv/bin/python -m bench.agent_size``. Installs the peers from npm (bench/agent_size/
package.json, ``npm ci``) when missing, builds the OpenRUM agent and each peer with esbuild
(bundle, minify, IIFE, es2020) in the same run, and writes raw, gzip (level 9) and brotli
(quality 11) sizes to docs/benchmarks.md. The bundles stay in bench/results/agent_size for
bench/agent_cost.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bench.report import ROOT, machine, write_section

HERE = Path(__file__).resolve().parent
OUT = ROOT / "bench" / "results" / "agent_size"
AGENT = ROOT / "openrum" / "collect" / "static" / "openrum.js"
# name in the table → (bundle file stem, what it is)
AGENTS = {
    "OpenRUM": ("openrum", "this project: everything in docs/agent.md"),
    "web-vitals (attribution)": ("web-vitals", "Google's library: the five vitals only"),
    "Elastic APM RUM": ("elastic-apm-rum", "@elastic/apm-rum"),
    "Grafana Faro": ("faro", "@grafana/faro-web-sdk, web instrumentations"),
    "Grafana Faro + tracing": ("faro-tracing", "… and @grafana/faro-web-tracing"),
    "Sentry (with tracing)": ("sentry", "@sentry/browser + browserTracingIntegration"),
    "Boomerang": ("boomerang", "boomerangjs, the plugins matching OpenRUM's scope"),
}


def npm_versions() -> dict[str, str]:
    """Installed versions of the peers (from their package.json files)."""
    out = {}
    for name in json.loads((HERE / "package.json").read_text())["devDependencies"]:
        pkg = HERE / "node_modules" / name / "package.json"
        out[name] = json.loads(pkg.read_text())["version"]
    return out


def build() -> dict[str, dict[str, int]]:
    """Build the agent and its peers; returns sizes by bundle stem."""
    subprocess.run(["npm", "--prefix", str(ROOT / "agent"), "run", "--silent", "build"], check=True)
    if not (HERE / "node_modules" / ".package-lock.json").exists():
        subprocess.run(
            ["npm", "--prefix", str(HERE), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            check=True,
            timeout=600,
        )
    raw = subprocess.run(
        ["node", str(HERE / "build.mjs"), str(OUT), str(AGENT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    sizes: dict[str, dict[str, int]] = json.loads(raw)
    (OUT / "sizes.json").write_text(json.dumps(sizes, indent=2))
    return sizes


def main() -> int:
    sizes = build()
    versions = npm_versions()
    ours = sizes["openrum"]
    lines = [
        "## Agent size",
        "",
        "`python -m bench.agent_size` — every agent built from npm the same way in the same run "
        "(esbuild bundle + minify, IIFE, es2020); gzip level 9, brotli quality 11. OpenRUM as its "
        "own build makes it (esbuild, then terser). Budget of the OpenRUM agent: 5,100 B brotli, "
        "6 KB gzip; of its diagnostics module, loaded for sampled sessions, 2 KB brotli (both "
        "checked by `make unit-js`).",
        "",
        "| agent | what is bundled | raw | gzip | brotli | × OpenRUM (brotli) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, (stem, what) in AGENTS.items():
        s = sizes[stem]
        lines.append(
            f"| {name} | {what} | {s['raw']:,} B | {s['gzip']:,} B | {s['brotli']:,} B | "
            f"{s['brotli'] / ours['brotli']:.1f} |"
        )
    lines += [
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ".",
        "",
        f"Measured on {machine()}.",
    ]
    write_section("agent_size", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
