// An organization's default permissions (Quay's prototypes): what a new
// repository grants, to a user, robot or team, when anyone (or a given
// user) creates it. Administrators list, add, change the permission of and
// delete them.
import { h, replace } from './dom.js';
import { get, post, put, del, seg } from './api.js';
import { confirm, dialog, errorBox, field, table, toast } from './ui.js';

const ROLES = ['read', 'write', 'admin'];

async function createDefault(org, done) {
  const activating = h('input', { autocomplete: 'off', spellcheck: false });
  const kind = h('select', null, h('option', { value: 'user' }, 'User or robot'), h('option', { value: 'team' }, 'Team'));
  const delegate = h('input', { required: true, autocomplete: 'off', spellcheck: false });
  const role = h('select', null, ROLES.map((r) => h('option', { value: r }, r)));
  const v = await dialog({ title: 'Add a default permission',
    body: [field('Repositories created by', activating, 'A user; empty: anyone.'), field('Grant to', kind), field('Name', delegate, 'A user, a robot (org+name) or a team of this organization.'), field('Permission', role)],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Add', value: 'ok' }],
    onSubmit: () => post(`/api/v1/organization/${seg(org)}/prototypes`, {
      role: role.value, delegate: { name: delegate.value.trim(), kind: kind.value },
      activating_user: activating.value.trim() ? { name: activating.value.trim() } : null }) });
  if (v === 'ok') { toast('Added.'); done(); }
}

// editDefault changes what p grants (Quay lets only its role change).
async function editDefault(org, p, done) {
  const role = h('select', null, ROLES.map((r) => h('option', { value: r, selected: r === p.role }, r)));
  const who = p.activating_user ? `${p.activating_user.name}'s` : 'anyone\'s';
  const v = await dialog({ title: `Default permission for ${p.delegate.name}`,
    body: [h('p', null, `On ${who} new repositories, ${p.delegate.name} is granted:`), field('Permission', role)],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Save', value: 'ok' }],
    onSubmit: () => put(`/api/v1/organization/${seg(org)}/prototypes/${seg(p.id)}`, { role: role.value }) });
  if (v === 'ok') { toast('Saved.'); done(); }
}

export function defaultsView(org) {
  const box = h('div', { class: 'results' });
  const load = () => get(`/api/v1/organization/${seg(org)}/prototypes`).then((data) => {
    replace(box,
      h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'primary', onclick: () => createDefault(org, load) }, 'Add default permission')),
      table({ caption: `Default permissions of ${org}`, rows: data.prototypes, empty: 'No default permission.', columns: [
        { label: 'Repositories created by', render: (p) => (p.activating_user ? p.activating_user.name : 'anyone') },
        { label: 'Granted to', render: (p) => `${p.delegate.name} (${p.delegate.kind === 'team' ? 'team' : p.delegate.is_robot ? 'robot' : 'user'})` },
        { label: 'Permission', render: (p) => p.role },
        { label: 'Actions', render: (p) => h('div', { class: 'row-actions' },
          h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit default permission for ${p.delegate.name}`, onclick: () => editDefault(org, p, load) }, 'Edit'),
          h('button', { type: 'button', class: 'danger', 'aria-label': `Delete default permission for ${p.delegate.name}`, onclick: async () => {
            if (!await confirm('Delete default permission', `New repositories stop granting ${p.role} to ${p.delegate.name}.`, { action: 'Delete' })) return;
            try { await del(`/api/v1/organization/${seg(org)}/prototypes/${seg(p.id)}`); toast('Deleted.'); load(); } catch (err) { toast(err.message, 'bad'); }
          } }, 'Delete')) },
      ] }));
  }).catch((err) => replace(box, errorBox(err)));
  load();
  return box;
}
