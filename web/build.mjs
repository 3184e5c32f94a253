// Build the dashboard into openrum/web/static (served by `openrum serve`): one bundle, no CDN.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const out = new URL("../openrum/web/static/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [new URL("src/app.js", import.meta.url).pathname],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020"],
  outfile: out + "app.js",
  legalComments: "none",
  logLevel: "warning",
});
for (const f of ["index.html", "style.css"]) copyFileSync(new URL(`src/${f}`, import.meta.url), out + f);
