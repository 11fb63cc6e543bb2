// One environment: its stack status and actions (deploy, preview, refresh, destroy), the
// current config with its version history and a diff between versions, the rendered program,
// the outputs (secret values masked: the page never asks for them) and the operation history;
// its labels (editable by operators), the deploys waiting for approval and the drift report,
// each when the server has its API.

import { del, get, post, routes } from './api.js';
import { actionButton, badge, between, duration, facts, h, mount, paths, problemBox, section, time } from './dom.js';
import { diff } from './diff.js';
import { summaryText } from './live.js';
import { available } from './features.js';
import { labelsBlock } from './labelsblock.js';
import { driftTable } from './page-drift.js';

const VERSIONS_SHOWN = 20;

export async function render(ctx) {
  const [slug, env] = ctx.params;
  const tenant = await get(routes.tenant(slug));
  const has = (route) => available(`/api/v1/tenants/{slug}/environments/{env}/${route}`);
  const [status, latest, history, outputs, labels, drift] = await Promise.all([
    optional(get(routes.status(slug, env))),
    optional(get(routes.config(slug, env))),
    get(routes.history(slug, env)),
    optional(get(routes.outputs(slug, env))),
    has('labels') ? optional(get(routes.envLabels(slug, env))) : null,
    has('drift') ? optional(get(routes.drift(slug, env))) : null,
  ]);
  const awaiting = history.filter((o) => o.status === 'awaiting_approval');
  const stackStatus = status?.status || 'not_deployed';
  const feedback = h('div', { 'aria-live': 'polite' });
  const current = status?.current_operation;

  mount(ctx.main,
    h('p', { class: 'crumbs' }, h('a', { href: paths.fleet() }, 'Fleet'), ' / ', h('a', { href: paths.tenant(slug) }, tenant.name), ' / ', env),
    h('h1', {}, `${slug}/${env}`),
    facts([
      ['Status', badge(stackStatus)],
      ['Stack', h('code', {}, `${slug}-${env}`)],
      ['Region', tenant.aws_region],
      current ? ['Running now', h('a', { href: paths.operation(current.id) }, `${current.kind} (${current.status})`)] : null,
      status?.error ? ['Last error', h('span', { class: 'error-text' }, status.error)] : null,
    ]),
    awaiting.length ? h('div', { class: 'notice warn', role: 'status', id: 'awaiting' },
      `${awaiting.length} deploy(s) wait for approval: `,
      awaiting.map((o, i) => [i ? ', ' : '', h('a', { href: paths.operation(o.id) }, `review the deploy of config v${o.config_version}`)])) : null,
    actions(ctx, slug, env, latest, feedback),
    feedback,
    labels ? section('Labels', labelsBlock(ctx, 'env', labels.labels, routes.envLabels(slug, env))) : null,
    has('drift') ? section('Drift', driftSection(drift)) : null,
    section('Config', await configSection(ctx, slug, env, latest)),
    section('Program', programSection(slug, env, latest)),
    section('Outputs', outputsTable(outputs)),
    section('Operations', historyTable(history)));
}

/** The environment's drift report: when checked, the next check, a failed check, the resources. */
function driftSection(drift) {
  if (!drift) return h('p', { class: 'empty' }, 'No drift report: the stack is not deployed.');
  return [
    facts([
      ['Checks', drift.scheduled ? 'scheduled' : 'off (set drift_check in the config)'],
      ['Last check', time(drift.checked_at)],
      drift.scheduled ? ['Next check', time(drift.next_check_at)] : null,
      drift.error ? ['Last check failed', h('span', { class: 'error-text' }, drift.error)] : null,
    ]),
    drift.resources.length
      ? h('div', { id: 'drift' }, h('p', {}, h('span', { class: 'badge st-drifted' }, 'drifted'), ` ${drift.resources.length} resource(s) differ from the stack.`), driftTable(drift.resources))
      : h('p', { class: 'empty', id: 'drift' }, drift.checked_at ? 'No drift: the last check found every resource as the stack has it.' : 'Not checked yet.'),
  ];
}

