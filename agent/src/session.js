// The session this page belongs to, kept without cookies: in sessionStorage (this tab) by default,
// in localStorage (all tabs) when the app tracks users. In opt-in mode nothing is stored until
// the site gives consent.
import { APP, OPTIN, SAMPLE, TRACK_USERS } from "./config.js";
import { now, rid, safe, win } from "./lib/guard.js";
import { nextSession } from "./lib/session.js";

let KEY;
let store;
/** Whether the site consented (always, unless the app is in opt-in mode). */
export let consent;
export let session;
const next = (s) => nextSession(s, now(), rid, SAMPLE, Math.random);

/** Read this page's session (once the options are known). */
export const openSession = () => {
  KEY = "openrum:" + APP;
  try {
    store = TRACK_USERS ? win.localStorage : win.sessionStorage;
  } catch (e) {
    // Storage is blocked (sandboxed frame, privacy settings): the session lives in this page only.
  }
  consent = !OPTIN;
  session = next(read(KEY));
};

function read(key) {
  return safe(() => JSON.parse(store.getItem(key)))();
}
const write = safe((key, value) => store.setItem(key, JSON.stringify(value)));

/** Store the session (when consent allows). */
export const save = () => consent && write(KEY, session);

/** A user action happened: the session may end, roll over to a new part, or go on. */
export const activity = () => {
  session = next(session);
  session.actions++;
  save();
};

/** End the session now: the next action starts a new one. */
export const endSession = () => {
  session = next();
  save();
};

/** Consent given (true) or withdrawn (false): withdrawing forgets what was stored. */
export const setConsent = (on) => {
  consent = on;
  if (on) save();
  // The visitor id, then the session (the inner call runs first; removeItem takes one argument).
  else safe(() => store.removeItem(KEY, store.removeItem(KEY + ":v")))();
};

/** @returns {string|undefined} the persistent visitor id, only when the app tracks users */
export const visitor = () => {
  if (TRACK_USERS && consent) {
    let v = read(KEY + ":v");
    if (!v) write(KEY + ":v", (v = rid()));
    return v;
  }
};
