// The diagnostics module (openrum-diag.js beside openrum.js; docs/agent.md "Diagnostics"): loaded
// for a sampled share of sessions (`data-diag`, default 10 %, decided once per session) and for
// every session that calls `openrum.diagnose()`, once the load event is over, at idle priority:
// most page views pay nothing. It puts its events into the next beacon through `openrum._d`.
import { loadDone } from "./actions.js";
import { DIAG, SRC } from "./config.js";
import { doc, win } from "./lib/guard.js";
import { session } from "./session.js";

/** Decide (or, with `force`, set) whether this session is diagnosed; load the module after the
 * load event (it runs only once per page however often it is appended). */
export const diagnose = (force) => {
  session.d = force || (session.d ?? Math.random() * 100 < DIAG);
  SRC && loadDone && session.d && (win.requestIdleCallback || setTimeout)(() => doc.head.append(Object.assign(doc.createElement("script"), { src: SRC.replace(".js", "-diag.js") })));
};
