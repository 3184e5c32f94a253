// Boomerang with the plugins that cover what OpenRUM measures: round trip and navigation
// timing, paint and event timing, continuity (long tasks, interactions, rage clicks), XHR and
// SPA routes, errors, bfcache.
import "boomerangjs/boomerang.js";
import "boomerangjs/plugins/rt.js";
import "boomerangjs/plugins/navtiming.js";
import "boomerangjs/plugins/painttiming.js";
import "boomerangjs/plugins/eventtiming.js";
import "boomerangjs/plugins/continuity.js";
import "boomerangjs/plugins/auto-xhr.js";
import "boomerangjs/plugins/spa.js";
import "boomerangjs/plugins/history.js";
import "boomerangjs/plugins/errors.js";
import "boomerangjs/plugins/bfcache.js";
import "boomerangjs/plugins/memory.js";
import "boomerangjs/plugins/mobile.js";

window.BOOMR.init({ beacon_url: window.BENCH.origin + "/beacon", autorun: true, instrument_xhr: true, History: { enabled: true, auto: true } });
