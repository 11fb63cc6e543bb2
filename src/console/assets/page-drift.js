// The fleet's drift (`GET /api/v1/drift`): every resource that differs from its stack, grouped
// by resource type, with the environment, what differs (property paths only, never values)
// and when checks first and last saw it.

import { get, routes } from './api.js';
import { h, mount, paths, time } from './dom.js';

export async function render(ctx) {
  const drift = await get(routes.fleetDrift());
  mount(ctx.main,
    h('h1', {}, 'Drift'),
    h('p', { class: 'muted', id: 'drift-summary' }, drift.drifted_resources
      ? `${drift.drifted_resources} drifted resource(s) in ${drift.drifted_environments} environment(s).`
      : 'No drift found: every checked stack matches its resources. Environments are checked when their config sets drift_check.'),
    drift.types.map((t) => h('section', { 'aria-label': `Drifted ${t.type}` },
      h('h2', {}, h('code', {}, t.type), ` (${t.resources.length})`),
      driftTable(t.resources, { withEnvironment: true }))));
}

/** A table of drifted resources; `withEnvironment` adds the environment column (the fleet view). */
export function driftTable(resources, { withEnvironment = false } = {}) {
  const cols = [withEnvironment ? 'Environment' : null, 'Resource', 'Type', 'Drift', 'Properties', 'First seen', 'Last seen'].filter(Boolean);
  return h('table', { class: 'grid drift' },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, resources.map((r) => h('tr', {},
      withEnvironment ? h('td', {}, h('a', { href: paths.environment(r.tenant_slug, r.environment) }, `${r.tenant_slug}/${r.environment}`)) : null,
      h('th', { scope: 'row' }, r.name),
      h('td', {}, h('code', {}, r.type)),
      h('td', {}, r.op === 'delete' ? 'gone from the cloud' : 'properties differ'),
      h('td', {}, r.paths?.length ? h('ul', { class: 'paths' }, r.paths.map((p) => h('li', {}, h('code', {}, p)))) : h('span', { class: 'muted' }, '—')),
      h('td', {}, time(r.first_seen)),
      h('td', {}, time(r.last_seen))))));
}
