// An organization's OAuth applications (administrators only): list,
// create (the client secret shown then and on request), edit, reset the
// client secret (the old one stops) and delete.
import { h, replace } from './dom.js';
import { get, post, put, del, seg } from './api.js';
import { confirm, dialog, errorBox, field, secretDialog, table, toast } from './ui.js';

// applicationDialog creates an application (a null), its client secret
// shown then, or edits a's name, URLs and description.
async function applicationDialog(org, a, done) {
  const name = h('input', { required: true, autocomplete: 'off', value: a ? a.name : '' });
  const appURI = h('input', { type: 'url', autocomplete: 'off', spellcheck: false, value: a ? a.application_uri || '' : '' });
  const redirect = h('input', { type: 'url', autocomplete: 'off', spellcheck: false, value: a ? a.redirect_uri || '' : '' });
  const description = h('textarea', { rows: 3, value: a ? a.description || '' : '' });
  const base = `/api/v1/organization/${seg(org)}/applications`;
  let made = null;
  const v = await dialog({ title: a ? `Edit ${a.name}` : 'Create an OAuth application',
    body: [field('Application name', name), field('Homepage URL', appURI), field('Redirect URL', redirect, 'Where the authorization sends the user back.'), field('Description', description)],
    buttons: [{ label: 'Cancel', value: null }, { label: a ? 'Save' : 'Create', value: 'ok' }],
    onSubmit: async () => {
      const body = { name: name.value.trim(), application_uri: appURI.value.trim(), redirect_uri: redirect.value.trim(), description: description.value };
      made = a ? await put(`${base}/${seg(a.client_id)}`, body) : await post(base, body);
    } });
  if (v !== 'ok') return;
  done();
  if (a) toast(`Saved ${made.name}.`);
  else await secretDialog(`${made.name}: client secret`, `Client ID ${made.client_id}. Keep the secret where the application runs.`, made.client_secret, null);
}

export function applicationsView(org) {
  const box = h('div', { class: 'results' });
  const base = `/api/v1/organization/${seg(org)}/applications`;
  const load = () => get(base).then((data) => {
    replace(box,
      h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'primary', onclick: () => applicationDialog(org, null, load) }, 'Create application')),
      table({ caption: `OAuth applications of ${org}`, rows: data.applications, empty: 'No OAuth application.', columns: [
        { label: 'Application', render: (a) => a.name },
        { label: 'Client ID', render: (a) => h('code', null, a.client_id) },
        { label: 'Redirect URL', render: (a) => a.redirect_uri || '—' },
        { label: 'Description', render: (a) => a.description || '' },
        { label: 'Actions', render: (a) => h('div', { class: 'row-actions' },
          h('button', { type: 'button', class: 'secondary', 'aria-label': `Show secret of ${a.name}`, onclick: async () => {
            try {
              const full = await get(`${base}/${seg(a.client_id)}`);
              await secretDialog(`${a.name}: client secret`, `Client ID ${a.client_id}.`, full.client_secret, null);
            } catch (err) { toast(err.message, 'bad'); }
          } }, 'Show secret'),
          h('button', { type: 'button', class: 'secondary', 'aria-label': `Edit ${a.name}`, onclick: () => applicationDialog(org, a, load) }, 'Edit'),
          h('button', { type: 'button', class: 'secondary', 'aria-label': `Reset secret of ${a.name}`, onclick: async () => {
            if (!await confirm('Reset client secret', `Give ${a.name} a new client secret? The current one stops working.`, { action: 'Reset' })) return;
            try {
              const fresh = await post(`${base}/${seg(a.client_id)}/resetclientsecret`);
              await secretDialog(`${a.name}: new client secret`, `Client ID ${a.client_id}. Keep the secret where the application runs.`, fresh.client_secret, null);
            } catch (err) { toast(err.message, 'bad'); }
          } }, 'Reset secret'),
          h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${a.name}`, onclick: async () => {
            if (!await confirm('Delete OAuth application', `Delete ${a.name}? Its tokens stop working.`, { action: 'Delete' })) return;
            try { await del(`${base}/${seg(a.client_id)}`); toast(`Deleted ${a.name}.`); load(); } catch (err) { toast(err.message, 'bad'); }
          } }, 'Delete')) },
      ] }));
  }).catch((err) => replace(box, errorBox(err)));
  load();
  return box;
}
