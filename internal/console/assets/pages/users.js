// Superuser: every user of the instance, searched, sorted and paged on the
// server (/api/v1/console/users, one request a page); create, edit,
// enable/disable, take ownership, quota and delete through Quay's API.
import { h, replace } from '../dom.js';
import { get, post, put, del, qs, seg } from '../api.js';
import { avatar, check, confirm, dialog, errorBox, field, pageSize, pager, searchBox, secretDialog, table, toast } from '../ui.js';
import { editQuota, usageCell } from '../quota.js';

export const title = 'Users';

async function createUser(reload) {
  const name = h('input', { required: true, autocomplete: 'off', spellcheck: false });
  const email = h('input', { type: 'email', autocomplete: 'off' });
  let created = null;
  const v = await dialog({ title: 'Create a user', body: [field('Username', name), field('E-mail', email)],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Create', value: 'create' }],
    onSubmit: async () => { created = await post('/api/v1/superuser/users/', { username: name.value.trim(), email: email.value.trim() }); } });
  if (v !== 'create' || !created) return;
  reload();
  await secretDialog(`User ${created.username} created`, 'This is the generated password. It is shown only now: copy it and hand it over.',
    created.password, null);
}

async function editUser(u, reload) {
  const email = h('input', { type: 'email', value: u.email || '', autocomplete: 'off' });
  const password = h('input', { type: 'password', autocomplete: 'new-password' });
  const enabled = h('input', { type: 'checkbox', checked: u.enabled });
  const v = await dialog({ title: `Edit ${u.username}`,
    body: [field('E-mail', email), field('New password', password, 'Leave empty to keep the current one.'),
      check('Enabled (may sign in, push and pull)', enabled)],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Save', value: 'save' }],
    onSubmit: async () => {
      const change = {};
      if (email.value.trim() !== (u.email || '')) change.email = email.value.trim();
      if (password.value) change.password = password.value;
      if (enabled.checked !== u.enabled) change.enabled = enabled.checked;
      if (Object.keys(change).length) await put(`/api/v1/superuser/users/${seg(u.username)}`, change);
    } });
  if (v === 'save') { toast(`Saved ${u.username}.`); reload(); }
}

function actions(u, ctx, reload) {
  const ro = ctx.readOnly;
  const self = ctx.session.user && ctx.session.user.username === u.username;
  return h('div', { class: 'row-actions' },
    h('button', { type: 'button', class: 'secondary', disabled: ro, 'aria-label': `Edit ${u.username}`, onclick: () => editUser(u, reload) }, 'Edit'),
    ctx.session.features.quota ? h('button', { type: 'button', class: 'secondary', 'aria-label': `Quota of ${u.username}`,
      onclick: async () => { if (await editQuota(u.username, 'user', u, ro)) reload(); } }, 'Quota') : null,
    h('button', { type: 'button', class: 'secondary', disabled: ro || self, 'aria-label': `Take ownership of ${u.username}`, onclick: async () => {
      if (!await confirm('Take ownership', `Take ownership of ${u.username}'s namespace? It becomes an organization that you administer, as in Quay.`, { action: 'Take ownership' })) return;
      try { await post(`/api/v1/superuser/takeownership/${seg(u.username)}`); toast(`You own ${u.username} now.`); reload(); } catch (err) { toast(err.message, 'bad'); }
    } }, 'Take ownership'),
    h('button', { type: 'button', class: 'danger', disabled: ro || self, 'aria-label': `Delete ${u.username}`, onclick: async () => {
      if (!await confirm('Delete user', `Delete ${u.username} with all their repositories? This cannot be undone.`, { action: 'Delete', typed: u.username })) return;
      try { await del(`/api/v1/superuser/users/${seg(u.username)}`); toast(`Deleted ${u.username}.`); reload(); } catch (err) { toast(err.message, 'bad'); }
    } }, 'Delete'));
}

function status(u) {
  return h('span', null,
    h('span', { class: ['badge', u.enabled ? 'ok' : 'bad'] }, u.enabled ? 'enabled' : 'disabled'),
    u.super_user ? h('span', { class: 'badge info' }, 'superuser') : null,
    u.global_readonly_super_user ? h('span', { class: 'badge info' }, 'read-only superuser') : null);
}

export async function render(ctx) {
  const results = h('div', { class: 'results' });
  let current = ctx;
  const load = async (c) => {
    current = c;
    const q = c.query;
    const limit = pageSize(q);
    const sort = q.get('sort') || 'name';
    const offset = Number(q.get('offset') || 0);
    results.setAttribute('aria-busy', 'true');
    try {
      const data = await get(`/api/v1/console/users${qs({ q: q.get('q'), sort, offset, limit })}`);
      const columns = [
        { label: 'Username', sort: 'name', render: (u) => h('span', { class: 'who-cell' }, avatar(u.avatar, u.username), u.username) },
        { label: 'E-mail', sort: 'email', render: (u) => u.email || '—' },
        { label: 'Status', render: status },
      ];
      if (c.session.features.quota) columns.push({ label: 'Storage', sort: 'usage', render: usageCell });
      columns.push({ label: 'Actions', render: (u) => actions(u, c, () => load(current)) });
      replace(results,
        table({ id: 'users', caption: `Users (${data.total.toLocaleString('en')})`, columns, rows: data.users, sort,
          onSort: (s) => c.setQuery({ sort: s, offset: null }) }),
        pager({ offset: data.offset, limit: data.limit, total: data.total,
          onChange: (p) => c.setQuery({ offset: p.offset || null, limit: p.limit }) }));
    } catch (err) {
      replace(results, errorBox(err));
    }
    results.removeAttribute('aria-busy');
  };
  const root = h('section', null,
    h('div', { class: 'page-head' }, h('h1', null, 'Users'),
      h('button', { type: 'button', class: 'primary', disabled: ctx.readOnly, onclick: () => createUser(() => load(current)) }, 'Create user')),
    h('div', { class: 'toolbar' }, searchBox('Search users by name or e-mail', ctx.query.get('q'),
      (text) => current.setQuery({ q: text, offset: null }, { replace: true }))),
    results);
  root.refresh = load;
  await load(ctx);
  return root;
}
