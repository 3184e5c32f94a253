// Names of the query API's catalogue (docs/api.md) and how the dashboard labels them.

export const DIM_LABELS = {
  page: "Page", device: "Device", browser: "Browser", browser_version: "Browser version", os: "OS",
  os_version: "OS version", country: "Country", region: "Region", city: "City", connection: "Connection",
  release: "Release", action_type: "Action type", action_name: "Action", apdex_class: "Apdex class",
  user_type: "User type", error_type: "Error type", session_id: "Session", fingerprint: "Error group",
  ux_score: "UX score", user_tag: "User tag", entry_page: "Entry page", exit_page: "Exit page",
  trigger: "Trigger",
};
// Dimensions a person filters by (the filter bar's choices).
export const FILTER_DIMS = ["page", "device", "browser", "browser_version", "os", "os_version", "country",
  "region", "city", "connection", "release", "action_type", "action_name", "trigger", "apdex_class", "user_type"];
// Dimensions the errors table has (filters on the others do not apply to errors).
export const ERROR_DIMS = ["page", "browser", "browser_version", "os", "os_version", "device", "user_type",
  "country", "region", "city", "connection", "release", "session_id", "error_type", "fingerprint"];
// Compare page: a breakdown is one dimension or a pair (browser and version, country → region…).
export const BREAKDOWNS = [
  ["page", ["page"], "Page"], ["device", ["device"], "Device"], ["browser", ["browser"], "Browser"],
  ["browser_version", ["browser", "browser_version"], "Browser and version"], ["os", ["os"], "OS"],
  ["os_version", ["os", "os_version"], "OS and version"], ["country", ["country"], "Country"],
  ["region", ["country", "region"], "Country › region"], ["city", ["country", "region", "city"], "Country › region › city"],
  ["connection", ["connection"], "Connection type"], ["release", ["release"], "Release"],
  ["action_type", ["action_type"], "Action type"],
];
export const MEASURES = [
  ["duration", "Action duration", "ms"], ["lcp", "Largest Contentful Paint", "ms"], ["inp", "Interaction to Next Paint", "ms"],
  ["cls", "Cumulative Layout Shift", ""], ["fcp", "First Contentful Paint", "ms"], ["ttfb", "Time to First Byte", "ms"],
  ["load_event_end", "Load event end", "ms"], ["dom_interactive", "DOM interactive", "ms"],
  ["server_time", "Server time", "ms"], ["network_time", "Network time", "ms"], ["frontend_time", "Frontend time", "ms"],
];
export const STATS = [["p50", "Median"], ["avg", "Average"], ["p75", "p75"], ["p90", "p90"], ["p95", "p95"], ["p99", "p99"]];
export const VITALS = [
  ["lcp", "Largest Contentful Paint", "LCP"], ["inp", "Interaction to Next Paint", "INP"],
  ["cls", "Cumulative Layout Shift", "CLS"], ["fcp", "First Contentful Paint", "FCP"], ["ttfb", "Time to First Byte", "TTFB"],
];
// Google's thresholds (good ≤, poor >), as the collector rates them (RUM.md "Web Vitals").
export const THRESHOLDS = { lcp: [2500, 4000], inp: [200, 500], cls: [0.1, 0.25], fcp: [1800, 3000], ttfb: [800, 1800] };
export const NAV_PHASES = [
  ["redirect", "Redirect"], ["dns", "DNS lookup"], ["tcp", "TCP connect"], ["tls", "TLS handshake"],
  ["request", "Request (TTFB)"], ["response", "Response"], ["dom_processing", "DOM processing"],
];

export const measureLabel = (m) => (MEASURES.find(([k]) => k === m) || [m, m])[1];
export const statLabel = (s) => (STATS.find(([k]) => k === s) || [s, s])[1];
export const dimLabel = (d) => DIM_LABELS[d] || d;
