// The agent never throws into the host page: every callback it installs goes through `safe`,
// which swallows whatever goes wrong inside (docs/agent.md, "never breaks the page").

/** @returns {Function} `fn`, called with the same `this` and arguments, that never throws */
export const safe = (fn) =>
  function () {
    try {
      return fn.apply(this, arguments);
    } catch (e) {
      // A failure inside the agent stays inside the agent.
    }
  };

// Short aliases of globals: the minifier renames module-level names, not globals. Read from
// globalThis: importing the package where there is no window (server-side rendering) is no error.
export const win = globalThis;
export const doc = win.document;
export const perf = win.performance;
export const nav = win.navigator;

/** Listen for `type` on `target` (window by default), capturing, through `safe`. */
export const on = (type, fn, target = win, opts = true) => target.addEventListener(type, safe(fn), opts);

/** @returns {number} the client clock, epoch ms */
export const now = () => Date.now();

/** @returns {number} a performance timestamp (ms since the time origin) as epoch ms */
export const epoch = (t) => Math.round(perf.timeOrigin + t);

/** @returns {string} a random id, unique enough for sessions, page views and visitors */
export const rid = () => Math.random().toString(36).slice(2) + now().toString(36);
