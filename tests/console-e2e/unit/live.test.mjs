// The console's reading of engine events (src/console/assets/live.js), on events shaped like
// the CLI's event log (the recorded logs under the pulumi fixtures have this shape).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Progress, stripColor, summaryText } from '../../../src/console/assets/live.js';

const urn = (name, type = 'aws:ec2/vpc:Vpc') => `urn:pulumi:acme-prod::byoc-platform::${type}::${name}`;
const ev = (kind, body, timestamp) => ({ sequence: 0, timestamp, [kind]: body });
const meta = (op, name) => ({ metadata: { op, urn: urn(name), type: 'aws:ec2/vpc:Vpc' } });

test('a step is one line with its duration, and counts towards the plan', () => {
  const p = new Progress(3);
  assert.deepEqual(p.on('resourcePreEvent', ev('resourcePreEvent', meta('create', 'vpc'), 100)), [{ type: 'activity', text: 'create vpc' }]);
  assert.deepEqual(p.position(), { done: 0, total: 3 });
  const [line] = p.on('resOutputsEvent', ev('resOutputsEvent', meta('create', 'vpc'), 107));
  assert.deepEqual(line, { type: 'step', op: 'create', name: 'vpc', resourceType: 'aws:ec2/vpc:Vpc', seconds: 7, planned: false });
  assert.deepEqual(p.position(), { done: 1, total: 3 });
});

test('unchanged steps count but print nothing; the total grows past the estimate', () => {
  const p = new Progress(1);
  for (const name of ['a', 'b']) p.on('resourcePreEvent', ev('resourcePreEvent', meta('same', name), 1));
  assert.deepEqual(p.on('resOutputsEvent', ev('resOutputsEvent', meta('same', 'a'), 1)), []);
  assert.deepEqual(p.position(), { done: 1, total: 2 });
});

test('a failed step, diagnostics without colour codes, and the summary closing the bar', () => {
  const p = new Progress(5);
  p.on('resourcePreEvent', ev('resourcePreEvent', meta('delete', 'resB'), 10));
  const [failed] = p.on('resOpFailedEvent', ev('resOpFailedEvent', { ...meta('delete', 'resB'), status: 2, steps: 0 }, 12));
  assert.equal(failed.failed, true);
  assert.equal(failed.seconds, 2);
  const [diag] = p.on('diagnosticEvent', ev('diagnosticEvent', {
    urn: urn('resB'), prefix: '<{%fg 1%}>error: <{%reset%}>', message: "<{%reset%}>can't delete<{%reset%}>\n", color: 'raw', severity: 'error',
  }, 12));
  assert.deepEqual(diag, { type: 'diagnostic', severity: 'error', resource: 'resB', message: "can't delete" });
  assert.deepEqual(p.on('diagnosticEvent', ev('diagnosticEvent', { message: 'x', severity: 'debug' }, 12)), []);
  const [summary] = p.on('summaryEvent', ev('summaryEvent', { durationSeconds: 3, resourceChanges: { same: 4, create: 2, delete: 0 }, isPreview: false, result: 'failed' }, 13));
  assert.equal(summaryText(summary), '2 created, 4 unchanged');
  assert.deepEqual(p.position(), { done: 1, total: 1 }, 'after the summary the bar is exactly what was done');
});

test('a retry starts a new run; byoc events become messages', () => {
  const p = new Progress(2);
  p.on('resourcePreEvent', ev('resourcePreEvent', meta('create', 'a'), 1));
  p.on('resOutputsEvent', ev('resOutputsEvent', meta('create', 'a'), 2));
  const [retry] = p.on('byoc.retry', { 'byoc.retry': { message: 'the stack was locked; running again', attempt: 2 } });
  assert.deepEqual(retry, { type: 'message', text: 'byoc: the stack was locked; running again (attempt 2)' });
  p.on('preludeEvent', ev('preludeEvent', { config: {} }, 3));
  assert.deepEqual(p.position(), { done: 0, total: 2 });
});

test('previews say what they would do', () => {
  const p = new Progress();
  const [s] = p.on('summaryEvent', ev('summaryEvent', { durationSeconds: 1, resourceChanges: { create: 3, same: 1 }, isPreview: true }, 1));
  assert.equal(summaryText(s), '3 to create, 1 unchanged');
  assert.equal(stripColor('<{%bold%}>x<{%reset%}>'), 'x');
});
