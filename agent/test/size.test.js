// The byte budgets (docs/agent.md): the snippet at most 5,100 B brotli and 6 KB gzip, the
// diagnostics module at most 2 KB brotli.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { BUDGET, DIAG_BUDGET, DIAG_OUT, OUT, bundle, sizes } from "../build.mjs";

test("the snippet and the diagnostics module fit their byte budgets", async () => {
  await bundle();
  const s = sizes(readFileSync(OUT));
  console.log(`openrum.js: ${s.raw} B raw, ${s.gzip} B gzip, ${s.brotli} B brotli`);
  assert.ok(s.brotli <= BUDGET.brotli, `${s.brotli} B brotli > ${BUDGET.brotli} B`);
  assert.ok(s.gzip <= BUDGET.gzip, `${s.gzip} B gzip > ${BUDGET.gzip} B`);
  const d = sizes(readFileSync(DIAG_OUT));
  console.log(`openrum-diag.js: ${d.raw} B raw, ${d.gzip} B gzip, ${d.brotli} B brotli`);
  assert.ok(d.brotli <= DIAG_BUDGET.brotli, `module: ${d.brotli} B brotli > ${DIAG_BUDGET.brotli} B`);
});
