import assert from "node:assert/strict";
import { CameraSessions, MAX_WAIT_FRAMES } from "../../src/pipeline/sessions.ts";
import type { TrackedDetection } from "../../src/pipeline/types.ts";

const opts = {
  mode: "bytetrack" as const,
  cooldownMs: 1000,
  sessionsEnabled: true,
  highThresh: 0.5,
  lowThresh: 0.1,
};

function car(x: number, trackId?: number): TrackedDetection {
  return { class: "Car", classId: 0, confidence: 0.9, box: [x, 100, x + 200, 220], trackId };
}

/** Runs the tracker on one car box and asks for a decision, as the runner does. */
function step(s: CameraSessions, x: number | null, at: number, ready = true, whole = true) {
  const dets = x === null ? [] : [car(x)];
  const ids = s.tracker!.update(dets);
  const anchor = x === null ? null : car(x, ids[0]);
  return s.decide(anchor, at, ready, whole);
}

Deno.test("one session per vehicle, created on its first complete frame", () => {
  const s = new CameraSessions(opts);
  const a = step(s, 0, 0, false);
  assert.deepEqual(a, { fire: false, sessionId: null });
  const b = step(s, 20, 40, true);
  assert.equal(b.fire, true);
  assert.ok(b.sessionId);
  for (let i = 2; i < 10; i++) {
    const d = step(s, i * 20, i * 40);
    assert.deepEqual(d, { fire: false, sessionId: b.sessionId });
  }
  assert.equal(s.sessions, 1);
});

Deno.test("a vehicle cut by the border waits for a whole frame, but not forever", () => {
  const s = new CameraSessions(opts);
  assert.equal(step(s, 0, 0, true, false).fire, false);
  assert.equal(step(s, 20, 40, true, false).fire, false);
  assert.equal(step(s, 40, 80, true, true).fire, true, "fires once whole");
  const t = new CameraSessions(opts);
  let fired = -1;
  for (let i = 0; i < 10 && fired < 0; i++) {
    if (step(t, i * 10, i * 40, true, false).fire) fired = i;
  }
  assert.equal(fired, MAX_WAIT_FRAMES, "fires after MAX_WAIT_FRAMES cut frames");
});

Deno.test("a lost vehicle re-found near where it was lost keeps its session within the cooldown", () => {
  const s = new CameraSessions({ ...opts, trackBuffer: 2 });
  step(s, 0, 0);
  const first = step(s, 10, 40);
  assert.ok(first.sessionId);
  for (let i = 0; i < 5; i++) step(s, null, 80 + i * 40); // track removed after the buffer
  const back1 = step(s, 30, 400);
  const back = step(s, 40, 440);
  assert.equal(back1.fire || back.fire, false);
  assert.equal(back.sessionId, first.sessionId);
  assert.equal(s.sessions, 1);
});

Deno.test("after the cooldown, or far away, it is a new vehicle", () => {
  const s = new CameraSessions({ ...opts, trackBuffer: 2, cooldownMs: 100 });
  step(s, 0, 0);
  const first = step(s, 10, 40);
  for (let i = 0; i < 5; i++) step(s, null, 80 + i * 40);
  step(s, 20, 1000);
  const later = step(s, 30, 1040);
  assert.equal(later.fire, true);
  assert.notEqual(later.sessionId, first.sessionId);
  const f = new CameraSessions({ ...opts, trackBuffer: 2 });
  step(f, 0, 0);
  const a = step(f, 10, 40);
  for (let i = 0; i < 5; i++) step(f, null, 80 + i * 40);
  step(f, 1200, 300);
  const far = step(f, 1190, 340);
  assert.equal(far.fire, true);
  assert.notEqual(far.sessionId, a.sessionId);
});

Deno.test("sessions off: events still fire once per vehicle, without ids", () => {
  const s = new CameraSessions({ ...opts, sessionsEnabled: false });
  assert.deepEqual(step(s, 0, 0), { fire: true, sessionId: null });
  assert.equal(step(s, 10, 40).fire, false);
  assert.equal(step(s, 20, 80).fire, false);
  assert.equal(s.sessions, 1);
});
