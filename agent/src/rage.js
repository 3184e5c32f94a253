// Rage clicks (RUM.md): RAGE_CLICKS or more clicks, each within RAGE_MS and RAGE_PX of the
// latest, are one user event whose count grows while the burst goes on.
import { open, view } from "./actions.js";
import { RAGE_CLICKS, RAGE_MS, RAGE_PX } from "./config.js";
import { put, touch } from "./core.js";
import { now } from "./lib/guard.js";
import { actionName } from "./lib/naming.js";

let burst = [];
let rage;

/** A trusted click. */
export const rageClick = (e) => {
    const t = now();
    const x = e.clientX;
    const y = e.clientY;
    burst = burst.filter((c) => t - c[0] <= RAGE_MS && Math.hypot(c[1] - x, c[2] - y) <= RAGE_PX);
    burst.push([t, x, y]);
    if (burst.length == RAGE_CLICKS) {
      const a = open || view;
      rage = put("user", "rage_click", { time: t, action: a && a.id, value: actionName("click", e.target), x, y });
    }
    if (burst.length >= RAGE_CLICKS) touch(rage).count = burst.length;
};
