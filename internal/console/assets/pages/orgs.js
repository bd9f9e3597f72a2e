// Superuser: every organization, searched, sorted and paged on the server
// (/api/v1/console/organizations); rename, e-mail, take ownership, quota
// with its Warning/Reject limits, and delete through Quay's API.
import { h, replace } from '../dom.js';
import { get, post, put, del, qs, seg } from '../api.js';
import { avatar, confirm, dialog, errorBox, field, pageSize, pager, searchBox, table, toast } from '../ui.js';
import { editQuota, usageCell } from '../quota.js';

export const title = 'Organizations';

async function editOrg(o, reload) {
  const name = h('input', { value: o.name, required: true, autocomplete: 'off', spellcheck: false });
  const email = h('input', { type: 'email', value: o.email || '', autocomplete: 'off' });
  const v = await dialog({ title: `Edit ${o.name}`,
    body: [field('Name', name, 'Renaming moves its repositories and robots with it; pull URLs change.'), field('E-mail', email)],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Save', value: 'save' }],
    onSubmit: async () => {
      const change = {};
      if (name.value.trim() !== o.name) change.name = name.value.trim();
      if (email.value.trim() !== (o.email || '')) change.email = email.value.trim();
      if (Object.keys(change).length) await put(`/api/v1/superuser/organizations/${seg(o.name)}`, change);
    } });
  if (v === 'save') { toast(`Saved ${name.value.trim()}.`); reload(); }
}

function actions(o, ctx, reload) {
  const ro = ctx.readOnly;
  return h('div', { class: 'row-actions' },
    h('button', { type: 'button', class: 'secondary', disabled: ro, 'aria-label': `Edit ${o.name}`, onclick: () => editOrg(o, reload) }, 'Edit'),
    ctx.session.features.quota ? h('button', { type: 'button', class: 'secondary', 'aria-label': `Quota of ${o.name}`,
      onclick: async () => { if (await editQuota(o.name, 'org', o, ro)) reload(); } }, 'Quota') : null,
    h('button', { type: 'button', class: 'secondary', disabled: ro, 'aria-label': `Take ownership of ${o.name}`, onclick: async () => {
      if (!await confirm('Take ownership', `Become an administrator of ${o.name}?`, { action: 'Take ownership', danger: false })) return;
      try { await post(`/api/v1/superuser/takeownership/${seg(o.name)}`); toast(`You administer ${o.name} now.`); reload(); } catch (err) { toast(err.message, 'bad'); }
    } }, 'Take ownership'),
    h('button', { type: 'button', class: 'danger', disabled: ro, 'aria-label': `Delete ${o.name}`, onclick: async () => {
      if (!await confirm('Delete organization', `Delete ${o.name} with its repositories, teams and robots? This cannot be undone.`, { action: 'Delete', typed: o.name })) return;
      try { await del(`/api/v1/superuser/organizations/${seg(o.name)}`); toast(`Deleted ${o.name}.`); reload(); } catch (err) { toast(err.message, 'bad'); }
    } }, 'Delete'));
}

export async function render(ctx) {
  const results = h('div', { class: 'results' });
  let current = ctx;
  const load = async (c) => {
    current = c;
    const q = c.query;
    const limit = pageSize(q);
    const sort = q.get('sort') || 'name';
    results.setAttribute('aria-busy', 'true');
    try {
      const data = await get(`/api/v1/console/organizations${qs({ q: q.get('q'), sort, offset: Number(q.get('offset') || 0), limit })}`);
      const columns = [
        { label: 'Name', sort: 'name', render: (o) => h('span', { class: 'who-cell' }, avatar(o.avatar, o.name), h('a', { href: `/organization/${seg(o.name)}` }, o.name)) },
        { label: 'E-mail', sort: 'email', render: (o) => o.email || '—' },
      ];
      if (c.session.features.quota) columns.push({ label: 'Storage', sort: 'usage', render: usageCell });
      columns.push({ label: 'Actions', render: (o) => actions(o, c, () => load(current)) });
      replace(results,
        table({ id: 'organizations', caption: `Organizations (${data.total.toLocaleString('en')})`, columns, rows: data.organizations, sort,
          onSort: (s) => c.setQuery({ sort: s, offset: null }) }),
        pager({ offset: data.offset, limit: data.limit, total: data.total,
          onChange: (p) => c.setQuery({ offset: p.offset || null, limit: p.limit }) }));
    } catch (err) {
      replace(results, errorBox(err));
    }
    results.removeAttribute('aria-busy');
  };
  const root = h('section', null,
    h('div', { class: 'page-head' }, h('h1', null, 'Organizations')),
    h('div', { class: 'toolbar' }, searchBox('Search organizations by name or e-mail', ctx.query.get('q'),
      (text) => current.setQuery({ q: text, offset: null }, { replace: true }))),
    results);
  root.refresh = load;
  await load(ctx);
  return root;
}
