// An organization's settings (administrators: is_admin of its view): its
// e-mail, and deleting it with its name typed.
import { h, replace } from './dom.js';
import { get, put, del, seg } from './api.js';
import { confirm, errorBox, field, toast } from './ui.js';
import { navigate } from './router.js';

export function settingsView(org) {
  const box = h('div', { class: 'results' });
  const base = `/api/v1/organization/${seg(org)}`;
  get(base).then((o) => {
    if (!o.is_admin) {
      replace(box, h('p', null, 'Only administrators of the organization change its settings.'));
      return;
    }
    const email = h('input', { type: 'email', autocomplete: 'off', value: o.email || '' });
    replace(box,
      h('form', { class: 'card', 'aria-label': 'Organization settings', onsubmit: async (e) => {
        e.preventDefault();
        try {
          await put(base, { email: email.value.trim() });
          toast('Saved.');
        } catch (err) { toast(err.message, 'bad'); }
      } },
      h('h2', null, 'Settings'),
      field('E-mail', email),
      h('button', { type: 'submit', class: 'primary' }, 'Save')),
      h('div', { class: 'card' }, h('h2', null, 'Delete the organization'),
        h('p', null, 'Its repositories, teams and robot accounts go.'),
        h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!await confirm('Delete organization', `Delete ${org}? This cannot be undone.`, { action: 'Delete', typed: org })) return;
          try { await del(base); toast(`Deleted ${org}.`); navigate('/'); } catch (err) { toast(err.message, 'bad'); }
        } }, `Delete ${org}`)));
  }).catch((err) => replace(box, errorBox(err)));
  return box;
}
