// The console's shell: finds out who is signed in (GET /console/session), routes /ui/… paths
// to pages without reloading, and keeps the header (navigation, who, sign out) current.

import { del, get, routes, setCsrf } from './api.js';
import { h, mount, announce, actionButton } from './dom.js';
import { available, loadFeatures } from './features.js';
import * as signin from './page-signin.js';
import * as fleet from './page-fleet.js';
import * as newTenant from './page-new-tenant.js';
import * as tenant from './page-tenant.js';
import * as environment from './page-environment.js';
import * as config from './page-config.js';
import * as operation from './page-operation.js';
import * as approvals from './page-approvals.js';
import * as drift from './page-drift.js';

/**
 * The pages. `needs` is the API route a page stands on (features.js); `nav` puts it in the
 * main navigation. Rollouts get their row here when their API exists.
 */
const ROUTES = [
  { pattern: /^\/(?:ui\/?)?$/, page: fleet, nav: 'Fleet', href: '/ui/', needs: '/api/v1/tenants' },
  { pattern: /^\/ui\/signin$/, page: signin, public: true },
  { pattern: /^\/ui\/tenants\/new$/, page: newTenant, needs: '/api/v1/tenants' },
  { pattern: /^\/ui\/tenants\/([^/]+)$/, page: tenant, needs: '/api/v1/tenants/{slug}' },
  { pattern: /^\/ui\/tenants\/([^/]+)\/environments\/([^/]+)$/, page: environment, needs: '/api/v1/tenants/{slug}/environments/{env}/status' },
  { pattern: /^\/ui\/tenants\/([^/]+)\/environments\/([^/]+)\/config$/, page: config, needs: '/api/v1/tenants/{slug}/environments/{env}/config' },
  { pattern: /^\/ui\/operations\/([^/]+)$/, page: operation, needs: '/api/v1/operations/{id}' },
  { pattern: /^\/ui\/approvals$/, page: approvals, nav: 'Pending approvals', href: '/ui/approvals', needs: '/api/v1/operations/{id}/approve' },
  { pattern: /^\/ui\/drift$/, page: drift, nav: 'Drift', href: '/ui/drift', needs: '/api/v1/drift' },
];

const ROLES = ['viewer', 'operator', 'admin'];
let session = null;
let leave = [];

/** Whether the signed-in role includes `role` (the API decides anyway). */
function can(role) {
  return session !== null && ROLES.indexOf(session.role) >= ROLES.indexOf(role);
}

async function loadSession() {
  try {
    session = await get(routes.session(), { quiet401: true });
  } catch {
    session = null;
  }
  setCsrf(session?.csrf_token);
}

/** Goes to `path` (a /ui/… path) without reloading; `replace` keeps history short. */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function renderHeader() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const links = session
    ? ROUTES.filter((r) => r.nav && available(r.needs)).map((r) => {
      const current = r.pattern.test(location.pathname);
      return h('a', { href: r.href, 'aria-current': current ? 'page' : null }, r.nav);
    })
    : [];
  mount(nav, links);
  if (!session) {
    mount(who);
    return;
  }
  const until = new Date(session.expires_at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  mount(who,
    h('span', { class: 'who-name' }, session.token_name),
    ' ', h('span', { class: ['badge', 'role'], title: 'your role' }, session.role),
    ' ', h('span', { class: 'muted small' }, `until ${until}`),
    ' ', actionButton('Sign out', signOut, { class: 'link-button' }));
}

async function signOut() {
  try { await del(routes.session()); } catch { /* the cookie is dropped either way below */ }
  session = null;
  setCsrf(null);
  announce('Signed out');
  navigate('/ui/signin', { replace: true });
}

async function render() {
  for (const fn of leave) fn();
  leave = [];
  const main = document.getElementById('main');
  const path = location.pathname;
  const route = ROUTES.find((r) => r.pattern.test(path));
  if (!route?.public && !session) {
    await loadSession();
    if (!session) {
      const next = path === '/' || path === '/ui/signin' ? '' : `?next=${encodeURIComponent(path)}`;
      history.replaceState(null, '', `/ui/signin${next}`);
      return render();
    }
  }
  renderHeader();
  if (!route || !available(route.needs)) {
    mount(main, h('h1', { tabindex: '-1' }, 'Not found'), h('p', {}, 'This console has no such page. ', h('a', { href: '/ui/' }, 'Back to the fleet')));
    focusHeading(main);
    return;
  }
  const params = path.match(route.pattern).slice(1).map(decodeURIComponent);
  const ctx = {
    main,
    params,
    query: new URLSearchParams(location.search),
    session,
    can,
    navigate,
    onLeave: (fn) => leave.push(fn),
    signedIn: async (s) => { session = s; setCsrf(s.csrf_token); },
  };
  mount(main, h('p', { class: 'muted' }, 'Loading…'));
  try {
    await route.page.render(ctx);
  } catch (e) {
    if (e?.status === 401) return;
    mount(main, h('h1', { tabindex: '-1' }, 'Something went wrong'), h('div', { class: 'alert', role: 'alert' }, e?.detail || String(e)));
  }
  focusHeading(main);
}

let loaded = false;

/**
 * After a move within the console, focus goes to the new page's heading, so keyboard and
 * screen-reader users start there; a fresh load leaves focus where the browser puts it (the
 * skip link comes first).
 */
function focusHeading(main) {
  const heading = main.querySelector('h1');
  if (!heading) return;
  heading.setAttribute('tabindex', '-1');
  if (loaded) heading.focus({ preventScroll: true });
  loaded = true;
  document.title = `${heading.textContent} · byoc`;
}

// Links inside the console navigate without a reload; others (downloads, /docs/) load normally.
document.addEventListener('click', (event) => {
  const a = event.target.closest?.('a[href]');
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || a.hasAttribute('download')) return;
  if (url.pathname !== '/' && !url.pathname.startsWith('/ui')) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener('popstate', render);

// Any API call answered 401: the session ended (expired, token revoked, signed out elsewhere).
window.addEventListener('byoc:signed-out', () => {
  if (!session) return;
  session = null;
  setCsrf(null);
  announce('Your session has ended; sign in again.');
  history.replaceState(null, '', `/ui/signin?ended=1&next=${encodeURIComponent(location.pathname)}`);
  render();
});

await loadFeatures();
render();
