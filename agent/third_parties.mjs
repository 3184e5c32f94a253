// The known third-party providers the collector groups resources by (openrum/enrich/thirdparty.py),
// generated from the `third-party-web` package (Patrick Hulce, MIT licence,
// https://github.com/patrickhulce/third-party-web): its entities (name, category, domains), the
// domains as written there (`*.example.com` covers every subdomain).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
export const PROVIDERS = fileURLToPath(new URL("../openrum/enrich/third_parties.json", import.meta.url));

export const writeProviders = () => {
  const entities = require("third-party-web/dist/entities-nostats.json");
  const { version } = JSON.parse(readFileSync(require.resolve("third-party-web/package.json")));
  const out = {
    source: `third-party-web ${version} (MIT licence, https://github.com/patrickhulce/third-party-web)`,
    providers: entities.map((e) => [e.name, e.category, e.domains]),
  };
  writeFileSync(PROVIDERS, JSON.stringify(out) + "\n");
};
