// Cookie-less sessions (RUM.md): a session ends after 30 min without activity or 6 h in all; after
// 200 actions a new part begins. State lives in sessionStorage of this tab only.

export const INACTIVITY_MS = 30 * 60 * 1000;
export const MAX_MS = 6 * 60 * 60 * 1000;
export const MAX_ACTIONS = 200;

/**
 * The session to use at `now`, given the stored one (or null).
 * @returns {{id: string, start: number, last: number, actions: number, seq: number}}
 */
export function nextSession(stored, now, newId) {
  if (
    !stored ||
    now - stored.last > INACTIVITY_MS ||
    now - stored.start > MAX_MS ||
    stored.actions >= MAX_ACTIONS
  ) {
    return { id: newId(), start: now, last: now, actions: 0, seq: 0 };
  }
  return { ...stored, last: now };
}
