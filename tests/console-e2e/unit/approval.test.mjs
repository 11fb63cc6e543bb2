// Plans, approvals and labels in words (src/console/assets/approval.js, labels.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeCounts, changeVerb, destructive, problemSlug, refusalWords } from '../../../src/console/assets/approval.js';
import { formatLabels, parseLabels } from '../../../src/console/assets/labels.js';

test('each 409 of an approval is said in words, naming what to do next', () => {
  // The slugs src/api/operations/approve.rs (stale_conflict) and src/api/error.rs answer.
  for (const [slug, words] of [
    ['plan-expired', /expired/],
    ['config-changed', /newer config version/],
    ['stack-changed', /stack changed/],
    ['not-awaiting-approval', /no longer waits/],
    ['self-approval', /someone else/],
  ]) {
    const text = refusalWords({ status: 409, type: `/problems/${slug}`, detail: 'x' });
    assert.match(text, words, slug);
  }
  assert.match(refusalWords({ type: '/problems/plan-expired' }), /nothing ran/);
  assert.equal(refusalWords({ type: '/problems/forbidden' }), null, 'other problems are shown as sent');
  assert.equal(refusalWords(null), null);
  assert.equal(problemSlug({ type: '/problems/config-changed' }), 'config-changed');
});

test('a plan\'s changes are counted per op, destructive ops marked', () => {
  const changes = [{ op: 'create' }, { op: 'update' }, { op: 'create' }, { op: 'replace' }];
  assert.equal(changeCounts(changes), '2 to create, 1 to update, 1 to replace');
  assert.equal(changeCounts([]), 'no changes');
  assert.equal(changeVerb('delete-replaced'), 'delete replaced');
  assert.equal(changeVerb('some-future-op'), 'some-future-op', 'an open set: shown as sent');
  assert.ok(destructive('replace') && destructive('delete') && !destructive('update') && !destructive('create'));
});

test('labels are edited as key=value lines and read back the same', () => {
  const labels = { tier: 'gold', ring: 'canary', 'example.com/team': '' };
  const text = formatLabels(labels);
  assert.equal(text, 'example.com/team=\nring=canary\ntier=gold');
  assert.deepEqual(parseLabels(text), { labels, errors: [] });
  assert.deepEqual(parseLabels(' ring = canary , tier=gold\n\n'), { labels: { ring: 'canary', tier: 'gold' }, errors: [] });
  assert.deepEqual(parseLabels(''), { labels: {}, errors: [] }, 'an empty box removes every label');
});

test('a line without = or a key given twice is refused before anything is sent', () => {
  assert.deepEqual(parseLabels('ring').errors, ['"ring": write key=value']);
  assert.deepEqual(parseLabels('=x').errors, ['"=x": write key=value']);
  assert.deepEqual(parseLabels('a=1\na=2').errors, ['"a" is given twice']);
});
