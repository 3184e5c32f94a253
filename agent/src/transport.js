// Beacons: every changed event goes out when the page is hidden (visibilitychange) and on
// pagehide, split to stay under the collector's 64 KB body and 200 events. While the page lives
// on, fetch with keepalive sends it (text/plain: no CORS preflight) and its answer is read: a 429
// or 503 makes the agent hold its events for Retry-After seconds; when the page goes away,
// navigator.sendBeacon sends it. Each falls back to the other.
import { APP, ENDPOINT, SAMPLE, beforeSend } from "./config.js";
import { nativeFetch } from "./requests.js";
import { consent, save, session, visitor } from "./session.js";
import { doc, nav, now } from "./lib/guard.js";
import { seen } from "./errors.js";
import { PAGE, dirty, url } from "./core.js";
import { env } from "./env.js";
import { sessionId } from "./lib/session.js";

export const VERSION = "1.2.0";
export const MAX_BYTES = 60000; // under the collector's 65,536, with room for the envelope
export const MAX_EVENTS = 100;

/** Send every changed event; `leaving` when the page is going away. */
export const flush = (leaving) => {
  seen.clear();
  if (!consent || !session.sampled || doc.prerendering || session.retry > now()) return;
  const events = [...dirty];
  dirty.clear();
  let chunk = [];
  let bytes = 0;
  let pg; // a beacon carries one page view's events (an earlier view's after a bfcache restore)
  for (const ev of events) {
    const n = new Blob([JSON.stringify(ev)]).size; // bytes, as the collector counts them
    if (chunk.length && (bytes + n > MAX_BYTES || chunk.length >= MAX_EVENTS || ev[PAGE] != pg)) send(chunk, leaving, pg), (chunk = []), (bytes = 0);
    chunk.push(ev);
    bytes += n;
    pg = ev[PAGE];
  }
  if (chunk.length) send(chunk, leaving, pg);
  session.last = now();
  save();
};

const send = (events, leaving, page) => {
  let beacon = {
    v: 1,
    app: APP,
    sid: sessionId(session),
    page,
    sent: now(),
    seq: ++session.seq,
    agent: VERSION,
    url: url(),
    visitor: visitor(),
    weight: 100 / SAMPLE,
    env,
    events,
  };
  if (beforeSend) beacon = beforeSend(beacon);
  if (!beacon) return;
  const body = JSON.stringify(beacon);
  const viaBeacon = () => nav.sendBeacon(ENDPOINT, body);
  const viaFetch = (keepalive) =>
    nativeFetch(ENDPOINT, { method: "POST", body, keepalive }).then((r) => {
      if (r.status == 429 || r.status == 503) {
        // Hold everything for Retry-After seconds; these events go again with the next beacon.
        session.retry = now() + 1000 * (+r.headers.get("retry-after") || 60);
        save();
        for (const ev of events) dirty.add(ev);
      }
    });
  // sendBeacon says false and keepalive fetch fails when the browser's quota of bodies in flight
  // (64 KB) is used up: while the page lives, a plain fetch sends it.
  (leaving && viaBeacon()) || viaFetch(1).catch(() => (leaving ? viaBeacon() : viaFetch()));
};
