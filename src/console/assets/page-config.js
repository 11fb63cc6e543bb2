// Editing an environment's config: a form (or the JSON itself) of the request body, saved with
// POST …/config. The API validates; each invalid field's message is shown next to the field,
// and a summary at the top links to every one. A viewer sees the form read-only.

import { get, post, routes } from './api.js';
import { announce, h, mount, paths } from './dom.js';
import { buildForm } from './configform.js';
import { openapi } from './features.js';

export async function render(ctx) {
  const [slug, env] = ctx.params;
  const editable = ctx.can('operator');
  const start = await get(routes.configRequest(slug, env));
  let value = start.request;
  let mode = 'form';
  let lastErrors = [];
  let form = null;

  const summary = h('div', { id: 'error-summary', tabindex: '-1' });
  const body = h('div');
  const jsonArea = h('textarea', { id: 'config-json', rows: 24, spellcheck: 'false', 'aria-describedby': 'config-json-hint config-json-errors' });
  const jsonErrors = h('ul', { id: 'config-json-errors', class: 'field-error-list' });
  const toggle = h('button', { type: 'button', id: 'config-mode' }, 'Edit as JSON');
  const save = h('button', { type: 'submit', class: 'primary', id: 'config-save' }, 'Validate and save');
  const status = h('div', { 'aria-live': 'polite' });

  const drawForm = () => {
    form = buildForm(value, { openapi: openapi(), rootSchema: 'EnvironmentConfigRequest', readOnly: !editable });
    mount(body, form.element);
    if (lastErrors.length) form.showErrors(lastErrors);
  };
  const drawJson = () => {
    jsonArea.value = JSON.stringify(value, null, 2);
    jsonArea.readOnly = !editable;
    mount(body, h('div', { class: 'field' },
      h('label', { for: 'config-json' }, 'Config (JSON request body)'),
      h('p', { id: 'config-json-hint', class: 'hint' }, 'Any field of the API\'s EnvironmentConfigRequest; defaults fill the rest.'),
      jsonArea, jsonErrors));
    drawJsonErrors();
  };
  const drawJsonErrors = () => mount(jsonErrors, lastErrors.map((e) => h('li', {}, h('code', {}, e.field), ` ${e.message}`)));
  // The document as it stands in the current mode; a JSON syntax error is reported here.
  const current = () => {
    if (mode === 'form') return form.read();
    try {
      return JSON.parse(jsonArea.value);
    } catch (e) {
      throw Object.assign(new Error(`The JSON is not valid: ${e.message}`), { local: true });
    }
  };

  toggle.addEventListener('click', () => {
    try {
      value = current();
    } catch (e) {
      showSummary([{ field: '/', message: e.message }], []);
      return;
    }
    mode = mode === 'form' ? 'json' : 'form';
    toggle.textContent = mode === 'form' ? 'Edit as JSON' : 'Edit as a form';
    (mode === 'form' ? drawForm : drawJson)();
  });

  const formEl = h('form', { novalidate: true, class: 'config-editor' }, summary, body,
    editable ? h('div', { class: 'actions' }, save, toggle) : h('div', { class: 'actions' }, toggle), status);
  formEl.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!editable) return;
    mount(status);
    let doc;
    try {
      doc = current();
    } catch (e) {
      showSummary([{ field: '/', message: e.message }], []);
      return;
    }
    save.disabled = true;
    try {
      const saved = await post(routes.config(slug, env), doc);
      value = doc;
      lastErrors = [];
      mount(summary);
      if (mode === 'form') form.clearErrors(); else drawJsonErrors();
      mount(status, h('div', { class: 'notice ok', role: 'status', id: 'config-saved' },
        `Saved version ${saved.version}. `, h('a', { href: paths.environment(slug, env) }, `Back to ${slug}/${env}`)));
      announce(`Config version ${saved.version} saved`);
    } catch (e) {
      lastErrors = e.errors?.length ? e.errors : [{ field: '/', message: e.detail }];
      let placed = [];
      if (mode === 'form') {
        const shown = form.showErrors(lastErrors);
        placed = shown.placed;
      } else {
        drawJsonErrors();
      }
      showSummary(lastErrors, placed);
    } finally {
      save.disabled = false;
    }
  });

  function showSummary(errors, placed) {
    const ids = new Map(placed.map((p) => [p.pointer, p.id]));
    const target = (field) => {
      for (let p = field; p; p = p.slice(0, p.lastIndexOf('/'))) if (ids.has(p)) return ids.get(p);
      return mode === 'json' ? 'config-json' : null;
    };
    mount(summary, h('div', { class: 'alert', role: 'alert' },
      h('h2', {}, errors.length === 1 ? 'The config has 1 problem' : `The config has ${errors.length} problems`),
      h('ul', {}, errors.map((e) => {
        const id = target(e.field);
        const text = [h('code', {}, e.field), ` ${e.message}`];
        return h('li', {}, id ? h('a', { href: `#${id}`, on: { click: (ev) => { ev.preventDefault(); document.getElementById(id)?.focus(); } } }, text) : text);
      }))));
    summary.focus();
  }

  mount(ctx.main,
    h('p', { class: 'crumbs' }, h('a', { href: paths.fleet() }, 'Fleet'), ' / ', h('a', { href: paths.tenant(slug) }, slug), ' / ', h('a', { href: paths.environment(slug, env) }, env), ' / config'),
    h('h1', {}, `Config of ${slug}/${env}`),
    h('p', { class: 'muted' }, start.version
      ? `Editing version ${start.version}; saving makes a new version.`
      : 'No config saved yet: this starts from byoc\'s defaults.'),
    editable ? null : h('p', { class: 'notice' }, 'Read only: saving a config needs the operator role.'),
    formEl);
  drawForm();
}
