// User actions (RUM.md, Dynatrace rules): the page load, xhr actions (a click, key press or touch
// followed by fetch/XHR within 30 ms), SPA route changes and custom actions. An xhr or route
// action ends when its requests — and requests started in their callbacks — have finished and
// 100 ms passed with no request or DOM change; at the latest after 50 s, or when the next action
// starts. The load action ends at loadEventEnd, or later when requests started by onload handlers
// end later; at the latest after 3 min.
import { put, touch, url } from "./core.js";
import { activity } from "./session.js";
import { HASH_ROUTES } from "./config.js";
import { doc, epoch, now, on, safe } from "./lib/guard.js";
import { navEntry } from "./lib/page.js";
import { stripUrl } from "./lib/url.js";
import { actionName } from "./lib/naming.js";

export const QUIET_MS = 100;
export const INPUT_WINDOW_MS = 30;
export const MAX_ACTION_MS = 50000;
export const MAX_LOAD_MS = 180000;

const cap = (a) => (a.type == "load" ? MAX_LOAD_MS : MAX_ACTION_MS);

/** The action collecting requests now (or 0). */
export let open = 0;
/** The current view: the load action or the latest route change; vitals accrue to it. */
export let view = 0;
let pending = 0; // requests of `open` still running
let last = 0; // epoch ms of the last activity of `open`
let quietTimer;
export let loadDone = 0; // loadEventEnd has passed
let inputAt = -1; // epoch ms after the task of the last user input, Infinity during that task
let inputStart = 0;
let inputName = "";

/**
 * @returns {object} a new action of `type` starting at `start` (epoch ms), now the open one. One
 * that starts at the last user input has that input's name as its `trigger`.
 */
export const begin = (type, name, start) => {
  // A new action ends the running one; a page still loading goes on until its load event ends.
  if (open && (open.type != "load" || loadDone)) end(open);
  activity();
  const a = put("action", type, { name, start, trigger: start == inputStart ? inputName : undefined, vitals: {}, requests: 0 });
  if (type != "custom") {
    open = a;
    pending = 0;
    last = start;
    if (type != "xhr") view = a;
    setTimeout(() => end(a, start + cap(a)), cap(a));
  }
  return a;
};

/** End action `a` at `at` (epoch ms; the last activity of the open action by default). */
export const end = (a, at = last) => {
  if (a == open) {
    open = 0;
    clearTimeout(quietTimer);
  }
  if (a.duration == null) {
    a.duration = Math.min(Math.max(at - a.start, 0), cap(a));
    touch(a);
  }
};

/** Something happened for the open action: it ends after QUIET_MS of nothing else. */
const activityOf = (t) => {
  last = Math.max(last, t);
  clearTimeout(quietTimer);
  const a = open;
  if (a && !pending && (a.type != "load" || loadDone)) quietTimer = setTimeout(() => a == open && end(a), QUIET_MS);
};

/** The load event of action `load` is over at `t` (loadEventEnd, epoch ms): it may end. */
export const loadEnded = (load, t) => {
  loadDone = 1;
  if (open == load) activityOf(t);
  else end(load, t);
};

/** A user input: a request following it within 30 ms starts an xhr action named after it. */
const input = (verb, then) => (e) => {
  if (!e.isTrusted) return;
  then(e);
  inputName = actionName(verb == "click" && e.pointerType == "touch" ? "touch" : verb, e.target);
  inputStart = epoch(e.timeStamp);
  // The window opens after the input's own task, so that the page's handlers may take their time.
  inputAt = 1 / 0;
  setTimeout(() => (inputAt = now()));
};

/** @returns {boolean} whether the last input is the cause of what starts now */
const inWindow = () => now() <= inputAt + INPUT_WINDOW_MS;

/**
 * A fetch/XHR started: it belongs to the open action (or starts an xhr action right after a user
 * input); with neither it is a background request, of no action. @returns {Function} to call
 * when it ends, which returns the request's action (null for a background request)
 */
export const request = () => {
  if (!open && inWindow()) begin("xhr", inputName, inputStart);
  const a = open;
  if (!a) return () => null;
  a.requests++;
  // Requests started while the page loads count to the load action, but only those started by
  // onload handlers (or later, in their callbacks) can make it end later than loadEventEnd.
  const n = navEntry();
  if (a.type == "load" && !loadDone && !(n && n.loadEventStart > 0 && !n.loadEventEnd)) return () => a;
  clearTimeout(quietTimer);
  pending++;
  return () => (a == open && (pending--, activityOf(now())), a);
};

/**
 * Watch inputs, DOM changes and SPA route changes; `onRoute(action)` is called for each new view
 * (a route_change action), `onClick(event)` and `onKey(event)` for each trusted click and key
 * press. A pushState or popstate that changes the URL (path, query or route fragment) is a route
 * change; a replaceState only when the path or route fragment changes (docs/agent.md). The whole
 * URL is compared, also the parts that are not sent.
 */
export const watchActions = (onRoute, onClick, onKey) => {
  on("click", input("click", onClick));
  on("keydown", input("keypress", onKey));
  // DOM changes keep an xhr or route action open (the response being rendered), not the load.
  new MutationObserver(() => open && open.type != "load" && activityOf(now())).observe(doc, { childList: true, subtree: true });
  let was = location.href;
  const route = safe((replace, key = (href) => stripUrl(href, !replace, HASH_ROUTES)) => {
    if (key(was) == key((was = location.href))) return;
    // One interaction, one action: the input's xhr action becomes the route change it led to
    // (its handler fetched first, or changed the URL once its fetch was done).
    const a = open && open.type == "xhr" && open.start == inputStart ? open : begin("route_change", "", inWindow() ? inputStart : now());
    onRoute(touch(Object.assign((view = a), { type: "route_change", name: "", url: url() })));
    activityOf(now());
  });
  for (const m of ["pushState", "replaceState"]) {
    const orig = history[m];
    history[m] = function () {
      const r = orig.apply(this, arguments);
      route(m[0] == "r");
      return r;
    };
  }
  // A fragment navigation fires popstate too (HTML: "navigate to a fragment").
  on("popstate", () => route());
};
