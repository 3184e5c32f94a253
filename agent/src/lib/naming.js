// Action names like `click on "Pay now"`: the label of what was clicked, never a value a user
// typed (form fields are named by their aria-label, name or type).

/** @returns {string} a name for an interaction with `el` */
export function actionName(verb, el) {
  for (let node = el, i = 0; node && i < 5; i++, node = node.parentElement) {
    const tag = node.tagName;
    const attr = (k) => node.getAttribute(k);
    const label = /INPUT|TEXTAREA|SELECT/.test(tag)
      ? attr("aria-label") || attr("name") || node.type || tag
      : attr("aria-label") || attr("title") || (/^(BUTTON|A)$/.test(tag) || attr("role") == "button" ? node.textContent : "");
    const text = String(label || "").replace(/\s+/g, " ").trim().slice(0, 60);
    if (text) return `${verb} on "${text}"`;
  }
  return `${verb} on ${((el && el.tagName) || "page").toLowerCase()}`;
}
