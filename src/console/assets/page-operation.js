// One operation, live: its engine events over SSE folded into a log (one line per completed
// resource step with its duration, diagnostics highlighted, the summary), a progress bar of
// resources done out of the plan's total, and a cancel button. A dropped connection resumes
// from the last event shown (sse.js).

import { get, post, routes } from './api.js';
import { actionButton, announce, badge, duration, h, mount, paths, problemBox, time } from './dom.js';
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
  const drawOp = () => {
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

