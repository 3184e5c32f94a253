// URL hygiene before anything leaves the page: query strings and fragments are dropped unless
// the application allows them, so tokens in URLs are never sent by default. (The collector
// strips session tokens in paths, `;jsessionid=…`, and masks personal data.)

/**
 * @returns {string} `url` without query string (unless keepQuery) and fragment (unless it
 * matches the regular expression keepHash)
 */
export function stripUrl(url, keepQuery, keepHash) {
  const m = /^([^?#]*)(\?[^#]*)?(#.*)?$/.exec(String(url));
  return m[1] + ((keepQuery && m[2]) || "") + ((keepHash && keepHash.test(m[3]) && m[3]) || "");
}
