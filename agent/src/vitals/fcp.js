// First Contentful Paint, as web-vitals' onFCP: the first-contentful-paint paint entry, relative
// to prerender activation, only if the page was not hidden before it.
// https://web.dev/articles/fcp · web-vitals/src/onFCP.ts
import { vital } from "../core.js";
import { observe } from "../lib/observe.js";
import { activationStart, hiddenAt } from "../lib/page.js";

export const FCP_THRESHOLDS = [1800, 3000];

/** Report FCP on action `load`; `then()` runs once FCP was reported (CLS starts there). */
export const watchFCP = (load, then) => {
  const po = observe("paint", (entries) => {
    for (const e of entries) {
      if (e.name == "first-contentful-paint") {
        po.disconnect();
        if (e.startTime < hiddenAt) {
          vital(load, "fcp", Math.max(e.startTime - activationStart(), 0));
          then();
        }
      }
    }
  });
};
