// The signed-in user's own account, as /api/v1/user/ shows it, the
// app-specific tokens that serve as registry passwords, and the user's
// robot accounts (robots.js).
import { h, replace } from '../dom.js';
import { get, post, del, seg } from '../api.js';
import { avatar, confirm, dialog, errorBox, field, secretDialog, table, toast, usageBar, when } from '../ui.js';
import { robotsView } from '../robots.js';

export const title = 'Account';

function profile(me) {
  const quota = me.quotas && me.quotas[0];
  const role = me.super_user ? 'Superuser' : me.global_readonly_super_user ? 'Read-only superuser' : 'User';
  return h('div', { class: 'card' },
    h('div', { class: 'account-head' }, avatar(me.avatar, me.username), h('h2', null, me.username)),
    h('dl', { class: 'facts' },
      h('dt', null, 'E-mail'), h('dd', null, me.email || '—'),
      h('dt', null, 'Role'), h('dd', null, role),
      h('dt', null, 'Organizations'), h('dd', null, me.organizations.length
        ? me.organizations.map((o, i) => [i ? ', ' : '', h('a', { href: `/organization/${seg(o.name)}` }, o.name), o.is_org_admin ? ' (admin)' : '']) : 'None'),
      h('dt', null, 'Repositories'), h('dd', null, h('a', { href: `/user/${seg(me.username)}` }, 'Your repositories')),
      me.quota_report ? [h('dt', null, 'Storage'), h('dd', null,
        usageBar(me.quota_report.quota_bytes, quota ? quota.limit_bytes : me.quota_report.configured_quota, quota ? quota.limits : []))] : null));
}

async function createToken(done) {
  const name = h('input', { required: true, autocomplete: 'off' });
  let created = null;
  const v = await dialog({ title: 'Create an app token', body: [field('Title', name, 'What the token is for, e.g. "CI on build-07".')],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Create', value: 'create' }],
    onSubmit: async () => { created = await post('/api/v1/user/apptoken', { title: name.value.trim() }); } });
  if (v !== 'create' || !created) return;
  done();
  await secretDialog(`Token ${created.token.title} created`,
    'Log in to the registry with the username $app and this token as the password. It is shown only now.',
    created.token.token_code, null);
}

function tokens() {
  const box = h('section', { class: 'results', 'aria-labelledby': 'tokens-h' });
  const load = async () => {
    try {
      const data = await get('/api/v1/user/apptoken');
      replace(box,
        h('div', { class: 'page-head' }, h('h2', { id: 'tokens-h' }, 'App tokens'),
          h('button', { type: 'button', class: 'primary', onclick: () => createToken(load) }, 'Create token')),
        table({ caption: `Your app tokens (${data.tokens.length})`, rows: data.tokens, empty: 'You have no app token.',
          columns: [
            { label: 'Title', render: (t) => t.title },
            { label: 'Created', render: (t) => when(t.created) },
            { label: 'Last used', render: (t) => (t.last_accessed ? when(t.last_accessed) : 'never') },
            { label: 'Expires', render: (t) => (t.expiration ? when(t.expiration) : 'never') },
            { label: 'Actions', render: (t) => h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke token ${t.title}`, onclick: async () => {
              if (!await confirm('Revoke token', `Revoke "${t.title}"? Logins with it stop working.`, { action: 'Revoke' })) return;
              try { await del(`/api/v1/user/apptoken/${seg(t.uuid)}`); toast('Revoked.'); load(); } catch (err) { toast(err.message, 'bad'); }
            } }, 'Revoke') },
          ] }));
    } catch (err) {
      replace(box, h('h2', { id: 'tokens-h' }, 'App tokens'), errorBox(err));
    }
  };
  load();
  return box;
}

export async function render(ctx) {
  const me = await get('/api/v1/user/');
  return h('section', null,
    h('h1', null, 'Your account'),
    profile(me),
    ctx.session.features.app_tokens ? tokens() : null,
    h('section', { 'aria-labelledby': 'robots-h' }, h('h2', { id: 'robots-h' }, 'Robot accounts'), robotsView('/api/v1/user', me.username)));
}
