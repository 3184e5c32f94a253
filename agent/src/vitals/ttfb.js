// Time to First Byte, as web-vitals' onTTFB: responseStart of the navigation entry, relative to
// prerender activation, read after the load event. 0 after a back/forward cache restore.
// https://web.dev/articles/ttfb · web-vitals/src/onTTFB.ts
import { vital } from "../core.js";
import { activationStart } from "../lib/page.js";

export const TTFB_THRESHOLDS = [800, 1800];

/** Report TTFB of navigation entry `n` on action `load`. */
export const reportTTFB = (load, n) => vital(load, "ttfb", Math.max(n.responseStart - activationStart(), 0));
