// The load action: starts at navigation start, carries the Navigation Timing entry's timestamps
// (W3C attribute names, ms since navigation start: the collector derives redirect, DNS, TCP,
// TLS, request, response, DOM processing and the server / network / frontend split) and ends at
// loadEventEnd, or later when requests started by onload handlers end later (actions.js).
// https://www.w3.org/TR/navigation-timing-2/
import { begin, loadEnded } from "./actions.js";
import { diagnose } from "./diag.js";
import { doc, epoch, on, perf } from "./lib/guard.js";
import { navEntry } from "./lib/page.js";

/** @returns {object} the load action of this page, measured once the load event is over */
export const watchLoad = () => {
  const load = begin("load", "", epoch(0));
  const finish = () => {
    const n = navEntry();
    if (!n) return;
    const nt = {};
    const all = n.toJSON();
    for (const k in all) if (/(Start|End)$|^dom/.test(k) && all[k] > 0) nt[k] = all[k];
    // TTFB, as web-vitals' onTTFB, is responseStart after prerender activation: the collector
    // reads it from these (0 after a back/forward cache restore: agent.js).
    load.nt = nt;
    loadEnded(load, epoch(n.loadEventEnd));
    diagnose();
  };
  // After the load event's own task, so that loadEventEnd is set (as web-vitals' onTTFB).
  if (doc.readyState == "complete") setTimeout(finish);
  else on("load", () => setTimeout(finish));
  return load;
};
