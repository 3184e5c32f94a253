// What a site can call: window.openrum (the snippet) or the package's exports (npm.js,
// docs/agent.md). Every function is guarded (never throws) and does nothing while the agent is
// off (Do Not Track, not sampled, no app id, not initialised).
import { begin, end } from "./actions.js";
import { PRIVATE } from "./config.js";
import { dirty, put } from "./core.js";
import { describe, error } from "./errors.js";
import { diagnose } from "./diag.js";
import { now, safe, win } from "./lib/guard.js";
import { endSession, setConsent } from "./session.js";
import { flush } from "./transport.js";

let live;
const custom = {}; // running custom actions by id
/** @returns {Function} `f`, guarded, doing nothing while the agent is off */
export const fn = (f) => safe((...args) => live && f(...args));
const user = (type, value) => put("user", type, { time: now(), value: value && String(value).slice(0, 200) });

export const api = {
  /** Start a custom action; @returns {string} its id for endAction */
  startAction: fn((name) => {
    const a = begin("custom", String(name).slice(0, 200), now());
    custom[a.id] = a;
    return a.id;
  }),
  endAction: fn((id) => {
    const a = custom[id];
    if (a) end(a, now());
  }),
  reportError: fn((err, message) => error("custom", message || (err && err.message) || err, describe(err))),
  /** Tag the session with a user name or id (not under Do Not Track). */
  identify: fn((tag) => PRIVATE || user("user_tag", tag)),
  setProperty: fn((key, value) => user("property", key + "=" + value)),
  endSession: fn(() => {
    user("session_end");
    flush();
    endSession();
  }),
  /** Opt-in mode: true lets the agent store and send; false stops it and forgets. */
  consent: fn((on) => {
    setConsent(!!on);
    if (!on) dirty.clear();
  }),
  flush: fn(flush),
  /** Load the diagnostics module for the rest of this session. */
  diagnose: fn(() => diagnose(1)),
  _d: put, // the diagnostics module's way into the next beacon
};

/** Install window.openrum; `on` says whether the agent measures. */
export const installApi = (on) => {
  live = on;
  win.openrum = api;
};
