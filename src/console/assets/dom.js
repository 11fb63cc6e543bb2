// Building the page: every element comes from h(), and every piece of data reaches the page as
// text (textContent, attribute values), never as HTML, so no value from the API can inject
// markup. The CSP's Trusted Types rule makes the browser enforce it.

/** h('a', {href, class, on: {click}}, 'text', child, [children…]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'on') {
      for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    } else if (key === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else if (key === 'text') {
      el.textContent = value;
    } else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'hidden' || key === 'open') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Says `text` to screen readers (a polite live region). */
export function announce(text) {
  const region = document.getElementById('announce');
  if (!region) return;
  region.textContent = '';
  // A fresh text node after a tick is announced even when it repeats the last message.
  setTimeout(() => { region.textContent = text; }, 50);
}

/** A status word as a badge; colour is never the only cue: the word is the badge. */
export function badge(status) {
  const word = String(status || 'unknown');
  return h('span', { class: ['badge', `st-${word.replace(/[^a-z_]/g, '')}`] }, word.replace(/_/g, ' '));
}

/** A local date and time, with the exact ISO time in a title. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  return h('time', { datetime: iso, title: iso }, d.toLocaleString());
}

/** `1m 05s`, `2h 03m`, `12s`. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Seconds between two ISO times (or until now). */
export function between(startIso, endIso) {
  if (!startIso) return null;
  const end = endIso ? new Date(endIso) : new Date();
  return (end - new Date(startIso)) / 1000;
}

/** An alert box for a problem (or any error); `role=alert` so it is read out at once. */
export function problemBox(error) {
  const detail = error?.detail || error?.message || String(error);
  const title = error?.title && error.title !== detail ? `${error.title}: ` : '';
  return h('div', { class: 'alert', role: 'alert' }, title + detail);
}

/** A section with a heading. */
export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), ...children);
}

/** A definition list from [term, value] pairs (values may be nodes). */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** A button that runs `action` once at a time (disabled while it runs). */
export function actionButton(label, action, attrs = {}) {
  const button = h('button', { type: 'button', ...attrs }, label);
  button.addEventListener('click', async () => {
    if (button.disabled) return;
    button.disabled = true;
    try { await action(button); } finally { if (button.isConnected) button.disabled = false; }
  });
  return button;
}

/** `/ui/…` path helpers (each segment encoded). */
export const paths = {
  fleet: () => '/ui/',
  tenant: (slug) => `/ui/tenants/${encodeURIComponent(slug)}`,
  environment: (slug, env) => `/ui/tenants/${encodeURIComponent(slug)}/environments/${encodeURIComponent(env)}`,
  config: (slug, env) => `/ui/tenants/${encodeURIComponent(slug)}/environments/${encodeURIComponent(env)}/config`,
  operation: (id) => `/ui/operations/${encodeURIComponent(id)}`,
};
