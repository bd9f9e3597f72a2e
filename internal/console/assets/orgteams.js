// An organization's teams tab: its teams with role, members and
// description; an administrator (is_admin of the organization's view)
// creates, edits and deletes teams and adds and removes members, users or
// robots, through Quay's team endpoints; anyone who sees a team sees the
// repositories it is granted.
import { h, replace } from './dom.js';
import { get, put, del, seg } from './api.js';
import { avatar, confirm, dialog, errorBox, field, table, toast } from './ui.js';

const ROLES = [['member', 'Member: reads what the team is granted'], ['creator', 'Creator: also creates repositories'], ['admin', 'Admin: administers the organization']];

// teamDialog creates a team (t null) or edits t's role and description.
async function teamDialog(org, t, done) {
  const name = h('input', { required: true, autocomplete: 'off', spellcheck: false });
  const role = h('select', null, ROLES.map(([v, label]) => h('option', { value: v, selected: t ? t.role === v : v === 'member' }, label)));
  const description = h('textarea', { rows: 3, value: t ? t.description || '' : '' });
  const v = await dialog({ title: t ? `Edit team ${t.name}` : 'Create a team',
    body: [t ? null : field('Team name', name), field('Role', role), field('Description', description)],
    buttons: [{ label: 'Cancel', value: null }, { label: t ? 'Save' : 'Create', value: 'ok' }],
    onSubmit: () => put(`/api/v1/organization/${seg(org)}/team/${seg(t ? t.name : name.value.trim())}`,
      { role: role.value, description: description.value }) });
  if (v === 'ok') { toast(t ? 'Saved.' : 'Created.'); done(); }
}

// membersDialog lists a team's members; an administrator adds a user or
// a robot (org+name) and removes members.
async function membersDialog(org, team, canAdmin, done) {
  const base = `/api/v1/organization/${seg(org)}/team/${seg(team)}/members`;
  const list = h('ul', { class: 'members', 'aria-live': 'polite' }, h('li', null, 'Loading…'));
  const who = h('input', { autocomplete: 'off', spellcheck: false, disabled: !canAdmin });
  let changed = false;
  const load = async () => {
    try {
      const data = await get(base);
      replace(list, data.members.length ? data.members.map((m) => h('li', null, avatar(m.avatar, m.name), ' ', m.name, m.is_robot ? ' (robot)' : '', ' ',
        canAdmin ? h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${m.name}`, onclick: async () => {
          try { await del(`${base}/${seg(m.name)}`); changed = true; toast(`Removed ${m.name}.`); load(); } catch (err) { toast(err.message, 'bad'); }
        } }, 'Remove') : null)) : h('li', null, 'No member.'));
    } catch (err) {
      replace(list, h('li', null, errorBox(err)));
    }
  };
  const add = h('button', { type: 'button', class: 'secondary', disabled: !canAdmin, onclick: async () => {
    const name = who.value.trim();
    if (!name) return;
    try { await put(`${base}/${seg(name)}`); changed = true; who.value = ''; toast(`Added ${name}.`); load(); } catch (err) { toast(err.message, 'bad'); }
  } }, 'Add member');
  const open = dialog({ title: `Team ${team}`, body: [list, canAdmin ? h('div', { class: 'toolbar' }, field('User or robot (org+name)', who), add) : null] });
  load();
  await open;
  if (changed) done();
}

// permissionsDialog lists the repositories team is granted, with the role.
async function permissionsDialog(org, team) {
  const box = h('div', { class: 'results', 'aria-live': 'polite' }, h('p', null, 'Loading…'));
  const open = dialog({ title: `Permissions of team ${team}`, body: [box] });
  try {
    const data = await get(`/api/v1/organization/${seg(org)}/team/${seg(team)}/permissions`);
    replace(box, table({ caption: `Repositories team ${team} is granted`, rows: data.permissions, empty: 'The team is granted no repository.', columns: [
      // Following a link closes the dialog (the router then shows the page).
      { label: 'Repository', render: (p) => h('a', { href: `/repository/${seg(org)}/${seg(p.repository.name)}`,
        onclick: (e) => e.target.closest('dialog').dispatchEvent(new Event('cancel')) }, p.repository.name) },
      { label: 'Visibility', render: (p) => (p.repository.is_public ? 'public' : 'private') },
      { label: 'Permission', render: (p) => p.role },
    ] }));
  } catch (err) {
    replace(box, errorBox(err));
  }
  await open;
}

export function teamsView(org) {
  const box = h('div', { class: 'results' });
  const load = () => get(`/api/v1/organization/${seg(org)}`).then((o) => {
    if (!o.teams) {
      replace(box, h('p', null, 'Only members of the organization see its teams.'));
      return;
    }
    const canAdmin = o.is_admin;
    const rows = o.ordered_teams.map((n) => o.teams[n]);
    replace(box,
      h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'primary', disabled: !canAdmin, onclick: () => teamDialog(org, null, load) }, 'Create team')),
      table({ caption: `Teams of ${org}`, rows, empty: 'No team.', columns: [
        { label: 'Team', render: (t) => t.name },
        { label: 'Role', render: (t) => t.role },
        { label: 'Members', render: (t) => String(t.member_count) },
        { label: 'Description', render: (t) => t.description || '' },
        { label: 'Actions', render: (t) => h('div', { class: 'row-actions' },
          h('button', { type: 'button', class: 'secondary', 'aria-label': `Members of ${t.name}`, onclick: () => membersDialog(org, t.name, canAdmin, load) }, 'Members'),
          h('button', { type: 'button', class: 'secondary', 'aria-label': `Permissions of ${t.name}`, onclick: () => permissionsDialog(org, t.name) }, 'Permissions'),
          h('button', { type: 'button', class: 'secondary', disabled: !canAdmin, 'aria-label': `Edit ${t.name}`, onclick: () => teamDialog(org, t, load) }, 'Edit'),
          h('button', { type: 'button', class: 'danger', disabled: !canAdmin, 'aria-label': `Delete ${t.name}`, onclick: async () => {
            if (!await confirm('Delete team', `Delete team ${t.name}? Its members lose what it grants.`, { action: 'Delete' })) return;
            try { await del(`/api/v1/organization/${seg(org)}/team/${seg(t.name)}`); toast(`Deleted ${t.name}.`); load(); } catch (err) { toast(err.message, 'bad'); }
          } }, 'Delete')) },
      ] }));
  }).catch((err) => replace(box, errorBox(err)));
  load();
  return box;
}
