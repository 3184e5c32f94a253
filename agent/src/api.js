// window.openrum: what a site can call. Every function is guarded (never throws) and does
// nothing while the agent is off (Do Not Track, not sampled, no app id).
import { begin, end } from "./actions.js";
import { put } from "./core.js";
import { describe, error } from "./errors.js";
import { diagnose } from "./diag.js";
import { now, safe, win } from "./lib/guard.js";
import { endSession, setConsent } from "./session.js";
import { dirty } from "./core.js";
import { flush } from "./transport.js";

/** Install window.openrum; `live` says whether the agent measures; `anonymous` under DNT/GPC. */
export const installApi = (live, anonymous) => {
  const custom = new Map();
  const fn = (f) => safe((...args) => live && f(...args));
  const user = (type, value) => put("user", type, { time: now(), value: value && String(value).slice(0, 200) });
  win.openrum = {
    /** Start a custom action; @returns {string} its id for endAction */
    startAction: fn((name) => {
      const a = begin("custom", String(name).slice(0, 200), now());
      custom.set(a.id, a);
      return a.id;
    }),
    endAction: fn((id) => {
      const a = custom.get(id);
      if (a) end(a, now()), custom.delete(id);
    }),
    reportError: fn((err, message) => error("custom", message || (err && err.message) || String(err), describe(err))),
    /** Tag the session with a user name or id (not under Do Not Track). */
    identify: fn((tag) => anonymous || user("user_tag", tag)),
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
    _d: put,
  };
};
