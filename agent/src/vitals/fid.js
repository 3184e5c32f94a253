// First Input Delay, only where INP is not supported: the first input's delay until its
// handlers ran, if the page was not hidden before it. https://web.dev/articles/fid
import { vital } from "../core.js";
import { observe } from "../lib/observe.js";
import { hiddenAt } from "../lib/page.js";
import { supportsINP } from "./inp.js";

export const FID_THRESHOLDS = [100, 300];

/** Report FID on action `load` where the browser has no INP. */
export const watchFID = (load) =>
  supportsINP() ||
  observe("first-input", (entries) => {
    const e = entries[0];
    if (e && e.startTime < hiddenAt) vital(load, "fid", e.processingStart - e.startTime);
  });
