// URL stripping (src/lib/url.js), run with Node's test runner (`npm test`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { stripUrl } from "../src/lib/url.js";

const cases = [
  // [url, keepQuery, keepHash, expected]
  ["https://shop.example/cart?token=secret&x=1#step-2", false, false, "https://shop.example/cart"],
  ["https://shop.example/cart?token=secret&x=1#step-2", true, false, "https://shop.example/cart?token=secret&x=1"],
  ["https://shop.example/cart?token=secret&x=1#step-2", false, true, "https://shop.example/cart#step-2"],
  ["https://shop.example/cart?a=1#b", true, true, "https://shop.example/cart?a=1#b"],
  ["/a#b?c", false, false, "/a"],
  ["/a#b?c", true, true, "/a#b?c"], // a '?' inside the fragment is part of the fragment
  ["", false, false, ""],
  ["https://shop.example/?", false, false, "https://shop.example/"],
];

for (const [url, q, h, want] of cases) {
  test(`stripUrl(${JSON.stringify(url)}, ${q}, ${h})`, () => assert.equal(stripUrl(url, q, h), want));
}

test("anything is turned into a string first", () => {
  assert.equal(stripUrl(new URL("https://a.example/p?q=1")), "https://a.example/p");
  assert.equal(stripUrl(undefined), "undefined");
});
