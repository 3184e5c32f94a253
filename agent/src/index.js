// The OpenRUM agent (docs/agent.md, beacon protocol: docs/protocol.md). Loaded with one async
// <script> in the <head>; everything it does is wrapped so that a failure inside it never throws
// into the host page. It batches events and sends them when the page is hidden.

import { onCLS, onFCP, onINP, onLCP, onTTFB } from "web-vitals";
import { actionName } from "./lib/naming.js";
import { nextSession } from "./lib/session.js";
import { trimStack } from "./lib/stack.js";
import { stripUrl } from "./lib/url.js";

const VERSION = "0.1.0";
const MAX_BYTES = 60000; // under the collector's 64 KiB, with room for the envelope
const MAX_ERRORS = 20; // distinct errors per beacon
const QUIET_MS = 100; // an action ends when no request ran for this long (Dynatrace)
const CLICK_WINDOW_MS = 30; // a request this soon after a click belongs to it
const MAX_ACTION_MS = 50000;
const MAX_LOAD_MS = 180000;

const w = window;
const d = document;
const perf = performance;
const now = () => Date.now();
const rand = () => Math.random().toString(36).slice(2, 10) + now().toString(36);

function safe(fn) {
  return function () {
    try {
      return fn.apply(this, arguments);
    } catch (e) {
      // Never let the agent break the page.
    }
  };
}

