// The events of this page view and the ones waiting to be sent. An event is put once and
// touched whenever it changes; the next beacon carries every touched event, and a re-sent action
// (same id, higher beacon `seq`) replaces the stored one.
import { HASH_ROUTES, KEEP_QUERY } from "./config.js";
import { rid } from "./lib/guard.js";
import { stripUrl } from "./lib/url.js";

/** Events to send with the next beacon. */
export const dirty = new Set();
/** The page view id (a new one after a back/forward cache restore). */
export let page;
export const newPage = () => (page = rid());
let ids = 0;

/** @returns {string} the page's URL as it may be sent */
export const url = () => stripUrl(location.href, KEEP_QUERY, HASH_ROUTES);

/** Mark `ev` as changed: it goes out with the next beacon. */
export const touch = (ev) => dirty.add(ev) && ev;

// The page view an event was made in (a symbol key: not sent). An event changed after a
// back/forward cache restore goes out under its own page view, so it replaces its stored row.
export const PAGE = Symbol();

/** @returns {object} a new event of `kind` and `type` with a page-unique id */
export const put = (kind, type, fields) => touch({ kind, id: kind[0] + ++ids, type, url: url(), ...fields, [PAGE]: page });

/**
 * Set the Web Vital `name` of action `a`. The instance id is stable for (page view, action,
 * metric), so a later report of the same instance replaces the earlier one. Negative values are
 * discarded (RUM.md).
 */
export const vital = (a, name, value, target, phase) => {
  if (a && value >= 0) {
    a.vitals[name] = { id: a[PAGE] + a.id + name, value, target, phase };
    touch(a);
  }
};
