// PerformanceObserver of one entry type with buffered entries, or nothing where the type is
// unsupported (as web-vitals' lib/observe.ts).
import { safe } from "./guard.js";

/** @returns {PerformanceObserver|undefined} */
export const observe = (type, cb, opts) => {
  if (PerformanceObserver.supportedEntryTypes.includes(type)) {
    const po = new PerformanceObserver(safe((list) => cb(list.getEntries())));
    po.observe({ type, buffered: true, ...opts });
    return po;
  }
};
