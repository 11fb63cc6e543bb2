// The console talks to byoc through its public JSON API, exactly as any client does; the
// browser sends the session cookie, and every state-changing request carries the session's
// CSRF token. Errors are the API's problem+json documents, thrown as Problem.

let csrfToken = null;

/** Remembers the CSRF token of the signed-in session (kept in memory only). */
export function setCsrf(token) {
  csrfToken = token || null;
}

/** An API error: the problem+json document (status, type, title, detail, errors). */
export class Problem extends Error {
  constructor(status, body) {
    super(body?.detail || body?.title || `HTTP ${status}`);
    this.status = status;
    this.type = body?.type || 'about:blank';
    this.title = body?.title || '';
    this.detail = body?.detail || this.message;
    /** [{field: JSON pointer, message}] for validation failures. */
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
  }
}

const SAFE = new Set(['GET', 'HEAD']);

/**
 * Sends a request; resolves with the JSON body (or text with `{text: true}`, or null for 204).
 * A 401 also signals that the session ended (`byoc:signed-out` on window).
 */
export async function api(method, path, body, options = {}) {
  const headers = { Accept: options.accept || 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (!SAFE.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new Problem(0, { title: 'Network error', detail: `byoc did not answer (${e.message}).` });
  }
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  if (!response.ok) {
    const doc = type.includes('json') ? await response.json().catch(() => null) : null;
    const problem = new Problem(response.status, doc);
    if (response.status === 401 && !options.quiet401) {
      window.dispatchEvent(new CustomEvent('byoc:signed-out', { detail: problem }));
    }
    throw problem;
  }
  if (options.text) return response.text();
  return type.includes('json') ? response.json() : response.text();
}

export const get = (path, options) => api('GET', path, undefined, options);
export const post = (path, body, options) => api('POST', path, body ?? {}, options);
export const put = (path, body, options) => api('PUT', path, body ?? {}, options);
export const del = (path, options) => api('DELETE', path, undefined, options);

/** Every item of a cursor-paged list (`{items, next_cursor}`). */
export async function allPages(path) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

const enc = encodeURIComponent;

/** API paths. */
export const routes = {
  tenants: () => '/api/v1/tenants',
  tenant: (slug) => `/api/v1/tenants/${enc(slug)}`,
  onboarding: (slug) => `/api/v1/tenants/${enc(slug)}/onboarding`,
  verify: (slug) => `/api/v1/tenants/${enc(slug)}/verify`,
  template: () => '/api/v1/templates/customer-iam-role.yaml',
  env: (slug, env) => `/api/v1/tenants/${enc(slug)}/environments/${enc(env)}`,
  config: (slug, env, version) => `/api/v1/tenants/${enc(slug)}/environments/${enc(env)}/config${version ? `?version=${version}` : ''}`,
  program: (slug, env, version) => `/api/v1/tenants/${enc(slug)}/environments/${enc(env)}/program${version ? `?version=${version}` : ''}`,
  status: (slug, env) => `/api/v1/tenants/${enc(slug)}/environments/${enc(env)}/status`,
  outputs: (slug, env) => `/api/v1/tenants/${enc(slug)}/environments/${enc(env)}/outputs`,
  history: (slug, env, limit = 50) => `/api/v1/tenants/${enc(slug)}/environments/${enc(env)}/operations?limit=${limit}`,
  awaiting: (slug, env) => `/api/v1/tenants/${enc(slug)}/environments/${enc(env)}/operations?status=awaiting_approval&limit=200`,
  drift: (slug, env) => `/api/v1/tenants/${enc(slug)}/environments/${enc(env)}/drift`,
  fleetDrift: () => '/api/v1/drift',
  tenantLabels: (slug) => `/api/v1/tenants/${enc(slug)}/labels`,
  envLabels: (slug, env) => `/api/v1/tenants/${enc(slug)}/environments/${enc(env)}/labels`,
  start: (slug, env, action) => `/api/v1/tenants/${enc(slug)}/environments/${enc(env)}/${action}`,
  operation: (id) => `/api/v1/operations/${enc(id)}`,
  events: (id, after = 0) => `/api/v1/operations/${enc(id)}/events?after=${after}`,
  cancel: (id) => `/api/v1/operations/${enc(id)}/cancel`,
  plan: (id) => `/api/v1/operations/${enc(id)}/plan`,
  approve: (id) => `/api/v1/operations/${enc(id)}/approve`,
  reject: (id) => `/api/v1/operations/${enc(id)}/reject`,
  // Reads the public API does not offer yet (see src/console/readmodel.rs).
  environments: (slug, selector) => {
    const q = [slug ? `tenant=${enc(slug)}` : null, selector ? `selector=${enc(selector)}` : null].filter(Boolean);
    return `/api/v1/environments${q.length ? `?${q.join('&')}` : ''}`;
  },
  configRequest: (slug, env) => `/console/api/tenants/${enc(slug)}/environments/${enc(env)}/config-request`,
  session: () => '/console/session',
};
