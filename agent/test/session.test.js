// Session rules (src/lib/session.js): 30 min inactivity, 6 h maximum, a new part after 200
// actions, sampling decided once per session.
import { test } from "node:test";
import assert from "node:assert/strict";
import { INACTIVITY_MS, MAX_ACTIONS, MAX_MS, nextSession, sessionId } from "../src/lib/session.js";

const ids = () => {
  let n = 0;
  return () => "s" + ++n;
};
const always = () => 0; // Math.random() stand-in: 0 * 100 < any positive percentage
const never = () => 0.999;

test("a new session when there is none", () => {
  const s = nextSession(null, 1000, ids(), 100, always);
  assert.deepEqual(s, { id: "s1", part: 1, start: 1000, last: 1000, actions: 0, seq: 0, sampled: true });
  assert.equal(sessionId(s), "s1");
});

test("30 minutes without an action end the session", () => {
  const id = ids();
  const s = nextSession(null, 1000, id, 100, always);
  assert.equal(nextSession(s, 1000 + INACTIVITY_MS, id, 100, always).id, "s1");
  assert.equal(nextSession(s, 1000 + INACTIVITY_MS + 1, id, 100, always).id, "s2");
});

test("a session lasts 6 hours at most, however active", () => {
  const id = ids();
  let s = nextSession(null, 0, id, 100, always);
  for (let t = 0; t <= MAX_MS; t += INACTIVITY_MS / 2) s = nextSession(s, t, id, 100, always);
  assert.equal(s.id, "s1");
  assert.equal(nextSession(s, MAX_MS + 1, id, 100, always).id, "s2");
});

test("after 200 actions a new part of the same session begins", () => {
  const id = ids();
  const s = { ...nextSession(null, 0, id, 100, always), actions: MAX_ACTIONS, seq: 7 };
  const next = nextSession(s, 10, id, 100, always);
  assert.equal(next.id, "s1");
  assert.equal(next.part, 2);
  assert.equal(next.actions, 0);
  assert.equal(next.seq, 7, "beacon sequence numbers go on");
  assert.equal(sessionId(next), "s1.2");
  assert.equal(nextSession({ ...s, actions: MAX_ACTIONS - 1 }, 10, id, 100, always).part, 1);
});

test("sampling is decided when the session starts, and kept", () => {
  const id = ids();
  const out = nextSession(null, 0, id, 10, never);
  assert.equal(out.sampled, false);
  assert.equal(nextSession(out, 10, id, 10, always).sampled, false, "not re-drawn");
  assert.equal(nextSession(null, 0, id, 10, () => 0.05).sampled, true);
  assert.equal(nextSession(null, 0, id, 0, always).sampled, false, "0 % samples nothing");
});

test("a stored session that is damaged starts afresh", () => {
  assert.equal(nextSession({ id: "x" }, 5, ids(), 100, always).id, "s1");
  assert.equal(nextSession({ id: "x", last: "soon", start: 0 }, 5, ids(), 100, always).id, "s1");
});
