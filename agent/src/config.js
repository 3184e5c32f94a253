// Per-application options: data-* attributes of the snippet's <script> tag, so no extra request
// is needed (docs/agent.md lists them all), and `window.openrumConfig` for the beforeSend hook.
import { doc, nav, win } from "./lib/guard.js";

// The snippet's own tag (set while an async classic script first runs).
const script = doc.currentScript;
const data = (script && script.dataset) || {};
const num = (v, dflt) => (v ? +v : dflt);

export const APP = data.app;
/** The snippet's URL: the diagnostics module is beside it. */
export const SRC = (script && script.src) || "";
/** Percentage of sessions that load the diagnostics module. */
export const DIAG = num(data.diag, 10);
export const ENDPOINT = data.endpoint || "/api/v1/beacon";
export const RELEASE = data.release;
/** Percentage of sessions measured (decided once per session). */
export const SAMPLE = Math.min(num(data.sample, 100), 100);
/** Opt-in: nothing is stored or sent until the site calls `openrum.consent(true)`. */
export const OPTIN = data.optin == "1";
/** Do Not Track / Global Privacy Control: `off` (send nothing), `ignore`, or anonymous (default). */
export const DNT = data.dnt;
/** Do Not Track or Global Privacy Control, unless `ignore`d: measured anonymously (or not at all). */
export const PRIVATE = (nav.doNotTrack == "1" || nav.globalPrivacyControl) && DNT != "ignore";
export const KEEP_QUERY = data.query == "1";
/** Fragments that are routes (kept, and their changes route changes): every one with
 * `data-hash="1"`, none with `"0"`, else those of hash routers (`#/…`, `#!/…`). */
export const HASH_ROUTES = data.hash == "1" ? /#/ : data.hash != "0" && /^#!?\//;
/** A persistent visitor id in localStorage (off by default; never for an anonymous browser). */
export const TRACK_USERS = data.trackUsers == "1" && !PRIVATE;
export const RAGE_CLICKS = num(data.rageClicks, 3);
export const RAGE_MS = num(data.rageMs, 1000);
export const RAGE_PX = num(data.ragePx, 30);
/** Distinct errors per beacon; repeats of one are folded into its count. */
export const MAX_ERRORS = num(data.maxErrors, 10);
export const beforeSend = (win.openrumConfig || {}).beforeSend;
