// URL stripping (src/lib/url.js), run with Node's test runner (`npm test`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { stripUrl } from "../src/lib/url.js";

const ROUTE = /^#!?\//; // as src/config.js: the fragments of hash routers

const ALL = /#/;
const cases = [
  // [url, keepQuery, keepHash, expected]
  ["https://shop.example/cart?token=secret&x=1#step-2", false, undefined, "https://shop.example/cart"],
  ["https://shop.example/cart?token=secret&x=1#step-2", true, undefined, "https://shop.example/cart?token=secret&x=1"],
  ["https://shop.example/cart?token=secret&x=1#step-2", false, ALL, "https://shop.example/cart#step-2"],
  ["https://shop.example/cart?a=1#b", true, ALL, "https://shop.example/cart?a=1#b"],
  ["/a#b?c", false, undefined, "/a"],
  ["/a#b?c", true, ALL, "/a#b?c"], // a '?' inside the fragment is part of the fragment
  ["", false, undefined, ""],
  ["https://shop.example/?", false, undefined, "https://shop.example/"],
  // Route fragments (the default of the agent): hash routers' `#/…` and `#!/…`, not anchors.
  ["https://app.example/#/orders/12?x=1", false, ROUTE, "https://app.example/#/orders/12?x=1"],
  ["https://app.example/#!/orders", false, ROUTE, "https://app.example/#!/orders"],
  ["https://docs.example/guide#top", false, ROUTE, "https://docs.example/guide"],
  ["https://docs.example/guide", false, ROUTE, "https://docs.example/guide"],
  ["https://docs.example/guide#", false, ROUTE, "https://docs.example/guide"],
];

for (const [url, q, h, want] of cases) {
  test(`stripUrl(${JSON.stringify(url)}, ${q}, ${h})`, () => assert.equal(stripUrl(url, q, h), want));
}

test("anything is turned into a string first", () => {
  assert.equal(stripUrl(new URL("https://a.example/p?q=1")), "https://a.example/p");
  assert.equal(stripUrl(undefined), "undefined");
});
