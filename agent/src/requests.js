// fetch and XMLHttpRequest, watched: each request counts to the action it belongs to (or starts
// an xhr action after a user input, or is a background request of no action when neither is
// there), and a failed one is a request error: an HTTP status ≥ 400,
// a network failure or a timeout. The agent's own beacons are not watched. The page always gets
// the browser's own result: the agent only listens.
import { request } from "./actions.js";
import { ENDPOINT } from "./config.js";
import { error } from "./errors.js";
import { safe, win } from "./lib/guard.js";
import { stripUrl } from "./lib/url.js";

/** The browser's fetch, for the agent's own beacons. */
export const nativeFetch = win.fetch;

/** A request to `target` ended with HTTP `status` (0: timed out, -1: failed). */
const ended = safe((done, target, status) => {
  const a = done();
  if (status < 1 || status >= 400) {
    const source = stripUrl(target);
    // The error of the request's action; a background request's is the page view's alone.
    error(
      "request",
      `${status > 0 ? "HTTP " + status : status ? "network error" : "timeout"} ${source}`,
      { source, status: status > 0 ? status : undefined },
      a,
    );
  }
});

// A request through `start` never fails because of the agent: bookkeeping errors give a no-op.
const start = (target) => (String(target).indexOf(ENDPOINT) < 0 && safe(request)()) || 0;

export const watchRequests = () => {
  if (nativeFetch) {
    win.fetch = function (input) {
      const target = String((input && input.url) || input);
      const done = start(target);
      const p = nativeFetch.apply(this, arguments);
      return done
        ? p.then(
            (res) => (ended(done, target, res.status), res),
            (err) => {
              // An abort by the page is its own decision; a timeout signal is a timeout.
              if (err && err.name != "AbortError") ended(done, target, err.name == "TimeoutError" ? 0 : -1);
              else done();
              throw err;
            },
          )
        : p;
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
        const done = start(target);
        // Exactly one of these ends a request; an abort by the page is not an error.
        if (done)
          for (const [type, status] of [["load"], ["timeout", 0], ["error", -1], ["abort", 200]])
            this.addEventListener(type, () => ended(done, target, status ?? this.status));
      })();
      return send.apply(this, arguments);
    };
  }
};
