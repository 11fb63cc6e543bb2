// One operation, live: its engine events over SSE folded into a log (one line per completed
// resource step with its duration, diagnostics highlighted, the summary), a progress bar of
// resources done out of the plan's total, and a cancel button. A dropped connection resumes
// from the last event shown (sse.js). A deploy run under an approval policy shows its saved
// plan (the change list, paths only), who asked, when the plan expires and the decision; while
// it awaits approval, operators and admins approve or reject it (with an optional reason) here.

import { get, post, routes } from './api.js';
import { actionButton, announce, badge, duration, facts, h, mount, paths, problemBox, section, time } from './dom.js';
import { changeCounts, changeVerb, destructive, refusalWords } from './approval.js';
import { Progress, pastTense, summaryText } from './live.js';
import { planSize, resourcesAfter } from './program.js';
import { follow } from './sse.js';

const SYMBOLS = { create: '+', update: '~', delete: '-', replace: '+-', 'create-replacement': '++', 'delete-replaced': '--', import: '=' };

export async function render(ctx) {
  const [id] = ctx.params;
  let op = await get(routes.operation(id));
  const env = await findEnvironment(op.stack_name);
  const progress = new Progress(await estimate(op, env));

  const statusCell = h('dd', {}, badge(op.status));
  const finishedCell = h('dd', {}, time(op.finished_at));
  const bar = h('progress', { id: 'op-progress', max: 1, value: 0 });
  const count = h('span', { id: 'op-count' });
  const activity = h('p', { class: 'activity muted', id: 'op-activity' });
  const connection = h('span', { class: 'connection muted', id: 'op-connection' }, 'connecting…');
  const log = h('ol', { class: 'log', id: 'op-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Operation log' });
  const errorBox = h('div');
  const actions = h('div', { class: 'actions' });
  const approval = h('div', { id: 'op-approval' });
  // Kept across redraws: a refusal stays in view after the status it caused is drawn.
  const approvalFeedback = h('div', { id: 'approval-feedback', 'aria-live': 'polite' });
  let plan = op.kind === 'update' ? await loadPlan(op.id) : null;

  const crumbs = env
    ? [h('a', { href: paths.fleet() }, 'Fleet'), ' / ', h('a', { href: paths.tenant(env.tenant_slug) }, env.tenant_slug), ' / ', h('a', { href: paths.environment(env.tenant_slug, env.environment) }, env.environment), ' / operation']
    : [h('a', { href: paths.fleet() }, 'Fleet'), ' / operation'];
  mount(ctx.main,
    h('p', { class: 'crumbs' }, crumbs),
    h('h1', {}, `${op.kind} of ${op.stack_name}`),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Status'), statusCell,
      h('dt', {}, 'Requested by'), h('dd', {}, op.requested_by || '—'),
      h('dt', {}, 'Config version'), h('dd', {}, op.config_version ? `v${op.config_version}` : '—'),
      h('dt', {}, 'Queued'), h('dd', {}, time(op.created_at)),
      h('dt', {}, 'Finished'), finishedCell,
      h('dt', {}, 'Operation id'), h('dd', {}, h('code', {}, op.id))),
    actions,
    approval,
    h('div', { class: 'progress-row' },
      h('label', { for: 'op-progress' }, 'Resources'), bar, count, connection),
    activity,
    errorBox,
    h('h2', {}, 'Log'),
    log);

  const drawProgress = () => {
    const { done, total } = progress.position();
    bar.max = Math.max(total, 1);
    bar.value = done;
    count.textContent = total ? `${done} of ${total}` : `${done}`;
  };
  const drawApproval = () => {
    mount(approval, plan ? approvalSection(ctx, op, plan, approvalFeedback, {
      decided: async (next) => {
        op = next;
        plan = await loadPlan(op.id);
        drawOp();
      },
    }) : null);
  };
  let shownStatus = null;
  const drawOp = () => {
    if (op.status !== shownStatus) {
      // Held, approved, rejected: the plan's decision changed with the status.
      if (shownStatus !== null && op.kind === 'update') loadPlan(op.id).then((p) => { plan = p; drawApproval(); });
      shownStatus = op.status;
      drawApproval();
    }
    mount(statusCell, badge(op.status), op.cancel_requested && !isFinal(op) ? ' (cancel requested)' : '');
    mount(finishedCell, time(op.finished_at));
    mount(errorBox, op.error ? h('div', { class: 'alert', role: 'alert' }, h('strong', {}, 'Error: '), op.error) : null);
    const cancellable = ctx.can('operator') && !isFinal(op) && !op.cancel_requested;
    mount(actions, cancellable ? actionButton('Cancel operation', async () => {
      try {
        op = await post(routes.cancel(op.id));
        announce('Cancel requested');
        drawOp();
      } catch (e) {
        mount(errorBox, problemBox(e));
      }
    }, { class: 'danger', id: 'op-cancel' }) : null);
  };
  drawOp();
  drawProgress();

  const handle = follow(routes.events(op.id, 0), {
    onEvent: ({ seq, kind, payload }) => {
      for (const item of progress.on(kind, payload)) {
        if (item.type === 'activity') activity.textContent = item.text;
        else log.append(line(item, seq));
      }
      drawProgress();
      if (kind === 'summaryEvent') announce('The operation reached its summary');
    },
    onState: (state, error) => {
      const words = { live: 'live', reconnecting: 'connection lost, reconnecting…', ended: 'finished', failed: `stopped: ${error?.message || ''}` };
      connection.textContent = words[state] || state;
      connection.dataset.state = state;
    },
  });
  ctx.onLeave(() => handle.stop());
  // The status changes (running → succeeded, cancel requested) are read again at the end, and
  // every few seconds while it runs, since events do not carry them.
  const timer = setInterval(async () => {
    try { op = await get(routes.operation(op.id)); drawOp(); } catch { /* next tick */ }
  }, 3000);
  ctx.onLeave(() => clearInterval(timer));
  handle.done.then(async () => {
    clearInterval(timer);
    activity.textContent = '';
    op = await get(routes.operation(op.id));
    drawOp();
    drawProgress();
    announce(`Operation ${op.status}`);
  }).catch((e) => {
    if (e.status === 401) window.dispatchEvent(new CustomEvent('byoc:signed-out'));
    else mount(errorBox, problemBox(e));
  });
}

