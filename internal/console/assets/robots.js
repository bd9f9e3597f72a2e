// Robot accounts, of an organization (its robots tab) or of the signed-in
// user (the account page): the same Quay endpoints under either base.
import { h, replace } from './dom.js';
import { get, put, post, del, seg } from './api.js';
import { confirm, dialog, errorBox, field, secretDialog, table, toast, when } from './ui.js';

// createRobot makes a robot (PUT …/robots/{short} with its description)
// and shows its token once.
async function createRobot(base, owner, done) {
  const name = h('input', { required: true, autocomplete: 'off', spellcheck: false });
  const description = h('input', { autocomplete: 'off' });
  let made = null;
  const v = await dialog({ title: 'Create a robot account',
    body: [field('Robot name', name, `The robot logs in as ${owner}+name.`), field('Description', description)],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Create', value: 'ok' }],
    onSubmit: async () => { made = await put(`${base}/robots/${seg(name.value.trim())}`, { description: description.value }); } });
  if (v !== 'ok') return;
  done();
  await secretDialog(`Token of ${made.name}`, `Log in to the registry as ${made.name} with this token.`, made.token, null);
}

// robotsView lists the robot accounts of owner, an organization or the
// signed-in user, whose API is at base (/api/v1/organization/{org} or
// /api/v1/user): create one, show or regenerate its token, delete it.
export function robotsView(base, owner) {
  const box = h('div', { class: 'results' });
  const load = () => get(`${base}/robots`).then((data) => {
    const short = (r) => r.name.slice(r.name.indexOf('+') + 1);
    replace(box,
      h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'primary', onclick: () => createRobot(base, owner, load) }, 'Create robot account')),
      table({ caption: `Robot accounts of ${owner}`, rows: data.robots, empty: 'No robot account.', columns: [
        { label: 'Robot', render: (r) => r.name },
        { label: 'Description', render: (r) => r.description || '' },
        { label: 'Created', render: (r) => when(r.created) },
        { label: 'Last used', render: (r) => (r.last_accessed ? when(r.last_accessed) : 'never') },
        { label: 'Actions', render: (r) => h('div', { class: 'row-actions' },
          h('button', { type: 'button', class: 'secondary', 'aria-label': `Show token of ${r.name}`, onclick: async () => {
            try {
              const full = await get(`${base}/robots/${seg(short(r))}`);
              await secretDialog(`Token of ${r.name}`, `Log in to the registry as ${r.name} with this token.`, full.token, null);
            } catch (err) {
              await dialog({ title: `Token of ${r.name}`, body: [errorBox(err)] });
            }
          } }, 'Show token'),
          h('button', { type: 'button', class: 'secondary', 'aria-label': `Regenerate token of ${r.name}`, onclick: async () => {
            if (!await confirm('Regenerate robot token', `Give ${r.name} a new token? The current one stops working.`, { action: 'Regenerate' })) return;
            try {
              const fresh = await post(`${base}/robots/${seg(short(r))}/regenerate`);
              await secretDialog(`New token of ${r.name}`, `Log in to the registry as ${r.name} with this token.`, fresh.token, null);
            } catch (err) { toast(err.message, 'bad'); }
          } }, 'Regenerate token'),
          h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${r.name}`, onclick: async () => {
            if (!await confirm('Delete robot account', `Delete ${r.name}? Its token stops working.`, { action: 'Delete' })) return;
            try { await del(`${base}/robots/${seg(short(r))}`); toast(`Deleted ${r.name}.`); load(); } catch (err) { toast(err.message, 'bad'); }
          } }, 'Delete')) },
      ] }));
  }).catch((err) => replace(box, errorBox(err)));
  load();
  return box;
}
