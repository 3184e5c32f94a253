// The document's navigation entry, prerender activation and the first time it was hidden:
// the reference points of web-vitals (lib/getNavigationEntry.ts, getActivationStart.ts,
// getVisibilityWatcher.ts).
import { doc, perf } from "./guard.js";

/** @returns {PerformanceNavigationTiming|undefined} the entry, once its responseStart is sane */
export const navEntry = () => {
  const n = perf.getEntriesByType("navigation")[0];
  // Some browsers report a responseStart of 0 or in the future (web-vitals #137, #162).
  if (n && n.responseStart > 0 && n.responseStart < perf.now()) return n;
};

/** @returns {number} when a prerendered page was activated (0 when it was not prerendered) */
export const activationStart = () => (navEntry() || {}).activationStart || 0;

const initialHidden = () => (doc.visibilityState == "hidden" && !doc.prerendering ? 0 : 1 / 0);

/** When the page was first hidden (ms since the time origin), Infinity while it never was. */
export let hiddenAt;

/** Start watching; call once the page is active (not prerendering). */
export const watchVisibility = () => {
  // A page opened in a background tab was hidden before the agent ran: the visibility-state
  // entries tell when (Chrome 115+), the current state otherwise.
  const early = perf.getEntriesByType("visibility-state").find((e) => e.name == "hidden" && e.startTime >= activationStart());
  hiddenAt = early ? early.startTime : initialHidden();
};

/** The page is being hidden (a visibilitychange event at `t`). */
export const markHidden = (t) => (hiddenAt = Math.min(hiddenAt, t));

/** After a back/forward cache restore, the page counts as never hidden again. */
export const resetVisibility = () => setTimeout(() => (hiddenAt = initialHidden()));

/** Run `cb` after two animation frames: when the next frame has been painted. */
export const doubleRAF = (cb) => requestAnimationFrame(() => requestAnimationFrame(cb));
