// The OpenRUM agent (docs/agent.md; beacon protocol: docs/protocol.md), started by the snippet
// (index.js) or by an app's call of `init` (the package, npm.js). Everything it does is guarded
// so that a failure inside it never throws into the host page; it batches events and sends them
// when the page is hidden. (The order of the imports is the modules' order in the bundle, on
// which its brotli size depends by a few bytes: this one was the smallest found.)
import { watchFCP } from "./vitals/fcp.js";
import { newPage } from "./core.js";
import { clsView, takeCLS } from "./vitals/cls.js";
import { watchLCP } from "./vitals/lcp.js";
import { watchErrors } from "./errors.js";
import { watchLongTasks } from "./longtasks.js";
import { end } from "./actions.js";
import { begin, open, view, watchActions } from "./actions.js";
import { watchLoad } from "./load.js";
import { APP, DNT, PRIVATE, configure } from "./config.js";
import { installApi } from "./api.js";
import { vital } from "./core.js";
import { watchRequests } from "./requests.js";
import { put } from "./core.js";
import { inpView, takeINP } from "./vitals/inp.js";
import { doubleRAF, markHidden, resetVisibility, watchVisibility } from "./lib/page.js";
import { rageClick } from "./rage.js";
import { flush } from "./transport.js";
import { doc, epoch, on, perf, safe, win } from "./lib/guard.js";
import { openSession, session } from "./session.js";
import { readEnv } from "./env.js";
import { now } from "./lib/guard.js";

const start = () => {
  watchVisibility();
  readEnv();
  // The load action first: the other watchers attribute what they see to it.
  const load = watchLoad();
  watchRequests();
  watchErrors();
  const stopLCP = watchLCP(load);
  watchFCP(load, () => clsView(load));
  inpView(load);
  watchLongTasks();
  // A route change is a new view: CLS and INP start again for it (the last view's are final).
  const take = () => {
    stopLCP();
    takeCLS();
    takeINP();
  };
  watchActions((a) => {
    // (Each view function takes the last view's pending entries first.)
    stopLCP();
    clsView(a);
    inpView(a);
    put("user", "page_change", { time: now(), action: a.id });
  }, (e) => {
    stopLCP();
    rageClick(e);
  }, stopLCP);
  on(
    "visibilitychange",
    (e) => {
      if (doc.visibilityState == "hidden") markHidden(e.timeStamp), take(), flush();
    },
    doc,
  );
  on("pagehide", () => (take(), flush(1)));
  // Back/forward cache restore: a new page view whose load action lasts until the next frame is
  // painted; FCP and LCP are that time, TTFB 0, CLS and INP start again (as web-vitals).
  on("pageshow", (e) => {
    if (!e.persisted) return;
    newPage();
    resetVisibility();
    const a = begin("load", "", epoch(e.timeStamp));
    vital(a, "ttfb", 0);
    clsView(a);
    inpView(a);
    doubleRAF(
      safe(() => {
        const t = perf.now() - e.timeStamp;
        vital(a, "fcp", t);
        vital(a, "lcp", t);
        end(a, epoch(perf.now()));
      }),
    );
  });
};

/** Start the agent with options `o` (docs/agent.md); once a page: a second agent stays off. */
export const init = (o) =>
  safe(() => {
    if (win.openrum) return;
    configure(o);
    if (!APP) return;
    openSession();
    newPage();
    const live = session.sampled && !(PRIVATE && DNT == "off");
    installApi(live);
    if (!live) return;
    // A prerendered page is measured from its activation (as web-vitals).
    if (doc.prerendering) on("prerenderingchange", safe(start), doc, { once: true });
    else start();
  })();
