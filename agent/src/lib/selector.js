// A short CSS-like path of an element for attribution (LCP element, INP target, layout-shift
// source), like web-vitals' lib/getSelector.ts: `body>div.hero>img#banner`, up to the nearest
// id, at most about 100 characters.

/** @returns {string|undefined} */
export function selector(node) {
  let out = "";
  for (; node && node.nodeType == 1 && out.length < 80; node = node.parentNode) {
    const cls = node.classList[0];
    out = node.localName + (node.id ? "#" + node.id : cls ? "." + cls : "") + (out && ">" + out);
    if (node.id || node.localName == "body") break;
  }
  return out || undefined;
}
