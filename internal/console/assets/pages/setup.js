// First-user set-up of an empty instance (Quay's /api/v1/user/initialize):
// the user becomes a superuser and is signed in.
import { h } from '../dom.js';
import { api } from '../api.js';
import { errorBox, field } from '../ui.js';

export const title = 'Set up wharf';

export function render(ctx) {
  if (ctx.session.initialized) {
    return h('section', { class: 'card narrow' }, h('h1', null, 'wharf is set up'),
      h('p', null, 'This instance already has its first user. ', h('a', { href: '/signin' }, 'Sign in'), '.'));
  }
  if (!ctx.session.features.user_initialize) {
    return h('section', { class: 'card narrow' }, h('h1', null, 'Set up wharf'),
      h('p', null, 'This instance has no users, and creating the first one here is turned off (FEATURE_USER_INITIALIZE).'));
  }
  const user = h('input', { autocomplete: 'username', required: true, spellcheck: false });
  const email = h('input', { type: 'email', autocomplete: 'email' });
  const pass = h('input', { type: 'password', autocomplete: 'new-password', required: true });
  const secret = h('input', { type: 'password', autocomplete: 'off' });
  const err = h('div', { class: 'form-error' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create the administrator');
  return h('form', { class: 'card narrow', onsubmit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    err.replaceChildren();
    try {
      const extraHeaders = secret.value ? { 'X-Wharf-Bootstrap-Secret': secret.value } : {};
      await api('POST', '/api/v1/user/initialize', { username: user.value, password: pass.value, email: email.value }, { extraHeaders });
      await ctx.signedIn('/');
    } catch (ex) {
      err.append(errorBox(ex));
      submit.disabled = false;
    }
  } },
  h('h1', null, 'Set up wharf'),
  h('p', null, 'Create the first user of this instance. It becomes a superuser and can then create everything else.'),
  field('Username', user), field('E-mail (optional)', email), field('Password', pass, 'At least 8 characters.'),
  field('Bootstrap secret (only if BOOTSTRAP_SECRET is configured)', secret), err, submit);
}
