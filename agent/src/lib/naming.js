// Action names like `click on "Pay now"`: the label of what was acted on, never a value a user
// typed. Form fields are named by their aria-label, title, name, placeholder or type (a submit
// button by its value); buttons and links by their text; other elements by the nearest labelled
// ancestor (up to 5 levels).

/** @returns {string} a name for `verb` (click, keypress, touch) on element `el` */
export function actionName(verb, el) {
  for (let n = el, i = 0; n && n.getAttribute && i < 5; i++, n = n.parentElement) {
    const attr = (k) => n.getAttribute(k);
    const label =
      attr("aria-label") ||
      attr("title") ||
      (/^(submit|button|reset)$/.test(n.type)
        ? n.value || n.textContent
        : "value" in n // a form field: its value is the user's, never used
          ? attr("name") || attr("placeholder") || n.type
          : n.tagName == "A" || attr("role") == "button"
            ? n.textContent
            : "");
    const text = String(label || "").replace(/\s+/g, " ").trim().slice(0, 60);
    if (text) return `${verb} on "${text}"`;
  }
  return `${verb} on ${((el && el.tagName) || "page").toLowerCase()}`;
}
