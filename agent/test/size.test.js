// The byte budget (docs/agent.md): the built bundle is at most 5 KB brotli and 6 KB gzip.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { BUDGET, OUT, bundle, sizes } from "../build.mjs";

test("the agent fits its byte budget", async () => {
  await bundle();
  const s = sizes(readFileSync(OUT));
  console.log(`openrum.js: ${s.raw} B raw, ${s.gzip} B gzip, ${s.brotli} B brotli`);
  assert.ok(s.brotli <= BUDGET.brotli, `${s.brotli} B brotli > ${BUDGET.brotli} B`);
  assert.ok(s.gzip <= BUDGET.gzip, `${s.gzip} B gzip > ${BUDGET.gzip} B`);
});
