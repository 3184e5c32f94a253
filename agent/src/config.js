// Per-application options: the data-* attributes of the snippet's <script> tag (so no extra
// request is needed), or the options of `init` for apps that bundle the agent (docs/agent.md
// lists them all), and `window.openrumConfig` for the beforeSend hook.
import { env } from "./env.js";
import { nav, win } from "./lib/guard.js";

export let APP;
export let ENDPOINT;
/** The snippet's URL: the diagnostics module is beside it (none for a bundled agent). */
export let SRC;
/** Percentage of sessions that load the diagnostics module. */
export let DIAG;
/** Percentage of sessions measured (decided once per session). */
export let SAMPLE;
/** Opt-in: nothing is stored or sent until the site calls `openrum.consent(true)`. */
export let OPTIN;
/** Do Not Track / Global Privacy Control: `off` (send nothing), `ignore`, or anonymous (default). */
export let DNT;
/** Do Not Track or Global Privacy Control, unless `ignore`d: measured anonymously (or not at all). */
export let PRIVATE;
export let KEEP_QUERY;
/** Fragments that are routes (kept, and their changes route changes): every one with
 * `data-hash="1"`, none with `"0"`, else those of hash routers (`#/…`, `#!/…`). */
export let HASH_ROUTES;
/** A persistent visitor id in localStorage (off by default; never for an anonymous browser). */
export let TRACK_USERS;
export let RAGE_CLICKS;
export let RAGE_MS;
export let RAGE_PX;
/** Distinct errors per beacon; repeats of one are folded into its count. */
export let MAX_ERRORS;
/** The origins whose requests get a W3C traceparent header: the page's own, and those allowed. */
export let TRACE;
export let beforeSend;

/**
 * Read the options `o`: a tag's dataset (strings) or init's object (numbers and booleans work
 * too: `true == "1"`, `false == "0"`).
 */
export const configure = (o) => {
  // A number; 0 from init is one, as "0" from an attribute is.
  const num = (v, dflt) => (v === 0 || v ? +v : dflt);
  APP = o.app;
  ENDPOINT = o.endpoint || "/api/v1/beacon";
  SRC = o.src;
  DIAG = num(o.diag, 10);
  env.release = o.release; // sent with every beacon
  SAMPLE = Math.min(num(o.sample, 100), 100);
  OPTIN = o.optin == "1";
  DNT = o.dnt;
  PRIVATE = (nav.doNotTrack == "1" || nav.globalPrivacyControl) && DNT != "ignore";
  KEEP_QUERY = o.query == "1";
  HASH_ROUTES = o.hash == "1" ? /#/ : o.hash != "0" && /^#!?\//;
  TRACK_USERS = o.trackUsers == "1" && !PRIVATE;
  RAGE_CLICKS = num(o.rageClicks, 3);
  RAGE_MS = num(o.rageMs, 1000);
  RAGE_PX = num(o.ragePx, 30);
  MAX_ERRORS = num(o.maxErrors, 10);
  // The page's own origin, and those of the option: space-separated in an attribute, a list (its
  // commas) in init's options.
  TRACE = (location.origin + " " + o.trace).split(/[ ,]/);
  beforeSend = o.beforeSend || (win.openrumConfig || {}).beforeSend;
};
