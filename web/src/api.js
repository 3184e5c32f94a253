// The public API (docs/api.md): the dashboard reads nothing else.
import { NULL_VALUE, timeWindow } from "./state.js";

let csrf = "";
export function setCsrf(token) { csrf = token || ""; }
// Told the sampling rate of every query answer (meta.sampling, meta.estimate): the header says
// when figures are estimates of the full traffic.
let onMeta = () => {};
export function setMetaListener(fn) { onMeta = fn; }

export class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

export async function api(path, { method = "GET", body } = {}) {
  const res = await fetch(path, {
    method,
    headers: body !== undefined ? { "content-type": "application/json", "x-csrf-token": csrf } : { "x-csrf-token": csrf },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
  });
  if (res.status === 401) {
    location.href = "/login?next=" + encodeURIComponent("/" + location.hash);
    throw new ApiError("signed out", 401);
  }
  let data = null;
  try { data = await res.json(); } catch { /* an empty or non-JSON answer */ }
  if (!res.ok) throw new ApiError((data && data.error) || `${res.status} ${res.statusText}`, res.status);
  return data;
}

export function apiFilters(filters) {
  return filters.map(([d, op, v]) => [d, op, v === NULL_VALUE ? null : v]);
}

// POST /api/v1/query over the view's window, filters and user type (real users unless the view
// includes synthetic traffic); `extra` may add filters or override the window.
export function query(state, body, { filters = [], window } = {}) {
  const { from, to } = window || timeWindow(state);
  return api("/api/v1/query", {
    method: "POST",
    body: { app: state.app, from: from.toISOString(), to: to.toISOString(),
            filters: apiFilters([...state.filters, ...filters]), user_type: state.users || "real", ...body },
  }).then((r) => { onMeta(r.meta); return r.rows; });
}

// GET one of the dashboard's endpoints (errors, actions, distribution, sessions) for the view.
export function get(path, state, params = {}, { filters = [], dims, window } = {}) {
  const { from, to } = window || timeWindow(state);
  let fs = [...state.filters, ...filters];
  if (dims) fs = fs.filter(([d]) => dims.includes(d));
  const q = new URLSearchParams({ app: state.app, from: from.toISOString(), to: to.toISOString(),
                                  filters: JSON.stringify(apiFilters(fs)), user_type: state.users || "real", ...params });
  return api(`${path}?${q}`);
}
