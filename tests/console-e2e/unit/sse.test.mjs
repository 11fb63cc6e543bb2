// Following an operation's SSE stream (src/console/assets/sse.js): frames are parsed, and a
// dropped connection resumes with Last-Event-ID from the last event handed on, so nothing is
// shown twice or lost — against a fake fetch that records what the page asked for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { follow, parseFrames } from '../../../src/console/assets/sse.js';

const frame = (seq, kind = 'resourcePreEvent') => `id: ${seq}\nevent: ${kind}\ndata: {"seq":${seq}}\n\n`;

/** A response whose body yields `chunks`, then ends (or fails, when `fail` is set). */
function response(chunks, { status = 200, fail = false } = {}) {
  const encoder = new TextEncoder();
  const queue = [...chunks];
  // One chunk per read; erroring only once they were read (error() drops queued chunks).
  const body = new ReadableStream({
    pull(controller) {
      if (queue.length) controller.enqueue(encoder.encode(queue.shift()));
      else if (fail) controller.error(new Error('connection reset'));
      else controller.close();
    },
  });
  return { status, ok: status < 300, body, json: async () => ({ detail: 'nope' }) };
}

test('frames split across reads are parsed once complete', () => {
  const [frames, rest] = parseFrames(`${frame(1)}id: 2\nevent: summaryEvent\ndata: {"a":`);
  assert.deepEqual(frames, [{ id: '1', event: 'resourcePreEvent', data: '{"seq":1}' }]);
  assert.equal(rest, 'id: 2\nevent: summaryEvent\ndata: {"a":');
  const [more] = parseFrames(`${rest}1}\r\n\r\n: keep-alive\n\n`);
  assert.deepEqual(more, [{ id: '2', event: 'summaryEvent', data: '{"a":1}' }]);
});

test('a dropped connection resumes after the last event, and repeats are dropped', async () => {
  const asked = [];
  const answers = [
    response([frame(1), frame(2), frame(3).slice(0, 10)], { fail: true }),
    // The server resumes after Last-Event-ID; a proxy replaying one event is not shown twice.
    response([frame(2), frame(3), frame(4, 'summaryEvent'), 'event: end\ndata: {"status":"succeeded"}\n\n']),
  ];
  const seen = [];
  const states = [];
  const handle = follow('/events', {
    fetchFn: async (url, init) => { asked.push(init.headers['Last-Event-ID'] ?? null); return answers.shift(); },
    onEvent: (e) => seen.push(e.seq),
    onState: (s) => states.push(s),
    retryMs: [1],
  });
  const end = await handle.done;
  assert.deepEqual(end, { status: 'succeeded' });
  assert.deepEqual(seen, [1, 2, 3, 4]);
  assert.deepEqual(asked, [null, '2']);
  assert.deepEqual(states, ['live', 'reconnecting', 'live', 'ended']);
});

test('a refused stream (signed out, unknown operation) is final, not retried', async () => {
  let calls = 0;
  const handle = follow('/events', {
    fetchFn: async () => { calls += 1; return response([], { status: 401 }); },
    onEvent: () => {},
    retryMs: [1],
  });
  await assert.rejects(handle.done, (e) => e.status === 401);
  assert.equal(calls, 1);
});
