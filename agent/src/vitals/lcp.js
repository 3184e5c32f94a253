// Largest Contentful Paint, as web-vitals' onLCP: the latest largest-contentful-paint entry
// before the page was first hidden, relative to prerender activation; observation stops at the
// first trusted key press or click (the browser stops emitting candidates then) or when hidden.
// Attribution: the element (or the image URL when the element is gone).
// https://web.dev/articles/lcp · web-vitals/src/onLCP.ts
import { vital } from "../core.js";
import { observe } from "../lib/observe.js";
import { activationStart, hiddenAt } from "../lib/page.js";
import { selector } from "../lib/selector.js";

export const LCP_THRESHOLDS = [2500, 4000];

/**
 * Report LCP on action `load`. @returns {Function} that takes the last entries and stops: call
 * it at the first trusted click or key press, and when the page is hidden.
 */
export const watchLCP = (load) => {
  // Only the last entry of each batch counts, as in web-vitals (reportAllChanges off).
  const handle = (entries) => {
    const e = entries[entries.length - 1];
    if (e && e.startTime < hiddenAt) vital(load, "lcp", Math.max(e.startTime - activationStart(), 0), selector(e.element) || e.url);
  };
  let po = observe("largest-contentful-paint", handle);
  const stop = () => {
    if (po) {
      handle(po.takeRecords());
      po.disconnect();
      po = 0;
    }
  };
  return stop;
};
