// Stack parsing (src/lib/stack.js): Chrome, Firefox and Safari frames; trimmed to 10 frames.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatStack, parseStack } from "../src/lib/stack.js";

test("Chrome frames, with and without a function name", () => {
  const stack = [
    "TypeError: Cannot read properties of undefined (reading 'x')",
    "    at pay (https://shop.example/app.js?v=3:10:5)",
    "    at async HTMLButtonElement.onclick (https://shop.example:8443/checkout:1:1)",
    "    at https://shop.example/vendor.js:2:300",
    "    at new Cart (https://shop.example/app.js:20:1)",
    "    at <anonymous>",
  ].join("\n");
  assert.deepEqual(parseStack(stack), [
    { fn: "pay", url: "https://shop.example/app.js", line: 10, col: 5 },
    { fn: "async HTMLButtonElement.onclick", url: "https://shop.example:8443/checkout", line: 1, col: 1 },
    { fn: "?", url: "https://shop.example/vendor.js", line: 2, col: 300 },
    { fn: "new Cart", url: "https://shop.example/app.js", line: 20, col: 1 },
  ]);
});

test("Firefox and Safari frames", () => {
  const stack = "pay@https://shop.example/app.js?token=1:10:5\n@https://shop.example/app.js:3:1\nCart/<@https://shop.example/a.js:1:2\n";
  assert.deepEqual(parseStack(stack), [
    { fn: "pay", url: "https://shop.example/app.js", line: 10, col: 5 },
    { fn: "?", url: "https://shop.example/app.js", line: 3, col: 1 },
    { fn: "Cart/<", url: "https://shop.example/a.js", line: 1, col: 2 },
  ]);
});

test("nothing to parse", () => {
  assert.deepEqual(parseStack(undefined), []);
  assert.deepEqual(parseStack("Error: no frames here"), []);
  assert.equal(formatStack([]), undefined);
});

test("at most ten frames are kept, one per line", () => {
  const stack = "Error: x\n" + Array.from({ length: 20 }, (_, i) => `    at f${i} (https://a.example/b.js:1:${i})`).join("\n");
  const lines = formatStack(parseStack(stack)).split("\n");
  assert.equal(lines.length, 10);
  assert.equal(lines[0], "at f0 (https://a.example/b.js:1:0)");
  assert.equal(lines[9], "at f9 (https://a.example/b.js:1:9)");
});

test("long function names and URLs are cut", () => {
  const [line] = formatStack([{ fn: "f".repeat(500), url: "https://a.example/" + "p".repeat(500), line: 1, col: 2 }]).split("\n");
  assert.ok(line.length < 330, line.length);
});
