// Unit tests of the agent's pure parts, run with Node's test runner (`npm test`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { stripUrl } from "../src/lib/url.js";
import { nextSession, INACTIVITY_MS, MAX_MS, MAX_ACTIONS } from "../src/lib/session.js";
import { trimStack } from "../src/lib/stack.js";
import { actionName } from "../src/lib/naming.js";

test("query strings and fragments are stripped unless allowed", () => {
  const u = "https://shop.example/cart?token=secret&x=1#step-2";
  assert.equal(stripUrl(u), "https://shop.example/cart");
  assert.equal(stripUrl(u, true), "https://shop.example/cart?token=secret&x=1");
  assert.equal(stripUrl(u, false, true), "https://shop.example/cart#step-2");
  assert.equal(stripUrl("/a#b?c"), "/a");
});

test("session rules: inactivity, maximum length, action count", () => {
  let n = 0;
  const id = () => "s" + ++n;
  const s = nextSession(null, 1000, id);
  assert.equal(s.id, "s1");
  assert.equal(nextSession(s, 1000 + INACTIVITY_MS - 1, id).id, "s1");
  assert.equal(nextSession(s, 1000 + INACTIVITY_MS + 1, id).id, "s2");
  let live = { ...s };
  for (let t = 1000; t < 1000 + MAX_MS; t += INACTIVITY_MS / 2) live = nextSession(live, t, id);
  assert.equal(live.id, "s1");
  assert.notEqual(nextSession(live, 1000 + MAX_MS + 1, id).id, "s1");
  assert.notEqual(nextSession({ ...s, actions: MAX_ACTIONS }, 2000, id).id, "s1");
});

test("stacks keep at most ten trimmed frames", () => {
  const stack = "TypeError: x\n" + Array.from({ length: 20 }, (_, i) => `    at f${i} (https://a/b.js:1:${i})`).join("\n");
  const out = trimStack(stack).split("\n");
  assert.equal(out.length, 10);
  assert.equal(out[0], "at f0 (https://a/b.js:1:0)");
  assert.equal(trimStack(undefined), undefined);
  assert.equal(trimStack("no frames here"), undefined);
});

function el(tag, attrs = {}, text = "", parent = null) {
  return {
    tagName: tag.toUpperCase(),
    type: attrs.type,
    textContent: text,
    parentElement: parent,
    getAttribute: (k) => (k in attrs ? attrs[k] : null),
  };
}

test("actions are named by what was clicked, never by typed values", () => {
  assert.equal(actionName("click", el("button", {}, "  Pay   now ")), 'click on "Pay now"');
  const span = el("span", {}, "Pay", el("button", {}, "Pay now"));
  assert.equal(actionName("click", span), 'click on "Pay now"');
  assert.equal(actionName("click", el("a", { "aria-label": "Cart" }, "3")), 'click on "Cart"');
  const input = el("input", { type: "email", value: "bob@example.com" });
  assert.equal(actionName("click", input), 'click on "email"');
  assert.equal(actionName("click", el("div")), "click on div");
});
