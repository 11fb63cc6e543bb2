// The fleet: every tenant × environment with its stack status, last operation and labels;
// filter by status and by a label selector on the environments' labels (the API's
// `?selector=`, e.g. `ring=canary,tier!=free`), search by name. Refreshes itself every 15 s
// while open; the selector is kept in the address (`?selector=`).

import { allPages, get, routes } from './api.js';
import { badge, h, mount, paths, problemBox, time } from './dom.js';
import { labelChips } from './labelsblock.js';

const STATUSES = ['pending', 'in_progress', 'succeeded', 'failed', 'destroying', 'destroyed', 'not_deployed'];
const REFRESH_MS = 15000;

export async function render(ctx) {
  const search = h('input', { id: 'fleet-search', type: 'search', placeholder: 'tenant, environment or stack' });
  const status = h('select', { id: 'fleet-status' },
    h('option', { value: '' }, 'All'),
    STATUSES.map((s) => h('option', { value: s }, s.replace(/_/g, ' '))));
  const selector = h('input', { id: 'fleet-selector', type: 'text', placeholder: 'ring=canary,tier!=free', spellcheck: 'false', value: ctx.query.get('selector') || '', 'aria-describedby': 'fleet-selector-error' });
  const selectorError = h('div', { id: 'fleet-selector-error', 'aria-live': 'polite' });
  const filters = h('form', { class: 'toolbar', role: 'search' },
    h('div', { class: 'field inline' }, h('label', { for: 'fleet-search' }, 'Search'), search),
    h('div', { class: 'field inline' }, h('label', { for: 'fleet-status' }, 'Status'), status),
    h('div', { class: 'field inline' }, h('label', { for: 'fleet-selector' }, 'Label selector'), selector, h('button', { type: 'submit' }, 'Apply')),
    ctx.can('operator') ? h('a', { class: 'button', href: '/ui/tenants/new' }, 'New tenant') : null);
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  const body = h('div');
  mount(ctx.main, h('h1', {}, 'Fleet'), filters, selectorError, summary, body);

  let applied = selector.value.trim();
  let data;
  try {
    data = await load(applied);
  } catch (e) {
    if (e.status !== 400 && e.status !== 422) throw e;
    mount(selectorError, problemBox(e));
    selector.setAttribute('aria-invalid', 'true');
    applied = '';
    data = await load('');
  }
  const draw = () => drawTable(body, summary, data, search.value.trim().toLowerCase(), status.value, applied);
  search.addEventListener('input', draw);
  status.addEventListener('change', draw);
  filters.addEventListener('submit', async (event) => {
    event.preventDefault();
    const wanted = selector.value.trim();
    try {
      data = await load(wanted);
      applied = wanted;
      mount(selectorError);
      selector.removeAttribute('aria-invalid');
      history.replaceState(null, '', wanted ? `/ui/?selector=${encodeURIComponent(wanted)}` : '/ui/');
      draw();
    } catch (e) {
      mount(selectorError, problemBox(e));
      selector.setAttribute('aria-invalid', 'true');
      selector.focus();
    }
  });
  draw();
  const timer = setInterval(async () => {
    try { data = await load(applied); draw(); } catch { /* shown on the next successful refresh */ }
  }, REFRESH_MS);
  ctx.onLeave(() => clearInterval(timer));
}

async function load(selector) {
  const [tenants, envs] = await Promise.all([allPages(`${routes.tenants()}?limit=200`), get(routes.environments(null, selector || null))]);
  return { tenants, envs: envs.items, selector: selector || '' };
}

function rowsOf({ tenants, envs, selector }) {
  const byTenant = new Map(tenants.map((t) => [t.slug, []]));
  for (const e of envs) (byTenant.get(e.tenant_slug) || byTenant.set(e.tenant_slug, []).get(e.tenant_slug)).push(e);
  return tenants.flatMap((t) => {
    const list = byTenant.get(t.slug);
    if (list.length) return list.map((e) => ({ tenant: t, env: e }));
    // With a selector, only environments that match are rows.
    return selector ? [] : [{ tenant: t, env: null }];
  });
}

function matches(row, term, status) {
  if (status && row.env?.status !== status) return false;
  if (!term) return true;
  const hay = [row.tenant.slug, row.tenant.name, row.env?.environment, row.env?.stack_name].join(' ').toLowerCase();
  return hay.includes(term);
}

function drawTable(body, summary, data, term, status, selector) {
  const all = rowsOf(data);
  const rows = all.filter((r) => matches(r, term, status));
  const counts = {};
  for (const e of data.envs) counts[e.status] = (counts[e.status] || 0) + 1;
  const parts = Object.entries(counts).map(([s, n]) => `${n} ${s.replace(/_/g, ' ')}`);
  const which = selector ? ` matching ${selector}` : '';
  summary.textContent = `${data.tenants.length} tenant(s), ${data.envs.length} environment(s)${which}${parts.length ? `: ${parts.join(', ')}` : ''}. Showing ${rows.length}.`;
  if (!rows.length) {
    mount(body, h('p', { class: 'empty' }, data.tenants.length ? 'Nothing matches the filter.' : 'No tenants yet.'));
    return;
  }
  mount(body, h('table', { class: 'grid' },
    h('caption', { class: 'visually-hidden' }, 'Tenants and their environments'),
    h('thead', {}, h('tr', {}, ['Tenant', 'Environment', 'Status', 'Running now', 'Last operation', 'Config', 'Labels'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map(({ tenant, env }) => h('tr', {},
      h('th', { scope: 'row' }, h('a', { href: paths.tenant(tenant.slug) }, tenant.name), h('div', { class: 'muted small' }, tenant.slug)),
      env ? [
        h('td', {}, h('a', { href: paths.environment(tenant.slug, env.environment) }, env.environment)),
        h('td', {}, badge(env.status), env.error ? h('div', { class: 'small error-text', title: env.error }, truncate(env.error)) : null),
        h('td', {}, operationCell(env.current_operation)),
        h('td', {}, operationCell(env.last_operation)),
        h('td', {}, env.config_version ? `v${env.config_version}` : h('span', { class: 'muted' }, 'none')),
        h('td', {}, labelChips(env.labels)),
      ] : h('td', { colspan: 6, class: 'muted' }, 'No environments yet'))))));
}

function operationCell(op) {
  if (!op) return h('span', { class: 'muted' }, '—');
  return h('span', {}, h('a', { href: paths.operation(op.id) }, op.kind), ' ', badge(op.status), h('div', { class: 'small muted' }, time(op.finished_at || op.created_at)));
}

function truncate(text) {
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
