// Sign-in with a password (Quay's /api/v1/signin, with the CSRF token of
// the anonymous session cookie).
import { h } from '../dom.js';
import { post } from '../api.js';
import { errorBox, field } from '../ui.js';

export const title = 'Sign in';

export function render(ctx) {
  const user = h('input', { name: 'username', autocomplete: 'username', required: true, spellcheck: false });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const err = h('div', { class: 'form-error' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'card narrow', onsubmit: async (e) => {
    e.preventDefault();
    submit.disabled = true;
    err.replaceChildren();
    try {
      await post('/api/v1/signin', { username: user.value, password: pass.value });
      await ctx.signedIn(ctx.query.get('next') || '/');
    } catch (ex) {
      err.append(errorBox(ex));
      submit.disabled = false;
      pass.select();
    }
  } },
  h('h1', null, 'Sign in to wharf'),
  ctx.session.user ? h('p', null, `You are signed in as ${ctx.session.user.username}. `, h('a', { href: '/' }, 'Go to the console')) : null,
  field('Username', user), field('Password', pass), err, submit);
  return form;
}
