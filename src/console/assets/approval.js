// Plans and approvals in words: what a change in a plan does, and why the API refused a
// decision (its problem type, e.g. `/problems/plan-expired`, said as a sentence). Pure
// functions: tests/console-e2e/unit/approval.test.mjs.

const REFUSALS = {
  'plan-expired': 'The plan expired before it was approved. The deploy is cancelled and nothing ran; deploy again for a fresh plan.',
  'config-changed': 'A newer config version was saved after this plan was made. The deploy is cancelled and nothing ran; deploy again to review the new config.',
  'stack-changed': 'The stack changed (another update, destroy, refresh or forget) after this plan was made. The deploy is cancelled and nothing ran; deploy again for a fresh plan.',
  'not-awaiting-approval': 'This deploy no longer waits for approval: someone decided on it already, or it was cancelled.',
  'self-approval': 'You asked for this deploy, and this server requires someone else to approve or reject it.',
};

/** The problem's slug (`/problems/plan-expired` → `plan-expired`). */
export function problemSlug(problem) {
  return String(problem?.type || '').replace(/^\/problems\//, '');
}

/** A refused approve/reject in words, or null when the problem is not one of those. */
export function refusalWords(problem) {
  return REFUSALS[problemSlug(problem)] || null;
}

const VERBS = {
  create: 'create',
  update: 'update',
  delete: 'delete',
  replace: 'replace',
  'create-replacement': 'create replacement',
  'delete-replaced': 'delete replaced',
  import: 'import',
  same: 'no change',
  read: 'read',
  refresh: 'refresh',
  discard: 'discard',
  'discard-replaced': 'discard replaced',
};

/** A change's op in words (an open set: unknown ops are shown as sent). */
export function changeVerb(op) {
  return VERBS[op] || String(op || 'change');
}

/** Whether a change removes or recreates a resource (the ops src/domain/approval.rs calls destructive). */
export function destructive(op) {
  return ['delete', 'replace', 'create-replacement', 'delete-replaced', 'discard', 'discard-replaced'].includes(op);
}

/** `{create: 2, update: 1}` → `2 to create, 1 to update`. */
export function changeCounts(changes) {
  const counts = new Map();
  for (const c of changes || []) counts.set(c.op, (counts.get(c.op) || 0) + 1);
  return [...counts].map(([op, n]) => `${n} to ${changeVerb(op)}`).join(', ') || 'no changes';
}
