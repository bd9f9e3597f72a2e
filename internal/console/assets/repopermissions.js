// A repository's permissions: users' and robots' own grants beside the
// grants its organization's teams hold, with their roles changed, removed
// or added through the permission API (which decides who may).
import { h, replace } from './dom.js';
import { get, put, del, seg } from './api.js';
import { errorBox, field, table, toast } from './ui.js';

const ROLES = ['read', 'write', 'admin'];

function roleSelect(label, role, onChange, disabled) {
  return h('select', { 'aria-label': label, disabled, onchange: (e) => onChange(e.target.value) },
    ROLES.map((r) => h('option', { value: r, selected: r === role }, r)));
}

export function permissionsView(base, repo) {
  const box = h('div', { class: 'results' });
  const ro = !repo.can_admin;
  const load = async () => {
    try {
      const [users, teams] = await Promise.all([get(`${base}/permissions/user/`), get(`${base}/permissions/team/`)]);
      const grant = (kind, name) => async (role) => {
        try { await put(`${base}/permissions/${kind}/${seg(name)}`, { role }); toast(`${name} may ${role} now.`); load(); } catch (err) { toast(err.message, 'bad'); }
      };
      const revoke = (kind, name) => async () => {
        try { await del(`${base}/permissions/${kind}/${seg(name)}`); toast(`Removed ${name}'s grant.`); load(); } catch (err) { toast(err.message, 'bad'); }
      };
      const rows = (perms) => Object.values(perms.permissions).sort((a, b) => a.name.localeCompare(b.name));
      const columns = (kind) => [
        { label: kind === 'team' ? 'Team' : 'User or robot', render: (p) => `${p.name}${p.is_robot ? ' (robot)' : ''}` },
        { label: 'Role', render: (p) => roleSelect(`Role of ${p.name}`, p.role, grant(kind, p.name), ro) },
        { label: 'Actions', render: (p) => h('button', { type: 'button', class: 'danger', disabled: ro, 'aria-label': `Remove ${p.name}`, onclick: revoke(kind, p.name) }, 'Remove') },
      ];
      const who = h('input', { autocomplete: 'off', spellcheck: false, disabled: ro });
      const role = h('select', { disabled: ro }, ROLES.map((r) => h('option', { value: r }, r)));
      replace(box,
        h('div', { class: 'grid2' },
          table({ caption: 'Granted to users and robots', rows: rows(users), columns: columns('user'), empty: 'No user or robot has a grant of its own.' }),
          table({ caption: 'Granted to teams', rows: rows(teams), columns: columns('team'), empty: 'No team has a grant.' })),
        h('form', { class: 'card row', 'aria-label': 'Grant a user or robot', onsubmit: (e) => {
          e.preventDefault();
          if (who.value.trim()) grant('user', who.value.trim())(role.value);
        } }, field('User or robot (org+name)', who), field('Role', role), h('button', { type: 'submit', class: 'primary', disabled: ro }, 'Grant')));
    } catch (err) {
      replace(box, errorBox(err));
    }
  };
  load();
  return box;
}
