// Cookie-less sessions (RUM.md, Dynatrace web rules): a session ends after 30 min without a
// user action or 6 h in all; after 200 actions a new part of the same session begins. Whether
// a session is sampled is decided once, when it starts.

export const INACTIVITY_MS = 30 * 60 * 1000;
export const MAX_MS = 6 * 60 * 60 * 1000;
export const MAX_ACTIONS = 200;

/**
 * The session to use at `now`, given the stored one (or null): the same one (touched), its
 * next part, or a new one sampled with probability `sample` %.
 * @returns {{id: string, part: number, start: number, last: number, actions: number, seq: number, sampled: boolean}}
 */
export function nextSession(stored, now, newId, sample, random) {
  if (!stored || !(now - stored.last <= INACTIVITY_MS) || !(now - stored.start <= MAX_MS)) {
    return { id: newId(), part: 1, start: now, last: now, actions: 0, seq: 0, sampled: random() * 100 < sample };
  }
  const s = { ...stored, last: now };
  if (s.actions >= MAX_ACTIONS) (s.part = (s.part || 1) + 1), (s.actions = 0);
  return s;
}

/** @returns {string} the session id a beacon carries: `id`, or `id.part` from the second part on */
export const sessionId = (s) => (s.part > 1 ? s.id + "." + s.part : s.id);
