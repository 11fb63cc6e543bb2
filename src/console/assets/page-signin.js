// Sign in: the API token is sent once to POST /console/session, which answers an HttpOnly
// session cookie; the token is then dropped from the page (never stored in the browser).

import { post, routes } from './api.js';
import { h, mount } from './dom.js';

export async function render(ctx) {
  const error = h('p', { id: 'token-error', class: 'field-error', hidden: true });
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
    required: true, 'aria-describedby': 'token-hint token-error',
  });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'card narrow', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'token' }, 'API token'),
      h('p', { id: 'token-hint', class: 'hint' }, 'A token from `byoc tokens create` or the first admin token. It is exchanged for a session of at most 8 hours and is not kept by the browser.'),
      input,
      error),
    button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    // The token leaves the page as soon as it is sent.
    input.value = '';
    if (!token) return showError('Enter an API token.');
    button.disabled = true;
    try {
      const session = await post(routes.session(), { token }, { quiet401: true });
      await ctx.signedIn(session);
      const next = ctx.query.get('next');
      ctx.navigate(next && next.startsWith('/ui') ? next : '/ui/', { replace: true });
    } catch (e) {
      showError(e.status === 401 ? 'That token is not valid, or it was revoked.' : e.detail);
    } finally {
      button.disabled = false;
    }
  });
  function showError(text) {
    error.textContent = text;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
  const ended = ctx.query.get('ended')
    ? h('p', { class: 'notice', role: 'status' }, 'Your session has ended. Sign in again to continue.')
    : null;
  mount(ctx.main, h('h1', {}, 'Sign in to byoc'), ended, form);
}
