// fetch and XMLHttpRequest, watched: each request counts to the action it belongs to (or starts
// an xhr action after a user input, or is a background request of no action when neither is
// there), and a failed one is a request error: an HTTP status ≥ 400,
// a network failure or a timeout. The agent's own beacons are not watched (they go through the
// browser's fetch, never the wrapper). The page always gets
// the browser's own result: the agent only listens, and adds a W3C `traceparent` header to the
// requests to its own origin and to those the app allows (data-trace): others would need a CORS
// preflight the server may refuse.
import { open, request } from "./actions.js";
import { TRACE } from "./config.js";
import { error } from "./errors.js";
import { doc, safe, win } from "./lib/guard.js";
import { stripUrl } from "./lib/url.js";

/** The browser's fetch (as it was before the agent), for the agent's own beacons. */
export const nativeFetch = win.fetch;

/**
 * @returns {string} `n` (at most 32) random lowercase hex digits: those of three Math.random()
 * values (52 random bits each in the engines the agent supports: random enough to tell traces
 * apart, and smaller than crypto), zeros should they fall short.
 */
const hex = (n) =>
  (Math.random().toString(16).slice(2) + Math.random().toString(16).slice(2) + Math.random().toString(16).slice(2) + "0".repeat(n)).slice(0, n);

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
 * A request to `target` starts: @returns {Function} to call when it ends (undefined when the
 * bookkeeping failed: the request goes on unwatched). `header(name, value)`
 * adds a header to it. The requests of one action share its trace id (a backend trace per
 * action), each with its own parent span id; a background request has a trace of its own.
 */
const start = (target, header) => {
  const done = safe(request)();
  safe(() => {
    // (Without `done`, `done.t` throws: no header.)
    if (TRACE.includes(new URL(target, doc.baseURI).origin)) {
      const a = open || {};
      header("traceparent", `00-${(done.t = a.trace = a.trace || hex(32))}-${hex(16)}-01`);
    }
  })();
  return done;
};

export const watchRequests = () => {
  // (fetch is in every browser the agent supports.)
  win.fetch = function (input, init) {
    const target = String((input && input.url) || input);
    const done = start(target, (name, value) => {
      // The Request fetch would make of its arguments, with the trace's header added (where it
      // throws, the page's own arguments go to fetch, which rejects as it would).
      (input = new Request(input, init)).headers.set(name, value);
      init = undefined;
    });
    const p = nativeFetch.call(this, input, init);
    // Listened to, not chained: the page gets the browser's own promise. An abort by the page
    // is its own decision (200: no error); a timeout signal is a timeout.
    if (done)
      p.then(
        (res) => ended(done, target, res.status),
        (err) => ended(done, target, { AbortError: 200, TimeoutError: 0 }[err && err.name] ?? -1),
      );
    return p;
  };
  const proto = win.XMLHttpRequest && XMLHttpRequest.prototype;
  if (proto) {
    const open = proto.open;
    const send = proto.send;
    const TARGET = Symbol(); // the URL a request was opened with (a key no page code sees)
    proto.open = function (method, target) {
      this[TARGET] = target;
      return open.apply(this, arguments);
    };
    proto.send = function () {
      safe(() => {
        const target = String(this[TARGET]);
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
