// A label set on a page: shown as `key=value` chips; operators and admins edit it as text
// (one `key=value` per line) and save it with `PUT …/labels`, the API's field errors listed
// under the box.

import { put } from './api.js';
import { actionButton, announce, h, mount, problemBox } from './dom.js';
import { formatLabels, parseLabels } from './labels.js';

/** Chips for a label set (or "none"). */
export function labelChips(labels) {
  const keys = Object.keys(labels || {}).sort();
  if (!keys.length) return h('span', { class: 'muted' }, 'none');
  return h('ul', { class: 'labels', 'aria-label': 'Labels' }, keys.map((k) => h('li', { class: 'label' }, h('code', {}, `${k}=${labels[k]}`))));
}

/**
 * The labels block: chips, and for operators an editor that saves to `path`. `id` makes
 * element ids unique on the page (`tenant`, `env`).
 */
export function labelsBlock(ctx, id, initial, path) {
  let labels = { ...(initial || {}) };
  const chips = h('div', { id: `${id}-labels` });
  const draw = () => mount(chips, labelChips(labels));
  draw();
  if (!ctx.can('operator')) return chips;
  const box = h('textarea', { id: `${id}-labels-text`, rows: 4, spellcheck: 'false', 'aria-describedby': `${id}-labels-hint ${id}-labels-error` });
  box.value = formatLabels(labels);
  const hint = h('p', { id: `${id}-labels-hint`, class: 'hint' }, 'One key=value per line, e.g. ring=canary. Saving replaces every label.');
  const errors = h('div', { id: `${id}-labels-error`, 'aria-live': 'polite' });
  const editor = h('details', { class: 'labels-edit' },
    h('summary', {}, 'Edit labels'),
    h('div', { class: 'field' }, h('label', { for: `${id}-labels-text` }, 'Labels'), hint, box),
    actionButton('Save labels', async () => {
      mount(errors);
      const parsed = parseLabels(box.value);
      if (parsed.errors.length) {
        box.setAttribute('aria-invalid', 'true');
        mount(errors, h('ul', { class: 'field-error', role: 'alert' }, parsed.errors.map((e) => h('li', {}, e))));
        return;
      }
      try {
        const saved = await put(path, { labels: parsed.labels });
        labels = saved.labels;
        box.removeAttribute('aria-invalid');
        box.value = formatLabels(labels);
        draw();
        mount(errors, h('p', { class: 'notice ok', role: 'status' }, 'Labels saved.'));
        announce('Labels saved');
      } catch (e) {
        box.setAttribute('aria-invalid', 'true');
        mount(errors, problemBox(e), e.errors?.length
          ? h('ul', { class: 'field-error' }, e.errors.map((x) => h('li', {}, h('code', {}, x.field), ': ', x.message)))
          : null);
      }
    }, { id: `${id}-labels-save` }),
    errors);
  return [chips, editor];
}
