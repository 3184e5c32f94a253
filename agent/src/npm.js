// The agent as a package, for apps that bundle their code (docs/agent.md, "npm"): the same
// measurements and beacons as the snippet, started by `init(options)`. Importing it does no
// work: no listener, no storage, no request until init runs.
import { begin, end } from "./actions.js";
import { api, fn } from "./api.js";
import { now } from "./lib/guard.js";

export { init } from "./agent.js";
export const { startAction, endAction, reportError, identify, setProperty, endSession, consent, flush } = api;

/** A custom action that ends now, after `duration` ms (0: a moment). */
export const addAction = /* @__PURE__ */ fn((name, duration) => {
  const t = now();
  end(begin("custom", String(name).slice(0, 200), t - (duration > 0 ? duration : 0)), t);
});
