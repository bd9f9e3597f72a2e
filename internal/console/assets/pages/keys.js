// Superuser: service keys. Create (the private key shown once, with a
// download), approve, rename, extend and delete; filter by state in the URL.
import { h, replace } from '../dom.js';
import { get, post, put, del, seg } from '../api.js';
import { confirm, dialog, errorBox, field, secretDialog, table, toast, when } from '../ui.js';

export const title = 'Service keys';

const DAY = 86400;
const filters = [['all', 'All keys'], ['unapproved', 'Awaiting approval'], ['expiring', 'Expiring within 7 days'], ['expired', 'Expired']];

function expiresAt(k) {
  return k.expiration_date ? new Date(k.expiration_date).getTime() / 1000 : null;
}

function matches(k, filter, now) {
  const exp = expiresAt(k);
  switch (filter) {
    case 'unapproved': return !k.approval;
    case 'expiring': return exp !== null && exp > now && exp - now <= 7 * DAY;
    case 'expired': return exp !== null && exp <= now;
    default: return true;
  }
}

// dateInput returns a date field and a function reading it as Unix seconds (null = never).
function dateInput(initial) {
  const input = h('input', { type: 'date', value: initial ? new Date(initial * 1000).toISOString().slice(0, 10) : '' });
  return [input, () => (input.value ? Math.floor(new Date(`${input.value}T23:59:59Z`).getTime() / 1000) : null)];
}

async function createKey(reload) {
  const service = h('input', { required: true, autocomplete: 'off', spellcheck: false, placeholder: 'clair' });
  const name = h('input', { autocomplete: 'off' });
  const notes = h('input', { autocomplete: 'off' });
  const [exp, readExp] = dateInput(null);
  let created = null;
  const v = await dialog({ title: 'Create a service key',
    body: [field('Service', service), field('Name', name), field('Expires on (empty: never)', exp), field('Approval notes', notes)],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Create', value: 'create' }],
    onSubmit: async () => {
      created = await post('/api/v1/superuser/keys', { service: service.value.trim(), name: name.value.trim(), notes: notes.value, expiration: readExp() });
    } });
  if (v !== 'create' || !created) return;
  reload();
  await secretDialog(`Key ${created.kid} created`,
    'This is the private key. wharf does not keep it: download or copy it now, it is never shown again.',
    created.private_key, `${created.kid}.pem`);
}

async function editKey(k, reload) {
  const name = h('input', { value: k.name || '', autocomplete: 'off' });
  const [exp, readExp] = dateInput(expiresAt(k));
  const v = await dialog({ title: `Edit key ${k.kid}`, body: [field('Name', name), field('Expires on (empty: never)', exp)],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Save', value: 'save' }],
    onSubmit: () => put(`/api/v1/superuser/keys/${seg(k.kid)}`, { name: name.value, expiration: readExp() }) });
  if (v === 'save') { toast('Saved.'); reload(); }
}

async function approveKey(k, reload) {
  const notes = h('input', { autocomplete: 'off' });
  const v = await dialog({ title: `Approve key ${k.kid}`,
    body: [h('p', null, `Service ${k.service} may then sign tokens wharf accepts with this key.`), field('Notes', notes)],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Approve', value: 'approve' }],
    onSubmit: () => post(`/api/v1/superuser/approvedkeys/${seg(k.kid)}`, { notes: notes.value }) });
  if (v === 'approve') { toast(`Approved ${k.kid}.`); reload(); }
}

function state(k, now) {
  const exp = expiresAt(k);
  if (exp !== null && exp <= now) return h('span', { class: 'badge bad' }, 'expired');
  if (!k.approval) return h('span', { class: 'badge warn' }, 'awaiting approval');
  return h('span', { class: 'badge ok' }, 'approved');
}

export async function render(ctx) {
  const results = h('div', { class: 'results' });
  let current = ctx;
  const load = async (c) => {
    current = c;
    const filter = c.query.get('filter') || 'all';
    try {
      const data = await get('/api/v1/superuser/keys');
      const now = Date.now() / 1000;
      const rows = data.keys.filter((k) => matches(k, filter, now));
      const sel = h('select', { onchange: () => c.setQuery({ filter: sel.value === 'all' ? null : sel.value }) },
        filters.map(([v, l]) => h('option', { value: v, selected: v === filter }, l)));
      const ro = c.readOnly;
      replace(results,
        h('div', { class: 'toolbar' }, field('Show', sel)),
        table({ id: 'keys', caption: `Service keys (${rows.length} of ${data.keys.length})`, rows, empty: 'No key matches.',
          columns: [
            { label: 'Name', render: (k) => h('span', null, k.name || '(unnamed)', h('br'), h('code', { class: 'small' }, k.kid)) },
            { label: 'Service', render: (k) => k.service },
            { label: 'State', render: (k) => state(k, now) },
            { label: 'Created', render: (k) => when(k.created_date) },
            { label: 'Expires', render: (k) => (k.expiration_date ? when(k.expiration_date) : 'never') },
            { label: 'Actions', render: (k) => h('div', { class: 'row-actions' },
              !k.approval ? h('button', { type: 'button', class: 'primary', disabled: ro, 'aria-label': `Approve ${k.kid}`, onclick: () => approveKey(k, () => load(c)) }, 'Approve') : null,
              h('button', { type: 'button', class: 'secondary', disabled: ro, 'aria-label': `Edit ${k.kid}`, onclick: () => editKey(k, () => load(c)) }, 'Edit'),
              h('button', { type: 'button', class: 'danger', disabled: ro, 'aria-label': `Delete ${k.kid}`, onclick: async () => {
                if (!await confirm('Delete key', `Delete key ${k.kid} of ${k.service}? Tokens it signed stop working.`, { action: 'Delete' })) return;
                try { await del(`/api/v1/superuser/keys/${seg(k.kid)}`); toast('Deleted.'); load(c); } catch (err) { toast(err.message, 'bad'); }
              } }, 'Delete')) },
          ] }));
    } catch (err) {
      replace(results, errorBox(err));
    }
  };
  const root = h('section', null,
    h('div', { class: 'page-head' }, h('h1', null, 'Service keys'),
      h('button', { type: 'button', class: 'primary', disabled: ctx.readOnly, onclick: () => createKey(() => load(current)) }, 'Create key')),
    results);
  root.refresh = load;
  await load(ctx);
  return root;
}
