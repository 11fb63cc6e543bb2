// Registering a tenant. The answer is the only time byoc shows the tenant's external ID: it
// is shown here once, with the onboarding command that holds it, and gone when the page is
// left (nothing keeps it: not the URL, not history, not storage).

import { post, routes } from './api.js';
import { announce, h, mount, paths, problemBox } from './dom.js';
import { codeBlock, onboardingBlock } from './page-tenant.js';

const FIELDS = [
  { name: 'name', label: 'Name', hint: 'Display name, e.g. Acme Corp', required: true },
  { name: 'slug', label: 'Slug', hint: '3–50 lowercase letters, digits and inner hyphens; names its stacks', required: true },
  { name: 'aws_account_id', label: 'AWS account ID', hint: '12 digits', required: true, inputmode: 'numeric' },
  { name: 'aws_region', label: 'Region', hint: 'Optional, default us-east-1' },
  { name: 'role_name', label: 'Role name', hint: 'Optional, default BYOCPlatformRole' },
];

export async function render(ctx) {
  if (!ctx.can('operator')) {
    mount(ctx.main, h('h1', {}, 'New tenant'), h('p', {}, 'Registering tenants needs the operator role.'));
    return;
  }
  const inputs = {};
  const errors = {};
  const fields = FIELDS.map((f) => {
    const id = `tenant-${f.name}`;
    errors[f.name] = h('p', { id: `${id}-error`, class: 'field-error', hidden: true });
    inputs[f.name] = h('input', { id, name: f.name, required: f.required, inputmode: f.inputmode, autocomplete: 'off', 'aria-describedby': `${id}-hint ${id}-error` });
    return h('div', { class: 'field' },
      h('label', { for: id }, f.label, f.required ? '' : ' (optional)'),
      h('p', { id: `${id}-hint`, class: 'hint' }, f.hint),
      inputs[f.name], errors[f.name]);
  });
  const general = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card', novalidate: true }, fields, general, h('button', { type: 'submit', class: 'primary' }, 'Register tenant'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const f of FIELDS) showError(f.name, null);
    mount(general);
    const body = {};
    for (const f of FIELDS) {
      const v = inputs[f.name].value.trim();
      if (v || f.required) body[f.name] = v;
    }
    try {
      const created = await post(routes.tenants(), body);
      showCreated(ctx, created);
    } catch (e) {
      const unplaced = [];
      for (const err of e.errors) {
        const name = err.field.replace(/^\//, '').split('/')[0];
        if (inputs[name]) showError(name, err.message);
        else unplaced.push(err);
      }
      if (!e.errors.length || unplaced.length) mount(general, problemBox(e));
      const first = FIELDS.find((f) => !errors[f.name].hidden);
      if (first) inputs[first.name].focus();
    }
  });
  function showError(name, message) {
    errors[name].textContent = message || '';
    errors[name].hidden = !message;
    if (message) inputs[name].setAttribute('aria-invalid', 'true');
    else inputs[name].removeAttribute('aria-invalid');
  }
  mount(ctx.main, h('p', { class: 'crumbs' }, h('a', { href: paths.fleet() }, 'Fleet'), ' / new tenant'), h('h1', {}, 'New tenant'), form);
}

function showCreated(ctx, created) {
  const t = created.tenant;
  mount(ctx.main,
    h('p', { class: 'crumbs' }, h('a', { href: paths.fleet() }, 'Fleet'), ' / ', t.slug),
    h('h1', {}, `Registered ${t.name}`),
    h('div', { class: 'notice warn', role: 'alert' },
      h('strong', {}, 'Save the external ID now: it is not shown again. '),
      'It goes to the tenant with the command below; byoc keeps it encrypted and never displays it after you leave this page.'),
    codeBlock('External ID', created.external_id),
    onboardingBlock(created.onboarding),
    h('p', {}, h('a', { class: 'button primary', href: paths.tenant(t.slug) }, `Continue to ${t.name}`)));
  announce(`Tenant ${t.slug} registered`);
}
