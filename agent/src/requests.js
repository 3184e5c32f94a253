// fetch and XMLHttpRequest, watched: each request counts to the action it belongs to (or starts
// an xhr action after a user input, or is a background request of no action when neither is
// there), and a failed one is a request error: an HTTP status ≥ 400,
// a network failure or a timeout. The agent's own beacons are not watched. The page always gets
// the browser's own result: the agent only listens, and adds a W3C `traceparent` header to the
// requests to its own origin and to those the app allows (data-trace): others would need a CORS
// preflight the server may refuse.
import { open, request } from "./actions.js";
import { ENDPOINT, TRACE } from "./config.js";
import { error } from "./errors.js";
import { doc, safe, win } from "./lib/guard.js";
import { stripUrl } from "./lib/url.js";

/** The browser's fetch, for the agent's own beacons. */
export const nativeFetch = win.fetch;

/**
 * @returns {string} `n` random lowercase hex digits. Math.random (52 random bits a call in the
 * engines the agent supports) is random enough to tell traces apart, and smaller than crypto.
 */
const hex = (n, s = "") => {
  while (s.length < n) s += Math.random().toString(16).slice(2);
  return s.slice(-n);
};

/** A request to `target` ended with HTTP `status` (0: timed out, -1: failed). */
const ended = safe((done, target, status) => {
  const a = done();
  if (status < 1 || status >= 400) {
    const source = stripUrl(target);
    // The error of the request's action; a background request's is the page view's alone.
    error(
      "request",
      `${status > 0 ? "HTTP " + status : status ? "network error" : "timeout"} ${source}`,
      { source, status: status > 0 ? status : undefined, trace: done.t },
      a,
    );
  }
});

/**
 * A request to `target` starts: @returns {Function} to call when it ends (0 for the agent's own
 * beacons, or when the bookkeeping failed: the request goes on unwatched). `header(name, value)`
 * adds a header to it. The requests of one action share its trace id (a backend trace per
 * action), each with its own parent span id; a background request has a trace of its own.
 */
const start = (target, header) => {
  const done = String(target).indexOf(ENDPOINT) < 0 && safe(request)();
  safe(() => {
    const origin = new URL(target, doc.baseURI).origin;
    if (done && (origin == location.origin || TRACE.includes(origin))) {
      const a = open || {};
      header("traceparent", `00-${(done.t = a.trace = a.trace || hex(32))}-${hex(16)}-01`);
    }
  })();
  return done;
};

export const watchRequests = () => {
  if (nativeFetch) {
    win.fetch = function (input, init) {
      const target = String((input && input.url) || input);
      const done = start(target, (name, value) => {
        // The page's headers (of its init, else of its Request) and the trace's.
        const headers = new Headers((init && init.headers) || input.headers);
        headers.set(name, value);
        init = { ...init, headers };
      });
      const p = nativeFetch.call(this, input, init);
      // Listened to, not chained: the page gets the browser's own promise.
      if (done)
        p.then(
          (res) => ended(done, target, res.status),
          // An abort by the page is its own decision; a timeout signal is a timeout.
          (err) => (err && err.name != "AbortError" ? ended(done, target, err.name == "TimeoutError" ? 0 : -1) : done()),
        );
      return p;
    };
  }
  const proto = win.XMLHttpRequest && XMLHttpRequest.prototype;
  if (proto) {
    const open = proto.open;
    const send = proto.send;
    const targets = new WeakMap();
    proto.open = function (method, target) {
      safe(() => targets.set(this, String(target)))();
      return open.apply(this, arguments);
    };
    proto.send = function () {
      safe(() => {
        const target = targets.get(this) || "";
        const done = start(target, (name, value) => this.setRequestHeader(name, value));
        // Exactly one of these ends a request; an abort by the page is not an error.
        if (done)
          for (const [type, status] of [["load"], ["timeout", 0], ["error", -1], ["abort", 200]])
            this.addEventListener(type, () => ended(done, target, status ?? this.status));
      })();
      return send.apply(this, arguments);
    };
  }
};
