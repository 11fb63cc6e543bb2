// A form for a JSON document (a config request body), built from the document itself: objects
// become fieldsets, values become labelled inputs; the server's OpenAPI schema adds each field's
// description as a hint and turns enums into selects. Validation is the API's: its 422 lists
// each invalid field as a JSON pointer, and the message is shown next to that field (or the
// nearest enclosing fieldset when the field is not in the form).

import { h } from './dom.js';

let ids = 0;
const nextId = () => `cfg-${++ids}`;

/** Walks the OpenAPI schema alongside the document. */
class Schema {
  constructor(doc, node) {
    this.doc = doc;
    this.node = this.resolve(node);
  }

  resolve(node) {
    for (let i = 0; node && i < 20; i++) {
      if (node.$ref) node = this.doc?.components?.schemas?.[node.$ref.split('/').pop()];
      else if (node.allOf?.length === 1) node = node.allOf[0];
      else if (node.oneOf || node.anyOf) node = (node.oneOf || node.anyOf).find((n) => n.type !== 'null') || null;
      else break;
    }
    return node || null;
  }

  child(key) {
    const n = this.node;
    if (!n) return new Schema(this.doc, null);
    if (n.properties?.[key]) return new Schema(this.doc, n.properties[key]);
    if (n.items && /^\d+$/.test(key)) return new Schema(this.doc, n.items);
    if (n.additionalProperties && typeof n.additionalProperties === 'object') return new Schema(this.doc, n.additionalProperties);
    return new Schema(this.doc, null);
  }

  get description() { return this.node?.description || null; }
  get enum() { return Array.isArray(this.node?.enum) ? this.node.enum.filter((v) => v !== null) : null; }
  get types() { const t = this.node?.type; return new Set(Array.isArray(t) ? t : t ? [t] : []); }
  get isMap() { return Boolean(this.node?.additionalProperties) && !this.node?.properties; }
}

const isScalar = (v) => v === null || typeof v !== 'object';

/**
 * Builds the form for `value`. Returns {element, read(), showErrors(errors) → errors it could
 * not place, clearErrors()}.
 */
export function buildForm(value, { openapi = null, rootSchema = null, readOnly = false } = {}) {
  const fields = new Map();
  const root = new Schema(openapi, rootSchema ? { $ref: `#/components/schemas/${rootSchema}` } : null);
  const node = build(value, '', null, root, fields);
  const element = h('fieldset', { class: 'config-form', disabled: readOnly }, h('legend', { class: 'visually-hidden' }, 'Config'), node.el);
  return {
    element,
    read: () => node.read(),
    clearErrors() {
      for (const f of fields.values()) setError(f, null);
    },
    showErrors(errors) {
      this.clearErrors();
      const unplaced = [];
      const messages = new Map();
      for (const err of errors) {
        const target = findField(fields, err.field);
        if (!target) { unplaced.push(err); continue; }
        const text = target.pointer === err.field ? err.message : `${err.field}: ${err.message}`;
        messages.set(target, [...(messages.get(target) || []), text]);
      }
      for (const [f, list] of messages) setError(f, list.join(' '));
      return { unplaced, placed: [...messages.keys()].map((f) => ({ pointer: f.pointer, id: f.focusId })) };
    },
  };
}

function findField(fields, pointer) {
  if (!pointer?.startsWith('/')) return null;
  for (let p = pointer; p; p = p.slice(0, p.lastIndexOf('/'))) {
    if (fields.has(p)) return fields.get(p);
  }
  return null;
}

function setError(field, message) {
  field.error.textContent = message || '';
  field.error.hidden = !message;
  if (field.input) {
    if (message) field.input.setAttribute('aria-invalid', 'true');
    else field.input.removeAttribute('aria-invalid');
  }
  field.box.classList.toggle('has-error', Boolean(message));
}

function build(value, pointer, key, schema, fields) {
  if (!isScalar(value) && !Array.isArray(value)) {
    const flatMap = Object.values(value).every(isScalar) && (schema.isMap || !Object.keys(value).length);
    if (!flatMap || key === null) return objectNode(value, pointer, key, schema, fields);
  }
  if (Array.isArray(value) && value.some((v) => !isScalar(v))) return arrayNode(value, pointer, key, schema, fields);
  return leafNode(value, pointer, key, schema, fields);
}

