// URL hygiene before anything leaves the page: query strings and fragments are dropped unless the
// application allows them (../../docs/agent.md), so tokens in URLs are never sent by default.

/** @returns {string} the URL without query string (unless keepQuery) and fragment (unless keepHash) */
export function stripUrl(url, keepQuery, keepHash) {
  let out = String(url);
  const hash = out.indexOf("#");
  let fragment = "";
  if (hash >= 0) {
    fragment = out.slice(hash);
    out = out.slice(0, hash);
  }
  if (!keepQuery) {
    const q = out.indexOf("?");
    if (q >= 0) out = out.slice(0, q);
  }
  return keepHash ? out + fragment : out;
}
