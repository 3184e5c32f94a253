// Action naming (src/lib/naming.js) and attribution selectors (src/lib/selector.js), on small
// stand-ins of DOM elements (the same properties the browser's elements have).
import { test } from "node:test";
import assert from "node:assert/strict";
import { actionName } from "../src/lib/naming.js";
import { selector } from "../src/lib/selector.js";

function el(tag, attrs = {}, text = "", parent = null, props = {}) {
  const node = {
    nodeType: 1,
    tagName: tag.toUpperCase(),
    localName: tag,
    id: attrs.id || "",
    classList: (attrs.class || "").split(" ").filter(Boolean),
    textContent: text,
    parentElement: parent,
    parentNode: parent,
    getAttribute: (k) => (k in attrs ? attrs[k] : null),
    ...props,
  };
  if ("type" in attrs) node.type = attrs.type;
  return node;
}
const field = (tag, attrs) => el(tag, attrs, "", null, { value: "bob@example.com", type: attrs.type || tag });

test("buttons and links are named by their text", () => {
  assert.equal(actionName("click", el("button", { type: "submit" }, "  Pay   now ", null, { value: "", type: "submit" })), 'click on "Pay now"');
  assert.equal(actionName("click", el("a", {}, "Checkout")), 'click on "Checkout"');
  assert.equal(actionName("click", el("div", { role: "button" }, "Open")), 'click on "Open"');
});

test("an element without a label is named after its nearest labelled ancestor", () => {
  const button = el("button", { type: "button" }, "Pay now", null, { value: "", type: "button" });
  const span = el("span", {}, "Pay", button);
  assert.equal(actionName("click", span), 'click on "Pay now"');
  assert.equal(actionName("touch", span), 'touch on "Pay now"');
});

test("aria-label and title come first", () => {
  assert.equal(actionName("click", el("a", { "aria-label": "Cart" }, "3")), 'click on "Cart"');
  assert.equal(actionName("click", el("a", { title: "Home" }, "⌂")), 'click on "Home"');
});

test("form fields are never named by what the user typed", () => {
  assert.equal(actionName("keypress", field("input", { type: "email" })), 'keypress on "email"');
  assert.equal(actionName("keypress", field("input", { type: "text", name: "q" })), 'keypress on "q"');
  assert.equal(actionName("keypress", field("input", { type: "search", placeholder: "Search" })), 'keypress on "Search"');
  assert.equal(actionName("keypress", field("textarea", {})), 'keypress on "textarea"');
  for (const tag of ["input", "textarea", "select"]) {
    assert.ok(!actionName("click", field(tag, {})).includes("bob"), tag);
  }
  // A submit input's value is its label, set by the site.
  const submit = el("input", { type: "submit" }, "", null, { value: "Sign up", type: "submit" });
  assert.equal(actionName("click", submit), 'click on "Sign up"');
});

test("nothing to name: the tag", () => {
  assert.equal(actionName("click", el("div")), "click on div");
  assert.equal(actionName("click", null), "click on page");
  const long = el("a", {}, "x".repeat(200));
  assert.equal(actionName("click", long), `click on "${"x".repeat(60)}"`);
});

test("selectors stop at an id or the body", () => {
  const body = el("body");
  const hero = el("div", { class: "hero wide" }, "", body);
  const img = el("img", {}, "", hero);
  assert.equal(selector(img), "body>div.hero>img");
  const main = el("main", { id: "content" }, "", body);
  assert.equal(selector(el("p", {}, "", main)), "main#content>p");
  assert.equal(selector(null), undefined);
  assert.equal(selector({ nodeType: 3 }), undefined, "a text node has no selector");
});