safe(() => {
  const script = d.currentScript || d.querySelector("script[data-app]");
  const data = (script && script.dataset) || {};
  const extra = w.openrumConfig || {};
  const num = (k, dflt) => +data[k] || dflt;
  const cfg = {
    app: data.app,
    endpoint: data.endpoint || "/api/v1/beacon",
    sample: num("sample", 100),
    optin: data.optin == 1,
    dnt: data.dnt || "off", // off: honour DNT/GPC by sending nothing; ignore
    query: data.query == 1,
    hash: data.hash == 1,
    release: data.release,
    rageClicks: num("rageClicks", 3),
    rageMs: num("rageMs", 1000),
    ragePx: num("ragePx", 30),
    beforeSend: extra.beforeSend,
  };
  if (!cfg.app || w.openrum) return;
  if (cfg.dnt === "off" && (navigator.doNotTrack === "1" || navigator.globalPrivacyControl)) return;

  // -- session (cookie-less, per tab) and sampling, decided once per session ------------------
  const KEY = "openrum:" + cfg.app;
  let stored = null;
  try {
    stored = JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch (e) {}
  const session = nextSession(stored, now(), rand);
  if (session.sampled === undefined) session.sampled = Math.random() * 100 < cfg.sample;
  const save = () => {
    try {
      sessionStorage.setItem(KEY, JSON.stringify(session));
    } catch (e) {}
  };
  save();
  let consent = !cfg.optin;
  const page = rand();
  let ids = 0;
  const events = new Map(); // id → event; `dirty` ones go out with the next beacon
  const put = (ev) => {
    ev.dirty = 1;
    events.set(ev.id, ev);
    return ev;
  };
  // A user event of `type` now, on this page.
  const user = (type, extra) => put({ kind: "user", id: "u" + ++ids, type, time: now(), url: url(), ...extra });
  const url = () => stripUrl(location.href, cfg.query, cfg.hash);

  // -- the load action ----------------------------------------------------------------------
  const nav = perf.getEntriesByType && perf.getEntriesByType("navigation")[0];
  const load = put({ kind: "action", id: "l", type: "load", start: Math.round(perf.timeOrigin), url: url(), vitals: {} });
  let current = load;
  const finishLoad = safe(() => {
    const n = perf.getEntriesByType("navigation")[0] || nav;
    if (!n) return;
    // Every timestamp attribute of the entry (…Start, …End, dom…), as the collector expects.
    const nt = {};
    const all = n.toJSON();
    for (const k in all) {
      if (/Start$|End$|^dom/.test(k) && all[k] > 0) nt[k] = Math.round(all[k] * 10) / 10;
    }
    load.nt = nt;
    load.duration = Math.min(n.loadEventEnd || n.duration, MAX_LOAD_MS);
    load.dirty = 1;
  });
  if (d.readyState === "complete") setTimeout(finishLoad, 0);
  else w.addEventListener("load", () => setTimeout(finishLoad, 0));

  // -- Core Web Vitals (Google's web-vitals: same semantics, same ids) -------------------------
  const vital = (name, extract) =>
    safe((m) => {
      if (m.value < 0) return;
      const v = { id: m.id, value: Math.round(m.value * 10000) / 10000 };
      safe(() => extract && extract(m.attribution || {}, v))();
      load.vitals[name] = v;
      load.dirty = 1;
    });
  onLCP(vital("lcp", (a, v) => (v.target = a.target)));
  onCLS(vital("cls", (a, v) => (v.target = a.largestShiftTarget)));
  onINP(
    vital("inp", (a, v) => {
      v.target = a.interactionTarget;
      v.phase = { input_delay: a.inputDelay, processing: a.processingDuration, presentation: a.presentationDelay };
    }),
  );
  onFCP(vital("fcp"));
  onTTFB(vital("ttfb"));

  // Long tasks (> 50 ms) count against the action that is running.
  safe(() => {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        current.long_tasks = (current.long_tasks || 0) + 1;
        current.long_task_ms = Math.round(((current.long_task_ms || 0) + e.duration) * 10) / 10;
        current.dirty = 1;
      }
    }).observe({ type: "longtask", buffered: true });
  })();

  // -- errors ------------------------------------------------------------------------------
  const seen = new Map(); // fingerprint → error event (folded with a count)
  const error = (type, message, extra) => {
    const key = type + message + (extra.stack || extra.source || "");
    const known = seen.get(key);
    if (known) {
      known.count = (known.count || 1) + 1;
      known.dirty = 1;
      return;
    }
    if (seen.size >= MAX_ERRORS) return;
    seen.set(key, put({ kind: "error", id: "e" + ++ids, type, time: now(), url: url(), action: current.id, message: String(message).slice(0, 1000), ...extra }));
  };
  w.addEventListener(
    "error",
    safe((e) => {
      const t = e.target;
      if (t && t !== w && (t.src || t.href)) {
        error("resource", `failed to load ${t.tagName.toLowerCase()}`, { source: stripUrl(t.src || t.href) });
      } else {
        const err = e.error || {};
        error("js", e.message || String(err), { name: err.name, stack: trimStack(err.stack), source: stripUrl(e.filename || ""), line: e.lineno, col: e.colno });
      }
    }),
    true,
  );
  w.addEventListener(
    "unhandledrejection",
    safe((e) => {
      const r = e.reason || {};
      error("js", "Unhandled rejection: " + (r.message || String(r)), { name: r.name, stack: trimStack(r.stack) });
    }),
  );
  d.addEventListener(
    "securitypolicyviolation",
    safe((e) => error("csp", `${e.violatedDirective} blocked ${e.blockedURI}`, { source: stripUrl(e.sourceFile || "") })),
  );

  // -- requests, xhr actions and route changes ---------------------------------------------
  let pending = 0;
  let lastClick = null;
  let quietTimer = 0;
  let open = null; // the xhr or route_change action waiting for its requests to finish
  const settle = () => {
    clearTimeout(quietTimer);
    if (!open || pending) return;
    quietTimer = setTimeout(
      safe(() => {
        if (open && !pending) {
          open.duration = Math.min(now() - open.start - QUIET_MS, MAX_ACTION_MS);
          open.dirty = 1;
          open = null;
        }
      }),
      QUIET_MS,
    );
  };
  const begin = (type, name) => {
    session.actions++;
    save();
    open = put({ kind: "action", id: "a" + ++ids, type, name, start: now(), url: url(), requests: 0 });
    current = open;
    return open;
  };
  const request = (target) => {
    const t = now();
    if (!open && lastClick && t - lastClick.t <= CLICK_WINDOW_MS) begin("xhr", lastClick.name);
    const action = open;
    if (action) action.requests++;
    pending++;
    return safe((status, late) => {
      pending--;
      if (status === 0 || status >= 400) {
        const source = stripUrl(late || target);
        error("request", `${status ? "HTTP " + status : "network error"} for ${source}`, { status: status || undefined, source });
        if (action) action.dirty = 1;
      }
      settle();
    });
  };
  const origFetch = w.fetch;
  if (origFetch) {
    w.fetch = function (input, init) {
      const target = String((input && input.url) || input);
      if (target.indexOf(cfg.endpoint) >= 0) return origFetch.apply(this, arguments);
      const done = request(target);
      return origFetch.apply(this, arguments).then(
        (res) => (done(res.status), res),
        (err) => {
          done(0);
          throw err;
        },
      );
    };
  }
  const XHR = w.XMLHttpRequest && XMLHttpRequest.prototype;
  if (XHR) {
    const send = XHR.send;
    XHR.send = function () {
      // The target is known once the request ends (responseURL); the action counts it from now.
      const done = request("");
      this.addEventListener("loadend", () => done(this.status, this.responseURL));
      return send.apply(this, arguments);
    };
  }

  // Clicks: name them for a following request; three or more close together are a rage click.
  let clicks = [];
  let rage = null;
  d.addEventListener(
    "click",
    safe((e) => {
      const t = now();
      lastClick = { t, name: actionName("click", e.target) };
      clicks = clicks.filter((c) => t - c.t < cfg.rageMs && Math.hypot(c.x - e.clientX, c.y - e.clientY) < cfg.ragePx);
      clicks.push({ t, x: e.clientX, y: e.clientY });
      if (clicks.length === cfg.rageClicks) {
        rage = user("rage_click", { action: current.id, value: lastClick.name, x: e.clientX, y: e.clientY });
      }
      if (rage && clicks.length >= cfg.rageClicks) (rage.count = clicks.length), (rage.dirty = 1);
    }),
    true,
  );

  let path = url();
  const route = safe(() => {
    const next = url();
    if (next === path) return;
    path = next;
    begin("route_change", "route to " + stripUrl(location.pathname + (cfg.hash ? location.hash : "")));
    user("page_change");
    settle();
  });
  for (const m of ["pushState", "replaceState"]) {
    const orig = history[m];
    history[m] = function () {
      const r = orig.apply(this, arguments);
      route();
      return r;
    };
  }
  w.addEventListener("popstate", route);
  if (cfg.hash) w.addEventListener("hashchange", route);

  // -- environment --------------------------------------------------------------------------
  const c = navigator.connection || {};
  const env = {
    vw: w.innerWidth, vh: w.innerHeight, sw: screen.width, sh: screen.height, dpr: w.devicePixelRatio,
    mem: navigator.deviceMemory, conn: c.effectiveType, save_data: c.saveData, release: cfg.release,
  };
  const uad = navigator.userAgentData;
  if (uad && uad.getHighEntropyValues) {
    uad
      .getHighEntropyValues(["platformVersion", "model", "fullVersionList"])
      .then(
        safe((h) => {
          env.uach = {
            brands: (h.fullVersionList || h.brands || []).map((b) => b.brand + "/" + b.version),
            mobile: h.mobile, platform: h.platform, platform_version: h.platformVersion, model: h.model,
          };
        }),
      )
      .catch(() => {});
  }

  // -- transport: one beacon when the page is hidden -----------------------------------------
  let seq = session.seq || 0;
  const post = (body) => {
    if (navigator.sendBeacon && navigator.sendBeacon(cfg.endpoint, new Blob([body], { type: "text/plain" }))) return;
    origFetch &&
      origFetch(cfg.endpoint, { method: "POST", body, keepalive: true, headers: { "content-type": "text/plain" } })
        .then((r) => {
          if (r.status === 429 || r.status === 503) {
            session.retryAt = now() + 1000 * Number(r.headers.get("retry-after") || 5);
            save();
          }
        })
        .catch(() => {});
  };
  const flush = safe(() => {
    if (!consent || !session.sampled || (session.retryAt && now() < session.retryAt)) return;
    const out = [];
    for (const ev of events.values()) {
      if (!ev.dirty) continue;
      ev.dirty = 0;
      const { dirty, ...copy } = ev;
      out.push(copy);
    }
    if (!out.length) return;
    const envelope = (list) => {
      let beacon = {
        v: 1, app: cfg.app, sid: session.id, page, sent: now(), seq: ++seq, agent: VERSION,
        url: url(), weight: 100 / Math.max(cfg.sample, 0.001), env, events: list,
      };
      if (cfg.beforeSend) beacon = cfg.beforeSend(beacon);
      return beacon && JSON.stringify(beacon);
    };
    // Split to stay under the collector's body limit.
    let chunk = [];
    let size = 0;
    for (const ev of out) {
      const n = JSON.stringify(ev).length;
      if (chunk.length && size + n > MAX_BYTES) {
        const body = envelope(chunk);
        body && post(body);
        (chunk = []), (size = 0);
      }
      chunk.push(ev);
      size += n;
    }
    const body = envelope(chunk);
    body && post(body);
    session.seq = seq;
    session.last = now();
    save();
  });
  d.addEventListener("visibilitychange", () => d.visibilityState === "hidden" && flush());
  w.addEventListener("pagehide", flush);

  // -- the API ------------------------------------------------------------------------------
  w.openrum = {
    version: VERSION,
    startAction: safe((name) => {
      const a = begin("custom", String(name).slice(0, 200));
      open = null; // a custom action ends when the site says so, not on quiet
      return a.id;
    }),
    endAction: safe((id) => {
      const a = events.get(id);
      if (a && a.duration === undefined) (a.duration = Math.min(now() - a.start, MAX_ACTION_MS)), (a.dirty = 1);
    }),
    reportError: safe((err, message) => error("custom", message || (err && err.message) || String(err), { name: err && err.name, stack: trimStack(err && err.stack) })),
    identify: safe((tag) => user("user_tag", { value: String(tag).slice(0, 200) })),
    setProperty: safe((k, v) => user("property", { value: `${k}=${v}`.slice(0, 200) })),
    endSession: safe(() => {
      user("session_end");
      flush();
      sessionStorage.removeItem(KEY);
    }),
    consent: safe((on) => {
      consent = !!on;
      if (!consent) for (const ev of events.values()) ev.dirty = 0;
    }),
    flush,
  };
})();
