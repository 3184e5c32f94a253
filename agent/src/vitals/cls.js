// Cumulative Layout Shift, as web-vitals' onCLS: layout shifts without recent input grouped in
// session windows (gap < 1 s, window < 5 s); the value is the largest window's sum. Observed
// from the first contentful paint on; a new instance starts at 0 for each SPA view and after a
// back/forward cache restore. Attribution: the source element of the largest shift of the
// largest window. https://web.dev/articles/cls · web-vitals/src/onCLS.ts, LayoutShiftManager.ts
import { vital } from "../core.js";
import { observe } from "../lib/observe.js";
import { selector } from "../lib/selector.js";

export const CLS_THRESHOLDS = [0.1, 0.25];

let owner; // the action (view) the current instance belongs to
let value = 0; // the largest window so far
let target;
let sum = 0; // the current window
let first;
let prev;
let largest; // the largest shift of the current window
let po;

const handle = (entries) => {
  const before = value;
  for (const e of entries) {
    if (e.hadRecentInput) continue;
    if (sum && e.startTime - prev.startTime < 1000 && e.startTime - first.startTime < 5000) {
      sum += e.value;
      if (e.value > largest.value) largest = e;
    } else {
      sum = e.value;
      first = largest = e;
    }
    prev = e;
    if (sum > value) {
      value = sum;
      const src = largest.sources.find((s) => s.node && s.node.nodeType == 1) || largest.sources[0];
      target = src && selector(src.node);
    }
  }
  if (value != before) vital(owner, "cls", value, target);
};

/** Start CLS for view action `a` (a new instance at 0). */
export const clsView = (a) => {
  if (po) handle(po.takeRecords());
  owner = a;
  value = sum = 0;
  target = undefined;
  if (!po) po = observe("layout-shift", handle);
  vital(a, "cls", 0);
};

/** Take the shifts not yet delivered (the page is being hidden, or the view changes). */
export const takeCLS = () => po && handle(po.takeRecords());
