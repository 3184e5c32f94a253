// What a page renders with: the state, the application, and helpers bound to this render.
import { panel } from "./dom.js";

export function makeView(ctx, state) {
  const gen = ctx.gen;
  const view = {
    state,
    apps: ctx.apps,
    me: ctx.me,
    app: ctx.apps.find((a) => a.id === state.app),
    stale: () => gen !== ctx.gen,
    // Refreshers called every few seconds while the page is shown (near real time).
    live: (fn) => ctx.live.push(fn),
    rerender: () => ctx.render(),
    reloadApps: () => ctx.reloadApps(),
    // A panel whose loader runs now (and again on each live tick when `live` is set).
    panel(parent, title, loader, opts = {}) {
      const p = panel(parent, title, opts);
      const guarded = Object.create(p);
      guarded.fill = (...nodes) => { if (!view.stale()) p.fill(...nodes); };
      guarded.fail = (err) => { if (!view.stale()) p.fail(err); };
      guarded.stale = view.stale;
      const run = async () => {
        try { await loader(guarded); } catch (e) { guarded.fail(e); }
      };
      run();
      if (opts.live) view.live(() => (view.stale() ? null : run()));
      return p;
    },
  };
  return view;
}
