// A tenant: its account and role, onboarding (the CloudFormation template, the create-stack
// command, verify), and its environments. The external ID is never shown here: the API
// answers the onboarding block with a placeholder in its place.

import { get, post, routes } from './api.js';
import { actionButton, announce, badge, facts, h, mount, paths, problemBox, section, time } from './dom.js';
import { available } from './features.js';
import { labelChips, labelsBlock } from './labelsblock.js';

export async function render(ctx) {
  const [slug] = ctx.params;
  const [tenant, onboarding, envs] = await Promise.all([
    get(routes.tenant(slug)),
    get(routes.onboarding(slug)),
    get(routes.environments(slug)),
  ]);
  const verified = h('dd', {}, verifiedText(tenant.role_verified_at));
  const result = h('div', { 'aria-live': 'polite' });
  const verify = ctx.can('operator')
    ? actionButton('Verify role', async () => {
      mount(result, h('p', { class: 'muted' }, 'Assuming the role…'));
      try {
        const report = await post(routes.verify(slug));
        mount(verified, verifiedText(report.checked_at));
        mount(result, h('div', { class: 'notice ok', role: 'status' },
          `The role works: assumed ${report.role_arn} as ${report.caller_arn} in account ${report.account_id}.`));
        announce('Role verified');
      } catch (e) {
        mount(result, problemBox(e));
      }
    }, { class: 'primary' })
    : null;

  mount(ctx.main,
    h('p', { class: 'crumbs' }, h('a', { href: paths.fleet() }, 'Fleet'), ' / ', tenant.slug),
    h('h1', {}, tenant.name),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Slug'), h('dd', {}, tenant.slug),
      h('dt', {}, 'AWS account'), h('dd', {}, tenant.aws_account_id),
      h('dt', {}, 'Region'), h('dd', {}, tenant.aws_region),
      h('dt', {}, 'Role'), h('dd', {}, h('code', {}, tenant.role_arn)),
      h('dt', {}, 'Role verified'), verified,
      h('dt', {}, 'Registered'), h('dd', {}, time(tenant.created_at))),
    available('/api/v1/tenants/{slug}/labels')
      ? section('Labels', labelsBlock(ctx, 'tenant', tenant.labels, routes.tenantLabels(slug)))
      : null,
    section('Onboarding',
      onboardingBlock(onboarding),
      h('div', { class: 'actions' }, verify),
      result),
    section('Environments', environmentList(ctx, slug, envs.items)));
}

function verifiedText(at) {
  return at ? h('span', {}, badge('verified'), ' ', time(at)) : h('span', {}, badge('not_verified'));
}

/** The onboarding instructions: the template, its parameters and the create-stack command. */
export function onboardingBlock(o) {
  const template = o.template_url
    ? h('a', { href: o.template_url, rel: 'noopener noreferrer' }, o.template_url)
    : h('a', { href: o.template_path, download: 'customer-iam-role.yaml' }, 'customer-iam-role.yaml');
  return h('div', { class: 'onboarding' },
    h('p', {}, 'The tenant creates the role byoc assumes from this CloudFormation template, in account ',
      h('strong', {}, o.account_id), ', region ', h('strong', {}, o.region), '.'),
    facts([
      ['Template', template],
      ['Stack name', h('code', {}, o.stack_name)],
      ['Role ARN', h('code', {}, o.role_arn)],
      o.quick_create_url ? ['AWS console', h('a', { href: o.quick_create_url, rel: 'noopener noreferrer' }, 'Quick-create link')] : null,
    ]),
    h('table', { class: 'grid compact' },
      h('caption', {}, 'CloudFormation parameters'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Parameter'), h('th', { scope: 'col' }, 'Value'))),
      h('tbody', {}, o.parameters.map((p) => h('tr', {}, h('th', { scope: 'row' }, p.key), h('td', {}, h('code', {}, p.value)))))),
    codeBlock('Create-stack command (run next to the downloaded template)', o.cli_command),
    o.external_id_included ? null : h('p', { class: 'hint' },
      'The external ID is shown only once, when the tenant is registered: the command above holds a placeholder for it.'));
}

/** A labelled, copyable block of code. */
export function codeBlock(label, text) {
  const id = `code-${Math.random().toString(36).slice(2, 8)}`;
  const copy = actionButton('Copy', async (button) => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
      announce('Copied to the clipboard');
    } catch {
      announce('Copying is not allowed here; select the text instead.');
    }
  }, { class: 'small-button', 'aria-describedby': id });
  return h('figure', { class: 'code' },
    h('figcaption', { id }, label, ' ', copy),
    h('pre', { tabindex: '0' }, h('code', {}, text)));
}

function environmentList(ctx, slug, envs) {
  const table = envs.length
    ? h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, ['Environment', 'Status', 'Last operation', 'Config', 'Labels'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, envs.map((e) => h('tr', {},
        h('th', { scope: 'row' }, h('a', { href: paths.environment(slug, e.environment) }, e.environment)),
        h('td', {}, badge(e.status)),
        h('td', {}, e.last_operation ? h('a', { href: paths.operation(e.last_operation.id) }, `${e.last_operation.kind} ${e.last_operation.status}`) : '—'),
        h('td', {}, e.config_version ? `v${e.config_version}` : 'none'),
        h('td', {}, labelChips(e.labels))))))
    : h('p', { class: 'empty' }, 'No environments yet.');
  if (!ctx.can('operator')) return table;
  const error = h('p', { id: 'new-env-error', class: 'field-error', hidden: true });
  const input = h('input', { id: 'new-env', name: 'env', required: true, 'aria-describedby': 'new-env-hint new-env-error' });
  const form = h('form', { class: 'toolbar' },
    h('div', { class: 'field inline' },
      h('label', { for: 'new-env' }, 'New environment'),
      input,
      h('span', { id: 'new-env-hint', class: 'hint' }, 'lowercase, e.g. prod'),
      error),
    h('button', { type: 'submit' }, 'Write its config'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const env = input.value.trim();
    if (!/^[a-z][a-z0-9-]{0,19}$/.test(env)) {
      error.textContent = 'Use 1–20 lowercase letters, digits and hyphens, starting with a letter.';
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
      return;
    }
    ctx.navigate(paths.config(slug, env));
  });
  return [table, form];
}
