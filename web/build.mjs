// Build the dashboard into openrum/web/static (served by `openrum serve`): one bundle, no CDN.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync, statSync } from "node:fs";

const out = new URL("../openrum/web/static/", import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [new URL("src/main.js", import.meta.url).pathname],
  bundle: true,
  minify: !process.env.SOURCEMAP,
  sourcemap: process.env.SOURCEMAP ? "inline" : false,
  format: "esm",
  target: ["es2020"],
  outfile: out + "app.js",
  legalComments: "none",
  logLevel: "warning",
  loader: { ".json": "json" },
});
for (const f of ["index.html", "style.css"]) copyFileSync(new URL(`src/${f}`, import.meta.url), out + f);
console.log(`dashboard: app.js ${(statSync(out + "app.js").size / 1024).toFixed(0)} KB`);
