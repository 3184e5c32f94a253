// The package (docs/agent.md, "npm"): importing it does no work, its API is there and does
// nothing before init, and `npm pack` publishes the sources and types, not the tests or the build.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

test("importing the package does no work, even without a browser", async () => {
  const fetchBefore = globalThis.fetch;
  const agent = await import("../src/npm.js");
  assert.equal(globalThis.fetch, fetchBefore); // nothing wrapped
  assert.equal(globalThis.openrum, undefined); // nothing installed
  const names = ["init", "identify", "addAction", "reportError", "startAction", "endAction", "setProperty", "endSession", "consent", "flush"];
  for (const name of names) assert.equal(typeof agent[name], "function", name);
  // Before init (and on a server) every call is a no-op that never throws.
  assert.equal(agent.startAction("checkout"), undefined);
  agent.identify("jane");
  agent.addAction("search", 120);
  agent.reportError(new Error("boom"));
  agent.init(); // no options, no document: the agent stays off
  assert.equal(globalThis.fetch, fetchBefore);
});

test("npm pack publishes the sources and the types, no tests", () => {
  const [pack] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, encoding: "utf8" }));
  const files = pack.files.map((f) => f.path).sort();
  assert.equal(pack.name, "openrum-agent");
  for (const f of ["package.json", "index.d.ts", "src/npm.js", "src/agent.js", "src/api.js", "src/lib/guard.js", "src/vitals/inp.js"])
    assert.ok(files.includes(f), `${f} is published`);
  assert.deepEqual(files.filter((f) => /(^|\/)test\/|\.test\.|build\.mjs|node_modules|\.tmp\./.test(f)), []);
  assert.deepEqual(
    files.filter((f) => !/^src\/.+\.js$/.test(f)),
    ["index.d.ts", "package.json"],
  );
  const pkg = JSON.parse(execFileSync("node", ["-p", "JSON.stringify(require('./package.json'))"], { cwd: ROOT, encoding: "utf8" }));
  assert.equal(pkg.type, "module");
  assert.equal(pkg.sideEffects, false);
  assert.deepEqual(pkg.exports["."], { types: "./index.d.ts", default: "./src/npm.js" });
  assert.equal(pkg.private, undefined);
});