function escapeKey(k) {
  return String(k).replace(/~/g, '~0').replace(/\//g, '~1');
}

function container(pointer, key, schema, fields, legendText, children) {
  const errorId = nextId();
  const error = h('p', { id: errorId, class: 'field-error', hidden: true });
  const hint = schema.description && key !== null ? h('p', { class: 'hint' }, schema.description) : null;
  const box = key === null
    ? h('div', {}, error, children)
    : h('fieldset', { 'data-pointer': pointer, 'aria-describedby': errorId }, h('legend', {}, legendText), hint, error, children);
  fields.set(pointer || '/', { pointer: pointer || '/', box, error, input: null, focusId: null });
  return box;
}

function objectNode(value, pointer, key, schema, fields) {
  const children = Object.entries(value).map(([k, v]) => [k, build(v, `${pointer}/${escapeKey(k)}`, k, schema.child(k), fields)]);
  const el = container(pointer, key, schema, fields, key, children.map(([, c]) => c.el));
  return {
    el,
    read() {
      const out = {};
      for (const [k, c] of children) out[k] = c.read();
      return out;
    },
  };
}

function arrayNode(value, pointer, key, schema, fields) {
  const children = value.map((v, i) => build(v, `${pointer}/${i}`, `${key} ${i + 1}`, schema.child(String(i)), fields));
  const el = container(pointer, key, schema, fields, `${key} (${value.length})`, children.map((c) => c.el));
  return { el, read: () => children.map((c) => c.read()) };
}

function leafNode(value, pointer, key, schema, fields) {
  const id = nextId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const kind = leafKind(value, schema);
  const described = [schema.description || kind.hint ? hintId : null, errorId].filter(Boolean).join(' ');
  let input;
  if (kind.name === 'bool') {
    input = h('input', { id, type: 'checkbox', checked: Boolean(value), 'aria-describedby': described });
  } else if (kind.name === 'enum') {
    input = h('select', { id, 'aria-describedby': described },
      value === null ? h('option', { value: '' }, '(default)') : null,
      kind.options.map((o) => h('option', { value: o }, o)));
    input.value = value ?? '';
  } else if (kind.name === 'map') {
    input = h('textarea', { id, rows: Math.max(2, Object.keys(value || {}).length + 1), 'aria-describedby': described, spellcheck: 'false' });
    input.value = Object.entries(value || {}).map(([k, v]) => `${k}=${v}`).join('\n');
  } else {
    input = h('input', { id, type: 'text', inputmode: kind.name === 'number' ? 'decimal' : null, spellcheck: 'false', autocomplete: 'off', 'aria-describedby': described });
    input.value = kind.name === 'list' ? (value || []).join(', ') : value ?? '';
  }
  const error = h('p', { id: errorId, class: 'field-error', hidden: true });
  const hintText = [schema.description, kind.hint].filter(Boolean).join(' ');
  const box = h('div', { class: ['field', kind.name === 'bool' ? 'checkbox' : null], 'data-pointer': pointer },
    kind.name === 'bool' ? [input, h('label', { for: id }, key)] : [h('label', { for: id }, key), input],
    hintText ? h('p', { id: hintId, class: 'hint' }, hintText) : null,
    error);
  fields.set(pointer, { pointer, box, error, input, focusId: id });
  return { el: box, read: () => readLeaf(input, kind) };
}

function leafKind(value, schema) {
  const types = schema.types;
  if (typeof value === 'boolean' || (value === null && types.has('boolean'))) return { name: 'bool' };
  if (schema.enum && (typeof value === 'string' || value === null)) return { name: 'enum', options: schema.enum };
  if (Array.isArray(value)) {
    const numeric = value.some((v) => typeof v === 'number') || ['integer', 'number'].includes(new Schema(schema.doc, schema.node?.items).node?.type);
    return { name: 'list', numeric, hint: 'Comma-separated.' };
  }
  if (value !== null && typeof value === 'object') return { name: 'map', hint: 'One key=value per line.' };
  if (typeof value === 'number' || types.has('integer') || types.has('number')) return { name: 'number' };
  return { name: 'text', nullable: value === null };
}

/** The input's value as JSON. Text that is not a number where one is expected is sent as it
 * is, so the API names the field; nothing is rejected here. */
function readLeaf(input, kind) {
  const raw = input.value;
  switch (kind.name) {
    case 'bool': return input.checked;
    case 'enum': return raw === '' ? null : raw;
    case 'number': return raw.trim() === '' ? null : /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw.trim()) : raw;
    case 'list': return raw.split(',').map((s) => s.trim()).filter(Boolean).map((s) => (kind.numeric && /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s));
    case 'map': return Object.fromEntries(raw.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
      const at = l.indexOf('=');
      return at < 0 ? [l, ''] : [l.slice(0, at).trim(), l.slice(at + 1).trim()];
    }));
    default: return kind.nullable && raw === '' ? null : raw;
  }
}
