// Pending approvals: every deploy of the fleet waiting for a reviewer, with why its
// environment's policy holds it, who asked, when its plan expires and what it changes. Read
// from each environment's history filtered by status (`…/operations?status=awaiting_approval`;
// there is no fleet-wide operations list), a few environments at a time.

import { get, routes } from './api.js';
import { h, mount, paths, problemBox, time } from './dom.js';
import { changeCounts } from './approval.js';

const AT_ONCE = 6;

export async function render(ctx) {
  const summary = h('p', { class: 'muted', 'aria-live': 'polite' }, 'Reading every environment…');
  const body = h('div');
  mount(ctx.main, h('h1', {}, 'Pending approvals'), summary, body);
  const envs = (await get(routes.environments())).items;
  const pending = [];
  const failures = [];
  let next = 0;
  const worker = async () => {
    while (next < envs.length) {
      const env = envs[next++];
      try {
        const ops = await get(routes.awaiting(env.tenant_slug, env.environment));
        for (const op of ops) pending.push({ env, op, plan: await get(routes.plan(op.id)).catch(() => null) });
      } catch (e) {
        failures.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, envs.length) }, worker));
  pending.sort((a, b) => String(a.op.created_at).localeCompare(String(b.op.created_at)));
  summary.textContent = pending.length
    ? `${pending.length} deploy(s) wait for approval, oldest first.`
    : `No deploy waits for approval in ${envs.length} environment(s).`;
  mount(body,
    failures.length ? problemBox(failures[0]) : null,
    pending.length ? h('table', { class: 'grid', id: 'approvals' },
      h('caption', { class: 'visually-hidden' }, 'Deploys waiting for approval'),
      h('thead', {}, h('tr', {}, ['Environment', 'Deploy', 'Requested by', 'Held because', 'Plan expires', 'Changes'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, pending.map(({ env, op, plan }) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: paths.environment(env.tenant_slug, env.environment) }, `${env.tenant_slug}/${env.environment}`)),
        h('td', {}, h('a', { href: paths.operation(op.id), 'aria-label': `Review the deploy of ${env.tenant_slug}/${env.environment}` }, 'Review'), op.config_version ? h('span', { class: 'muted small' }, ` config v${op.config_version}`) : null),
        h('td', {}, op.requested_by || '—'),
        h('td', {}, plan?.hold_reason || '—'),
        h('td', {}, plan ? time(plan.expires_at) : '—'),
        h('td', {}, plan ? changeCounts(plan.changes) : '—'))))) : h('p', { class: 'empty' }, 'Nothing to review.'));
}
