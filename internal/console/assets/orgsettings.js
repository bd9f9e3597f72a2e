// An organization's settings (administrators: is_admin of its view): its
// e-mail, its time machine (tag_expiration_s: how long deleted and expired
// tags stay restorable, one of the instance's TAG_EXPIRATION_OPTIONS), and
// deleting it with its name typed.
import { h, replace } from './dom.js';
import { get, put, del, seg } from './api.js';
import { confirm, errorBox, field, toast } from './ui.js';
import { navigate } from './router.js';

// duration says a number of seconds in the largest whole unit.
function duration(s) {
  if (s === 0) return 'None: deleted tags go at once';
  for (const [n, unit] of [[604800, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute']]) {
    if (s % n === 0) return `${s / n} ${unit}${s / n === 1 ? '' : 's'}`;
  }
  return `${s} seconds`;
}

export function settingsView(org, session) {
  const box = h('div', { class: 'results' });
  const base = `/api/v1/organization/${seg(org)}`;
  get(base).then((o) => {
    if (!o.is_admin) {
      replace(box, h('p', null, 'Only administrators of the organization change its settings.'));
      return;
    }
    const email = h('input', { type: 'email', autocomplete: 'off', value: o.email || '' });
    const options = session.tag_expiration_options || [];
    // A value the configuration no longer offers is still shown as it is.
    const choices = options.includes(o.tag_expiration_s) ? options : [o.tag_expiration_s, ...options];
    const expiration = h('select', null, choices.map((s) => h('option', { value: String(s), selected: s === o.tag_expiration_s }, duration(s))));
    replace(box,
      h('form', { class: 'card', 'aria-label': 'Organization settings', onsubmit: async (e) => {
        e.preventDefault();
        try {
          const change = { email: email.value.trim() };
          if (Number(expiration.value) !== o.tag_expiration_s) change.tag_expiration_s = Number(expiration.value);
          const saved = await put(base, change);
          o.tag_expiration_s = saved.tag_expiration_s;
          toast('Saved.');
        } catch (err) { toast(err.message, 'bad'); }
      } },
      h('h2', null, 'Settings'),
      field('E-mail', email),
      field('Time machine', expiration, 'How long deleted and expired tags can be restored.'),
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
