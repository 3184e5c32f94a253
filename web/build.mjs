// Build the dashboard into openrum/web/static (served by `openrum serve`), no CDN:
// - the app and its style under content-hashed names (served with an immutable cache policy),
//   the world map in a chunk of its own, loaded only by the map page;
// - a brotli and a gzip copy of each, made here so that the server compresses nothing;
// - index.html naming the hashed files (served with no-cache: it is what changes).
// `--check-size` fails when the script the overview loads is over its budget (docs/dashboard.md).
import { build } from "esbuild";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { feature } from "topojson-client";
import iso from "iso-3166-1";
import topology from "world-atlas/countries-110m.json" with { type: "json" };

const src = (p) => fileURLToPath(new URL(`src/${p}`, import.meta.url));
export const OUT = fileURLToPath(new URL("../openrum/web/static/", import.meta.url));
export const BUDGET = { brotli: 200 * 1024 };

/** @returns {{raw: number, gzip: number, brotli: number}} sizes in bytes of `data` */
const compress = (data) => ({
  gzip: gzipSync(data, { level: 9 }),
  brotli: brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
});

// Country names for every page, without the map: ISO 3166-1's names, replaced by Natural Earth's
// short ones ("United Kingdom", "South Korea") where the map has the country (geo.js).
function countryNames() {
  const names = Object.fromEntries(iso.all().map((c) => [c.alpha2, c.country]));
  for (const f of feature(topology, topology.objects.countries).features) {
    if (f.properties.name === "Antarctica") continue;
    const found = f.id && iso.whereNumeric(String(f.id).padStart(3, "0"));
    names[found ? found.alpha2 : f.properties.name] = f.properties.name;
  }
  return names;
}

const namesPlugin = {
  name: "country-names",
  setup(b) {
    b.onResolve({ filter: /^country-names$/ }, () => ({ path: "country-names", namespace: "country-names" }));
    b.onLoad({ filter: /.*/, namespace: "country-names" }, () => ({ contents: JSON.stringify(countryNames()), loader: "json" }));
  },
};

export async function bundle() {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const result = await build({
    entryPoints: { app: src("main.js"), style: src("style.css") },
    bundle: true,
    splitting: true,
    minify: !process.env.SOURCEMAP,
    sourcemap: process.env.SOURCEMAP ? "inline" : false,
    format: "esm",
    target: ["es2020"],
    outdir: OUT,
    entryNames: "[name]-[hash]",
    chunkNames: "chunk-[hash]",
    legalComments: "none",
    logLevel: "warning",
    loader: { ".json": "json" },
    plugins: [namesPlugin],
    metafile: true,
  });
  const outputs = Object.entries(result.metafile.outputs).map(([path, o]) => ({ name: basename(path), ...o }));
  const app = outputs.find((o) => o.entryPoint && o.entryPoint.endsWith("main.js") && o.name.endsWith(".js"));
  const style = outputs.find((o) => o.name.startsWith("style-") && o.name.endsWith(".css"));
  // What the overview loads before it draws: the app and the chunks it imports, directly or not.
  // The page names them all (modulepreload) so that the browser fetches them at once, not one
  // import level per round trip.
  const byName = Object.fromEntries(outputs.map((o) => [o.name, o]));
  const first = [app.name];
  for (let i = 0; i < first.length; i += 1) {
    for (const imp of byName[first[i]].imports) {
      const name = basename(imp.path);
      if (imp.kind === "import-statement" && !first.includes(name)) first.push(name);
    }
  }
  const preload = first.slice(1).map((n) => `<link rel="modulepreload" href="/${n}">`).join("\n");
  const html = readFileSync(src("index.html"), "utf8")
    .replace('href="/style.css">', `href="/${style.name}">\n${preload}`)
    .replace('src="/app.js"', `src="/${app.name}"`);
  if (!html.includes(app.name) || !html.includes(style.name)) throw new Error("index.html: script or style tag not found");
  writeFileSync(OUT + "index.html", html);
  const sizes = {};
  for (const name of readdirSync(OUT)) {
    if (name === "index.html") continue;
    const data = readFileSync(OUT + name);
    const { gzip, brotli } = compress(data);
    writeFileSync(OUT + name + ".gz", gzip);
    writeFileSync(OUT + name + ".br", brotli);
    sizes[name] = { raw: data.length, gzip: gzip.length, brotli: brotli.length };
  }
  // Read by the server (openrum/web/static.py): these names are content-hashed, cached for good.
  writeFileSync(OUT + "manifest.json", JSON.stringify({ entry: app.name, style: style.name, first, assets: sizes }, null, 1) + "\n");
  const total = (k) => first.reduce((s, n) => s + sizes[n][k], 0);
  return { app: app.name, first, sizes, script: { raw: total("raw"), gzip: total("gzip"), brotli: total("brotli") } };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const b = await bundle();
  const s = b.script;
  console.log(`dashboard: ${b.first.join(" + ")}: ${(s.raw / 1024).toFixed(0)} KB, ${(s.gzip / 1024).toFixed(0)} KB gzip, ${(s.brotli / 1024).toFixed(0)} KB brotli`);
  if (process.argv.includes("--check-size") && s.brotli > BUDGET.brotli) {
    console.error(`dashboard script ${s.brotli} B brotli > ${BUDGET.brotli} B`);
    process.exit(1);
  }
}
