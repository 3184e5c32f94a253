// Errors: uncaught exceptions and unhandled rejections (with parsed, trimmed stacks), failed
// resource loads, CSP violations, request errors (requests.js) and the site's own (API). Repeats
// within one beacon are folded into one event with a count; at most MAX_ERRORS distinct errors
// go in one beacon.
import { formatStack, parseStack } from "./lib/stack.js";
import { stripUrl } from "./lib/url.js";
import { put, touch } from "./core.js";
import { doc, now, on, perf, win } from "./lib/guard.js";
import { MAX_ERRORS } from "./config.js";
import { open, view } from "./actions.js";

/** Errors of the next beacon by key (emptied when a beacon is sent). */
export const seen = new Map();

/**
 * Record an error of `type` (js, request, csp, resource, custom) in action `a`: by default the
 * open action, else the current view; null for none.
 */
export const error = (type, message, fields, a = open || view) => {
  message = String(message).slice(0, 1000);
  const key = type + message + (fields.stack || fields.source || "");
  const known = seen.get(key);
  if (known) touch(known).count++;
  else if (seen.size < MAX_ERRORS) seen.set(key, put("error", type, { time: now(), action: a && a.id, message, count: 1, ...fields }));
  // A running action is re-sent with its errors so that the collector counts them to it; an
  // ended one is not (the collector counts no error to it that came after its end).
  if (a && a.duration == null) touch(a);
};

/**
 * The fields of an Error object (or anything thrown): name and stack (the collector reads the
 * source, line and column of its top frame), and `fields`.
 */
export const describe = (err, fields) => ({
  name: (err && err.name) || undefined,
  stack: formatStack(parseStack(err && err.stack)),
  ...fields,
});

const resource = (tag, url) => {
  const source = stripUrl(url);
  error("resource", `failed to load ${tag} ${source}`, { source });
};

export const watchErrors = () => {
  // Resources that failed before the agent ran, from their Resource Timing status (Chrome
  // 109+); later ones arrive as error events.
  for (const r of perf.getEntriesByType("resource"))
    if (r.responseStatus >= 400 && !/fetch|xmlhttp/.test(r.initiatorType)) resource(r.initiatorType, r.name);
  on("error", (e) => {
    const t = e.target;
    // A resource that failed to load (img, script, link, …): no bubbling, hence capture.
    if (t && t != win && t.tagName) resource(t.localName, t.currentSrc || t.src || t.href);
    // An uncaught error: its position is its stack's top frame (the collector reads it there).
    else error("js", e.message || e.error, describe(e.error));
  });
  on("unhandledrejection", (e) => {
    const r = e.reason;
    error("js", "Unhandled rejection: " + ((r && r.message) || String(r)), describe(r));
  });
  // The source of a CSP violation is the URL it blocked: the batch step keeps it, not the
  // failed resource of the same URL (one blocked resource, one error).
  on(
    "securitypolicyviolation",
    (e) => {
      const source = stripUrl(e.blockedURI);
      error("csp", `${e.effectiveDirective} blocked ${source}`, { source });
    },
    doc,
  );
};
