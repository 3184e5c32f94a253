// Bundle and minify the agent with esbuild into the collector's static folder
// (../openrum/collect/static/openrum.js, served at /openrum.js). `--check-size` fails when the
// bundle is over its byte budget (docs/agent.md): 5 KB brotli, 6 KB gzip.
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

export const OUT = fileURLToPath(new URL("../openrum/collect/static/openrum.js", import.meta.url));
export const BUDGET = { brotli: 5 * 1024, gzip: 6 * 1024 };

/** @returns {{raw: number, gzip: number, brotli: number}} sizes in bytes of `code` */
export const sizes = (code) => ({
  raw: code.length,
  gzip: gzipSync(code, { level: 9 }).length,
  brotli: brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
});

export const bundle = async () => {
  mkdirSync(fileURLToPath(new URL("../openrum/collect/static/", import.meta.url)), { recursive: true });
  await build({
    entryPoints: [fileURLToPath(new URL("src/index.js", import.meta.url))],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    outfile: OUT,
    legalComments: "none",
    logLevel: "warning",
  });
  // The brotli copy the collector sends to browsers that accept it (made here: Python has no brotli).
  writeFileSync(OUT + ".br", brotliCompressSync(readFileSync(OUT), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundle();
  const s = sizes(readFileSync(OUT));
  console.log(`openrum.js: ${s.raw} B raw, ${s.gzip} B gzip, ${s.brotli} B brotli`);
}
