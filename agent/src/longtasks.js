// Long tasks (over 50 ms on the main thread): count and total time, on the action that was
// running (or the current view). https://w3c.github.io/longtasks/
import { open, view } from "./actions.js";
import { touch } from "./core.js";
import { observe } from "./lib/observe.js";

export const watchLongTasks = () =>
  observe("longtask", (entries) => {
    const a = open || view;
    for (const e of entries) {
      a.long_tasks = (a.long_tasks || 0) + 1;
      a.long_task_ms = Math.round((a.long_task_ms || 0) + e.duration);
    }
    touch(a);
  });