/** The value, or null when the API answers 404 (nothing saved or deployed yet). */
async function optional(promise) {
  try {
    return await promise;
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

function actions(ctx, slug, env, latest, feedback) {
  if (!ctx.can('operator')) return null;
  const start = (action, label, cls) => actionButton(label, async () => {
    mount(feedback);
    try {
      const op = await post(routes.start(slug, env, action));
      ctx.navigate(paths.operation(op.id));
    } catch (e) {
      mount(feedback, problemBox(e));
    }
  }, { class: cls, id: `action-${action}`, disabled: !latest });
  const confirm = h('input', { id: 'destroy-confirm', autocomplete: 'off', 'aria-describedby': 'destroy-hint' });
  const destroy = h('details', { class: 'danger-zone' },
    h('summary', {}, 'Destroy…'),
    h('div', { class: 'field' },
      h('label', { for: 'destroy-confirm' }, 'Type the stack name to confirm'),
      h('p', { id: 'destroy-hint', class: 'hint' }, `Removes every resource of ${slug}-${env} from the tenant's account.`),
      confirm),
    actionButton('Destroy stack', async () => {
      mount(feedback);
      if (confirm.value.trim() !== `${slug}-${env}`) {
        mount(feedback, problemBox({ detail: `Type ${slug}-${env} to confirm.` }));
        confirm.focus();
        return;
      }
      try {
        const op = await del(`${routes.env(slug, env)}?confirm=true`);
        ctx.navigate(paths.operation(op.id));
      } catch (e) {
        mount(feedback, problemBox(e));
      }
    }, { class: 'danger', id: 'action-destroy' }));
  return h('div', { class: 'actions' },
    start('deploy', 'Deploy', 'primary'),
    start('preview', 'Preview'),
    start('refresh', 'Refresh'),
    h('a', { class: 'button', href: paths.config(slug, env) }, latest ? 'Edit config' : 'Write config'),
    destroy);
}

async function configSection(ctx, slug, env, latest) {
  if (!latest) {
    return h('p', { class: 'empty' }, 'No config saved yet. ', h('a', { href: paths.config(slug, env) }, ctx.can('operator') ? 'Write the first one' : 'See the form'), '.');
  }
  // The API reads one version at a time (`?version=N`): the newest ones are read in parallel.
  const numbers = [];
  for (let v = latest.version; v >= 1 && numbers.length < VERSIONS_SHOWN; v--) numbers.push(v);
  const versions = new Map([[latest.version, latest]]);
  await Promise.all(numbers.filter((v) => v !== latest.version).map(async (v) => {
    const body = await optional(get(routes.config(slug, env, v)));
    if (body) versions.set(v, body);
  }));
  const list = [...versions.keys()].sort((a, b) => b - a);
  const option = (v) => h('option', { value: v }, `v${v} — ${new Date(versions.get(v).created_at).toLocaleString()}`);
  const shown = h('select', { id: 'config-version' }, list.map(option));
  const view = h('pre', { class: 'config', tabindex: '0', 'aria-label': 'Config version' });
  const drawView = () => { view.textContent = JSON.stringify(versions.get(Number(shown.value)).config, null, 2); };
  shown.addEventListener('change', drawView);
  drawView();

  const from = h('select', { id: 'diff-from' }, list.map(option));
  const to = h('select', { id: 'diff-to' }, list.map(option));
  from.value = String(list[1] ?? list[0]);
  to.value = String(list[0]);
  const diffOut = h('div', { id: 'config-diff', 'aria-live': 'polite' });
  const drawDiff = () => mount(diffOut, diffTable(versions.get(Number(from.value)), versions.get(Number(to.value))));
  from.addEventListener('change', drawDiff);
  to.addEventListener('change', drawDiff);
  drawDiff();

  return [
    h('p', {}, `Version ${latest.version}, saved `, time(latest.created_at), ` (${list.length} of ${latest.version} versions listed). `,
      h('a', { href: paths.config(slug, env) }, ctx.can('operator') ? 'Edit' : 'Open the form')),
    h('div', { class: 'field inline' }, h('label', { for: 'config-version' }, 'Show version'), shown),
    view,
    h('h3', {}, 'Compare versions'),
    h('div', { class: 'toolbar' },
      h('div', { class: 'field inline' }, h('label', { for: 'diff-from' }, 'From'), from),
      h('div', { class: 'field inline' }, h('label', { for: 'diff-to' }, 'To'), to)),
    diffOut,
  ];
}

function diffTable(a, b) {
  const changes = diff(a.config, b.config);
  if (!changes.length) return h('p', { class: 'muted' }, `v${a.version} and v${b.version} are the same.`);
  const mark = { added: '+ added', removed: '− removed', changed: '~ changed' };
  return h('table', { class: 'grid diff' },
    h('caption', {}, `${changes.length} change(s) from v${a.version} to v${b.version}`),
    h('thead', {}, h('tr', {}, ['Field', 'Change', `v${a.version}`, `v${b.version}`].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, changes.map((c) => h('tr', { class: `d-${c.kind}` },
      h('th', { scope: 'row' }, h('code', {}, c.pointer)),
      h('td', {}, mark[c.kind]),
      h('td', {}, c.from === undefined ? '' : h('code', {}, c.from)),
      h('td', {}, c.to === undefined ? '' : h('code', {}, c.to))))));
}

function programSection(slug, env, latest) {
  if (!latest) return h('p', { class: 'empty' }, 'No program until a config is saved.');
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const details = h('details', { id: 'program' }, h('summary', {}, `Pulumi YAML of config v${latest.version}`), body);
  let loaded = false;
  details.addEventListener('toggle', async () => {
    if (!details.open || loaded) return;
    loaded = true;
    try {
      const yaml = await get(routes.program(slug, env, latest.version), { accept: 'application/yaml', text: true });
      mount(body, h('pre', { class: 'program', tabindex: '0' }, h('code', {}, yaml)));
    } catch (e) {
      mount(body, problemBox(e));
    }
  });
  return details;
}

function outputsTable(outputs) {
  const entries = Object.entries(outputs || {});
  if (!entries.length) return h('p', { class: 'empty' }, 'No outputs yet.');
  return h('table', { class: 'grid', id: 'outputs' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Output'), h('th', { scope: 'col' }, 'Value'))),
    h('tbody', {}, entries.map(([name, out]) => h('tr', {},
      h('th', { scope: 'row' }, h('code', {}, name)),
      // The API sends secret values as null; the page never asks it to reveal them.
      h('td', {}, out.secret
        ? h('span', { class: 'secret', 'aria-label': 'secret value, hidden' }, '•••••• secret')
        : h('code', {}, typeof out.value === 'string' ? out.value : JSON.stringify(out.value)))))));
}

function historyTable(ops) {
  if (!ops.length) return h('p', { class: 'empty' }, 'No operations yet.');
  return h('table', { class: 'grid', id: 'history' },
    h('thead', {}, h('tr', {}, ['Operation', 'Status', 'Queued', 'Took', 'By', 'Changes'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ops.map((o) => h('tr', {},
      h('th', { scope: 'row' }, h('a', { href: paths.operation(o.id) }, o.kind), o.config_version ? h('span', { class: 'muted small' }, ` v${o.config_version}`) : null),
      h('td', {}, badge(o.status)),
      h('td', {}, time(o.created_at)),
      h('td', {}, o.started_at ? duration(between(o.started_at, o.finished_at)) : '—'),
      h('td', {}, o.requested_by || '—'),
      h('td', {}, o.summary ? summaryText({ changes: Object.entries(o.summary).filter(([, n]) => n > 0), preview: o.kind === 'preview' }) : '—')))));
}
