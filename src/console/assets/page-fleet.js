// The fleet: every tenant × environment with its stack status and last operation; filter by
// status, search by name. Refreshes itself every 15 s while open.

import { allPages, get, routes } from './api.js';
import { badge, h, mount, paths, time } from './dom.js';

const STATUSES = ['pending', 'in_progress', 'succeeded', 'failed', 'destroying', 'destroyed', 'not_deployed'];
const REFRESH_MS = 15000;

export async function render(ctx) {
  const search = h('input', { id: 'fleet-search', type: 'search', placeholder: 'tenant, environment or stack' });
  const status = h('select', { id: 'fleet-status' },
    h('option', { value: '' }, 'All'),
    STATUSES.map((s) => h('option', { value: s }, s.replace(/_/g, ' '))));
  const filters = h('form', { class: 'toolbar', role: 'search', on: { submit: (e) => e.preventDefault() } },
    h('div', { class: 'field inline' }, h('label', { for: 'fleet-search' }, 'Search'), search),
    h('div', { class: 'field inline' }, h('label', { for: 'fleet-status' }, 'Status'), status),
    ctx.can('operator') ? h('a', { class: 'button', href: '/ui/tenants/new' }, 'New tenant') : null);
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' });
  const body = h('div');
  mount(ctx.main, h('h1', {}, 'Fleet'), filters, summary, body);

  let data = await load();
  const draw = () => drawTable(body, summary, data, search.value.trim().toLowerCase(), status.value);
  search.addEventListener('input', draw);
  status.addEventListener('change', draw);
  draw();
  const timer = setInterval(async () => {
    try { data = await load(); draw(); } catch { /* shown on the next successful refresh */ }
  }, REFRESH_MS);
  ctx.onLeave(() => clearInterval(timer));
}

async function load() {
  const [tenants, envs] = await Promise.all([allPages(`${routes.tenants()}?limit=200`), get(routes.environments())]);
  return { tenants, envs: envs.items };
}

function rowsOf({ tenants, envs }) {
  const byTenant = new Map(tenants.map((t) => [t.slug, []]));
  for (const e of envs) (byTenant.get(e.tenant_slug) || byTenant.set(e.tenant_slug, []).get(e.tenant_slug)).push(e);
  return tenants.flatMap((t) => {
    const list = byTenant.get(t.slug);
    return list.length ? list.map((e) => ({ tenant: t, env: e })) : [{ tenant: t, env: null }];
  });
}

function matches(row, term, status) {
  if (status && row.env?.status !== status) return false;
  if (!term) return true;
  const hay = [row.tenant.slug, row.tenant.name, row.env?.environment, row.env?.stack_name].join(' ').toLowerCase();
  return hay.includes(term);
}

function drawTable(body, summary, data, term, status) {
  const all = rowsOf(data);
  const rows = all.filter((r) => matches(r, term, status));
  const counts = {};
  for (const e of data.envs) counts[e.status] = (counts[e.status] || 0) + 1;
  const parts = Object.entries(counts).map(([s, n]) => `${n} ${s.replace(/_/g, ' ')}`);
  summary.textContent = `${data.tenants.length} tenant(s), ${data.envs.length} environment(s)${parts.length ? `: ${parts.join(', ')}` : ''}. Showing ${rows.length}.`;
  if (!rows.length) {
    mount(body, h('p', { class: 'empty' }, data.tenants.length ? 'Nothing matches the filter.' : 'No tenants yet.'));
    return;
  }
  mount(body, h('table', { class: 'grid' },
    h('caption', { class: 'visually-hidden' }, 'Tenants and their environments'),
    h('thead', {}, h('tr', {}, ['Tenant', 'Environment', 'Status', 'Running now', 'Last operation', 'Config'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map(({ tenant, env }) => h('tr', {},
      h('th', { scope: 'row' }, h('a', { href: paths.tenant(tenant.slug) }, tenant.name), h('div', { class: 'muted small' }, tenant.slug)),
      env ? [
        h('td', {}, h('a', { href: paths.environment(tenant.slug, env.environment) }, env.environment)),
        h('td', {}, badge(env.status), env.error ? h('div', { class: 'small error-text', title: env.error }, truncate(env.error)) : null),
        h('td', {}, operationCell(env.current_operation)),
        h('td', {}, operationCell(env.last_operation)),
        h('td', {}, env.config_version ? `v${env.config_version}` : h('span', { class: 'muted' }, 'none')),
      ] : h('td', { colspan: 5, class: 'muted' }, 'No environments yet'))))));
}

function operationCell(op) {
  if (!op) return h('span', { class: 'muted' }, '—');
  return h('span', {}, h('a', { href: paths.operation(op.id) }, op.kind), ' ', badge(op.status), h('div', { class: 'small muted' }, time(op.finished_at || op.created_at)));
}

function truncate(text) {
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
