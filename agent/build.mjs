// Bundle the agent with esbuild and minify it with terser into the collector's static folder:
// the snippet (../openrum/collect/static/openrum.js, served at /openrum.js) and the diagnostics
// module beside it (openrum-diag.js, loaded by the snippet for sampled sessions). terser after
// esbuild: its mangling and compression take about 190 B (brotli) more off the snippet.
// `test/size.test.js` fails when a bundle is over its byte budget (docs/agent.md): the snippet
// 5,100 B brotli and 6 KB gzip, the module 2 KB brotli. The build also writes the third-party
// provider list the collector classifies resources by (third_parties.mjs).
import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { minify } from "terser";
import { writeProviders } from "./third_parties.mjs";

const STATIC = fileURLToPath(new URL("../openrum/collect/static/", import.meta.url));
export const OUT = STATIC + "openrum.js";
export const DIAG_OUT = STATIC + "openrum-diag.js";
export const BUDGET = { brotli: 5100, gzip: 6 * 1024 };
export const DIAG_BUDGET = { brotli: 2048 };

const brotli = (code) => brotliCompressSync(code, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });

/** @returns {{raw: number, gzip: number, brotli: number}} sizes in bytes of `code` */
export const sizes = (code) => ({
  raw: code.length,
  gzip: gzipSync(code, { level: 9 }).length,
  brotli: brotli(code).length,
});

const one = async (entry, out) => {
  const built = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    legalComments: "none",
    logLevel: "warning",
    write: false,
  });
  const { code } = await minify(built.outputFiles[0].text, { ecma: 2020, module: false });
  writeFileSync(out, code);
  // The brotli copy the collector sends to browsers that accept it (made here: Python has no brotli).
  writeFileSync(out + ".br", brotli(code));
};

export const bundle = async () => {
  mkdirSync(STATIC, { recursive: true });
  await one("src/index.js", OUT);
  await one("src/diag/index.js", DIAG_OUT);
  writeProviders();
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundle();
  for (const f of [OUT, DIAG_OUT]) {
    const s = sizes((await import("node:fs")).readFileSync(f));
    console.log(`${f.split("/").pop()}: ${s.raw} B raw, ${s.gzip} B gzip, ${s.brotli} B brotli`);
  }
}