/** The deploy's saved plan, or null (no approval policy, or not saved yet). */
async function loadPlan(id) {
  try {
    return await get(routes.plan(id));
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

const DECISIONS = {
  approved: 'approved',
  rejected: 'rejected',
  auto: 'let through by the policy',
  refused: 'refused: the plan was stale when approved',
  expired: 'expired: nobody decided in time',
};

/** The plan: why it is held, who asked, when it expires, the change list; the decision buttons. */
function approvalSection(ctx, op, plan, feedback, { decided }) {
  const waiting = op.status === 'awaiting_approval';
  const refused = (e) => {
    const words = refusalWords(e);
    mount(feedback, words
      ? h('div', { class: 'alert', role: 'alert' }, h('strong', {}, words), h('div', { class: 'small muted' }, e.detail))
      : problemBox(e));
  };
  let buttons = null;
  if (waiting && ctx.can('operator')) {
    const reason = h('input', { id: 'reject-reason', maxlength: 500, autocomplete: 'off', 'aria-describedby': 'reject-reason-hint' });
    buttons = h('div', { class: 'actions approval-actions' },
      actionButton('Approve', async () => {
        mount(feedback);
        try {
          const next = await post(routes.approve(op.id));
          announce('Approved: the deploy is queued to apply its plan');
          await decided(next);
        } catch (e) {
          refused(e);
          if (e.status === 409) await decided(await get(routes.operation(op.id)));
        }
      }, { class: 'primary', id: 'approve' }),
      h('div', { class: 'field inline' },
        h('label', { for: 'reject-reason' }, 'Reason for rejecting (optional)'),
        reason,
        h('span', { id: 'reject-reason-hint', class: 'hint' }, 'one line, up to 500 characters')),
      actionButton('Reject', async () => {
        mount(feedback);
        try {
          const text = reason.value.trim();
          const next = await post(routes.reject(op.id), text ? { reason: text } : {});
          announce('Rejected');
          await decided(next);
        } catch (e) {
          refused(e);
        }
      }, { class: 'danger', id: 'reject' }));
  }
  return section('Approval',
    waiting ? h('p', { class: 'notice warn', role: 'status' }, 'This deploy waits for approval: nothing is applied until someone approves its plan.') : null,
    facts([
      ['Requested by', op.requested_by || '—'],
      plan.hold_reason ? ['Held because', plan.hold_reason] : null,
      ['Plan saved', time(plan.created_at)],
      ['Plan expires', time(plan.expires_at)],
      ['Decision', plan.decision ? `${DECISIONS[plan.decision] || plan.decision}${plan.decided_by ? ` by ${plan.decided_by}` : ''}` : 'waiting'],
      plan.decided_at ? ['Decided', time(plan.decided_at)] : null,
    ]),
    changeTable(plan),
    buttons,
    feedback);
}

function changeTable(plan) {
  const changes = plan.changes || [];
  if (!changes.length) return h('p', { class: 'empty' }, 'The plan changes nothing.');
  return h('table', { class: 'grid', id: 'plan-changes' },
    h('caption', {}, `Changes in the plan of config v${plan.config_version}: ${changeCounts(changes)}`),
    h('thead', {}, h('tr', {}, ['Change', 'Type', 'Resource', 'Properties'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, changes.map((c) => h('tr', { class: destructive(c.op) ? 'destructive' : null },
      h('td', {}, h('span', { class: ['badge', destructive(c.op) ? 'st-failed' : 'st-pending'] }, changeVerb(c.op))),
      h('td', {}, h('code', {}, c.type)),
      h('th', { scope: 'row' }, c.name),
      h('td', {}, c.paths?.length ? h('ul', { class: 'paths' }, c.paths.map((p) => h('li', {}, h('code', {}, p)))) : h('span', { class: 'muted' }, '—'))))));
}

function isFinal(op) {
  return ['succeeded', 'failed', 'cancelled'].includes(op.status);
}

/** The environment an operation's stack belongs to (its slug and env, for links and the plan). */
async function findEnvironment(stack) {
  try {
    const all = await get(routes.environments());
    return all.items.find((e) => e.stack_name === stack) || null;
  } catch {
    return null;
  }
}

/** Resources the operation steps through, when it can be known before its first event. */
async function estimate(op, env) {
  if (!env) return null;
  try {
    if (op.kind === 'update' || op.kind === 'preview') {
      const yaml = await get(routes.program(env.tenant_slug, env.environment, op.config_version), { accept: 'application/yaml', text: true });
      return planSize(op.kind, yaml);
    }
    const history = await get(routes.history(env.tenant_slug, env.environment));
    const last = history.find((o) => o.id !== op.id && o.status === 'succeeded' && o.kind !== 'preview');
    return last ? resourcesAfter(last.summary) : null;
  } catch {
    return null;
  }
}

function line(item, seq) {
  const attrs = (cls) => ({ class: cls, 'data-seq': seq });
  switch (item.type) {
    case 'step': {
      const verb = item.failed ? `${item.op} failed` : item.planned ? item.op : pastTense(item.op);
      return h('li', attrs(['step', item.failed ? 'failed' : `op-${item.op}`]),
        h('span', { class: 'sym', 'aria-hidden': 'true' }, item.failed ? 'x' : SYMBOLS[item.op] || '*'),
        h('span', { class: 'verb' }, verb), ' ',
        h('span', { class: 'name' }, item.name), ' ',
        h('span', { class: 'type muted' }, item.resourceType),
        item.seconds !== null && item.seconds !== undefined ? h('span', { class: 'dur' }, duration(item.seconds)) : null);
    }
    case 'diagnostic':
      return h('li', attrs(['diag', `diag-${item.severity}`]),
        h('strong', {}, `${item.severity}: `), item.resource ? `${item.resource}: ` : '', h('span', { class: 'pre' }, item.message));
    case 'summary':
      return h('li', attrs('summary'), h('strong', {}, 'Resources: '), summaryText(item), item.seconds !== null ? `; took ${duration(item.seconds)}` : '');
    default:
      return h('li', attrs('message'), item.text);
  }
}

