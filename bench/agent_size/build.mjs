// Build the OpenRUM agent's peers from npm the same way as the agent (esbuild: bundle, minify,
// IIFE, es2020) into OUT_DIR, and print every bundle's raw/gzip/brotli size as JSON.
// Usage: node build.mjs OUT_DIR OPENRUM_JS
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const [outDir, openrum] = process.argv.slice(2);
const here = fileURLToPath(new URL(".", import.meta.url));
const peers = ["web-vitals", "elastic-apm-rum", "faro", "faro-tracing", "sentry", "boomerang"];
const sizes = (code) => ({
  raw: code.length,
  gzip: gzipSync(code, { level: 9 }).length,
  brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
});
mkdirSync(outDir, { recursive: true });
copyFileSync(openrum, join(outDir, "openrum.js"));
const out = { openrum: sizes(readFileSync(openrum)) };
for (const name of peers) {
  const file = join(outDir, name + ".js");
  await build({
    entryPoints: [join(here, "entries", name + ".js")],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    outfile: file,
    legalComments: "none",
    logLevel: "error",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  out[name] = sizes(readFileSync(file));
}
console.log(JSON.stringify(out));
