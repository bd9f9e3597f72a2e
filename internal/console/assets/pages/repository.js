// A repository: its tags (Quay's tag API, one request a page besides the
// repository's own view): digest, size, age, expiration, manifest-list
// children; add, move, expire, delete, restore from history, and bulk deletion of
// tags chosen across pages, search, history and the page in the URL; its
// settings and its logs (reposettings.js), each tab a path of its own.
import { h, replace } from '../dom.js';
import { get, put, del, post, qs, seg } from '../api.js';
import { settingsView, logsView } from '../reposettings.js';
import { permissionsView } from '../repopermissions.js';
import { buildsView } from '../repobuilds.js';
import { markdown } from '../markdown.js';
import { bytes, check, confirm, dialog, errorBox, field, searchBox, table, toast, when } from '../ui.js';

export const title = 'Repository';

const short = (d) => (d ? d.replace(/^sha256:/, '').slice(0, 12) : '—');

function ago(ts) {
  const s = Math.max(0, Date.now() / 1000 - ts);
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

// children lists a manifest list's platforms (one request, on demand).
async function showChildren(base, t) {
  const list = h('ul', { class: 'children' }, h('li', null, 'Loading…'));
  const open = dialog({ title: `${t.name}: platforms`, body: [h('p', null, h('code', null, t.manifest_digest)), list] });
  try {
    const m = await get(`${base}/manifest/${seg(t.manifest_digest)}`);
    const data = JSON.parse(m.manifest_data);
    replace(list, (data.manifests || []).map((c) => h('li', null,
      `${c.platform ? `${c.platform.os}/${c.platform.architecture}${c.platform.variant ? `/${c.platform.variant}` : ''}` : 'unknown platform'} `,
      h('code', null, short(c.digest)), ` · ${bytes(c.size)}`)));
  } catch (err) {
    replace(list, h('li', null, errorBox(err)));
  }
  await open;
}

async function tagDialog(base, t, mode, done) {
  const name = h('input', { required: true, autocomplete: 'off', spellcheck: false, value: mode === 'move' ? t.name : '' });
  const digest = h('input', { required: true, autocomplete: 'off', spellcheck: false, value: mode === 'move' ? '' : t.manifest_digest });
  const body = mode === 'move'
    ? [h('p', null, `Point ${t.name} at another manifest of this repository.`), field('Manifest digest', digest)]
    : [h('p', null, `A new tag for ${short(t.manifest_digest)}.`), field('Tag name', name)];
  const v = await dialog({ title: mode === 'move' ? `Move ${t.name}` : 'Add a tag', body,
    buttons: [{ label: 'Cancel', value: null }, { label: mode === 'move' ? 'Move' : 'Add', value: 'ok' }],
    onSubmit: () => put(`${base}/tag/${seg(name.value.trim())}`, { manifest_digest: digest.value.trim() }) });
  if (v === 'ok') { toast('Saved.'); done(); }
}

// localInput formats seconds since the epoch for a datetime-local input.
function localInput(ts) {
  const d = new Date(ts * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// expiryDialog sets or clears a tag's expiration (PUT …/tag/{tag} with
// expiration: seconds since the epoch, or null for never); the server
// judges the time (not in the past, within the configured bounds).
async function expiryDialog(base, t, done) {
  const at = h('input', { type: 'datetime-local', value: t.end_ts ? localInput(t.end_ts) : '' });
  const v = await dialog({ title: `Expiration of ${t.name}`,
    body: [h('p', null, `When ${t.name} ends; empty: never. The manifest stays while other tags use it.`), field('Expires at (your local time)', at)],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Save', value: 'ok' }],
    onSubmit: () => {
      let expiration = null;
      if (at.value) {
        const ms = new Date(at.value).getTime();
        if (Number.isNaN(ms)) throw new Error('That is not a date and time.');
        expiration = Math.floor(ms / 1000);
      }
      return put(`${base}/tag/${seg(t.name)}`, { expiration });
    } });
  if (v === 'ok') { toast('Saved.'); done(); }
}

// tagsView is the tags tab; writes are offered when the API says the
// caller may write (can_write of the repository view).
function tagsView(ctx, base, repo) {
  const canWrite = repo.can_write;
  const chosen = new Set(); // tags chosen for bulk deletion, kept across pages
  const results = h('div', { class: 'results' });
  const bulk = h('div', { class: 'bulk', 'aria-live': 'polite' });
  let current = ctx;
  const drawBulk = () => replace(bulk, chosen.size ? [`${chosen.size} tag${chosen.size === 1 ? '' : 's'} chosen `,
    h('button', { type: 'button', class: 'danger', onclick: async () => {
      if (!await confirm('Delete tags', `Delete ${[...chosen].join(', ')}?`, { action: `Delete ${chosen.size}` })) return;
      const failed = [];
      for (const t of chosen) {
        try { await del(`${base}/tag/${seg(t)}`); } catch (err) { failed.push(`${t}: ${err.message}`); }
      }
      chosen.clear();
      toast(failed.length ? `Not deleted: ${failed.join('; ')}` : 'Deleted.', failed.length ? 'bad' : 'ok');
      load(current);
    } }, 'Delete chosen'),
    h('button', { type: 'button', class: 'secondary', onclick: () => { chosen.clear(); load(current); } }, 'Clear choice')] : null);
  const load = async (c) => {
    current = c;
    const q = c.query;
    const history = q.get('history') === '1';
    const page = Math.max(1, Number(q.get('page') || 1));
    const filter = q.get('q');
    results.setAttribute('aria-busy', 'true');
    try {
      const data = await get(`${base}/tag/${qs({ page, limit: 25, onlyActiveTags: history ? null : 'true', filter_tag_name: filter ? `like:${filter}` : null })}`);
      const now = Date.now() / 1000;
      const columns = [
        { label: 'Choose', render: (t) => (t.end_ts ? '' : h('input', { type: 'checkbox', checked: chosen.has(t.name), disabled: !canWrite, 'aria-label': `Choose ${t.name}`,
          onchange: (e) => { if (e.target.checked) chosen.add(t.name); else chosen.delete(t.name); drawBulk(); } })) },
        { label: 'Tag', fixed: true, render: (t) => h('span', null, h('strong', null, t.name), t.is_manifest_list ? h('span', { class: 'badge info' }, 'manifest list') : null) },
        { label: 'Digest', render: (t) => h('code', { title: t.manifest_digest }, short(t.manifest_digest)) },
        { label: 'Size', render: (t) => (t.size === null ? '—' : bytes(t.size)) },
        { label: 'Changed', render: (t) => h('span', { title: t.last_modified }, ago(t.start_ts)) },
        { label: history ? 'Ended' : 'Expires', render: (t) => (t.end_ts ? (t.end_ts > now ? when(t.expiration) : h('span', null, 'ended ', when(t.expiration))) : 'never') },
        { label: 'Actions', render: (t) => h('div', { class: 'row-actions' },
          t.is_manifest_list ? h('button', { type: 'button', class: 'secondary', 'aria-label': `Platforms of ${t.name}`, onclick: () => showChildren(base, t) }, 'Platforms') : null,
          t.end_ts && t.end_ts <= now
            ? h('button', { type: 'button', class: 'secondary', disabled: !canWrite, 'aria-label': `Restore ${t.name} to ${short(t.manifest_digest)}`, onclick: async () => {
              try { await post(`${base}/tag/${seg(t.name)}/restore`, { manifest_digest: t.manifest_digest }); toast(`Restored ${t.name}.`); load(current); } catch (err) { toast(err.message, 'bad'); }
            } }, 'Restore')
            : [h('button', { type: 'button', class: 'secondary', disabled: !canWrite, 'aria-label': `Add tag to ${t.name}'s manifest`, onclick: () => tagDialog(base, t, 'add', () => load(current)) }, 'Add tag'),
              h('button', { type: 'button', class: 'secondary', disabled: !canWrite, 'aria-label': `Move ${t.name}`, onclick: () => tagDialog(base, t, 'move', () => load(current)) }, 'Move'),
              h('button', { type: 'button', class: 'secondary', disabled: !canWrite, 'aria-label': `Expiry of ${t.name}`, onclick: () => expiryDialog(base, t, () => load(current)) }, 'Expiry'),
              h('button', { type: 'button', class: 'danger', disabled: !canWrite, 'aria-label': `Delete ${t.name}`, onclick: async () => {
                if (!await confirm('Delete tag', `Delete ${t.name}? Its manifest stays while other tags use it.`, { action: 'Delete' })) return;
                try { await del(`${base}/tag/${seg(t.name)}`); chosen.delete(t.name); toast(`Deleted ${t.name}.`); load(current); } catch (err) { toast(err.message, 'bad'); }
              } }, 'Delete')]) },
      ];
      const historyBox = h('input', { type: 'checkbox', checked: history, onchange: (e) => c.setQuery({ history: e.target.checked ? '1' : null, page: null }) });
      replace(results,
        h('div', { class: 'toolbar' }, check('Show history (ended tags, to restore)', historyBox)),
        table({ id: 'tags', caption: history ? `Tag history, page ${page}` : `Tags, page ${page}`, columns, rows: data.tags, empty: 'No tag here.' }),
        h('nav', { class: 'pager', 'aria-label': 'Pages' },
          h('button', { type: 'button', class: 'secondary', disabled: page <= 1, onclick: () => c.setQuery({ page: page - 1 > 1 ? page - 1 : null }) }, 'Previous'),
          h('span', null, `Page ${page}`),
          h('button', { type: 'button', class: 'secondary', disabled: !data.has_additional, onclick: () => c.setQuery({ page: page + 1 }) }, 'Next')));
      drawBulk();
    } catch (err) {
      replace(results, errorBox(err));
    }
    results.removeAttribute('aria-busy');
  };
  const root = h('div', null,
    h('div', { class: 'toolbar' }, searchBox('Search tags', ctx.query.get('q'), (text) => current.setQuery({ q: text, page: null }, { replace: true }))),
    bulk, results);
  root.refresh = load;
  return { root, ready: load(ctx) };
}

const TABS = [['tags', 'Tags'], ['builds', 'Builds'], ['permissions', 'Permissions'], ['settings', 'Settings'], ['logs', 'Logs']];

export async function render(ctx) {
  const { namespace, name } = ctx.params;
  const base = `/api/v1/repository/${seg(namespace)}/${seg(name)}`;
  const repo = await get(base);
  const tab = TABS.some(([t]) => t === ctx.params.tab) ? ctx.params.tab : 'tags';
  const pull = `docker pull ${location.host}/${namespace}/${name}`;
  let view;
  let refresh = null;
  if (tab === 'tags') {
    const tv = tagsView(ctx, base, repo);
    await tv.ready;
    view = tv.root;
    refresh = tv.root.refresh;
  } else if (tab === 'settings') {
    view = settingsView(ctx, base, repo);
  } else if (tab === 'builds') {
    view = buildsView(base, repo);
  } else if (tab === 'permissions') {
    view = permissionsView(base, repo);
  } else {
    view = logsView(base);
  }
  const root = h('section', null,
    h('h1', null, `${namespace}/${name}`),
    h('p', null, h('span', { class: ['badge', repo.is_public ? 'ok' : 'info'] }, repo.is_public ? 'public' : 'private'),
      repo.state && repo.state !== 'NORMAL' ? h('span', { class: 'badge warn' }, repo.state) : null),
    repo.description ? h('div', { class: 'description md' }, markdown(repo.description, { headingBase: 2 })) : null,
    h('div', { class: 'card pull' }, h('label', { for: 'pull-cmd' }, 'Pull'), h('input', { id: 'pull-cmd', readOnly: true, value: pull, spellcheck: false }),
      h('button', { type: 'button', class: 'secondary', onclick: async () => {
        try { await navigator.clipboard.writeText(pull); toast('Copied.'); } catch { document.getElementById('pull-cmd').select(); }
      } }, 'Copy')),
    h('nav', { class: 'tabs', 'aria-label': 'Repository' }, TABS.map(([t, label]) =>
      h('a', { href: `/repository/${seg(namespace)}/${seg(name)}${t === 'tags' ? '' : `/${t}`}`, 'aria-current': t === tab ? 'page' : null }, label))),
    view);
  // The tags tab keeps its state in the query (search, page, history);
  // each tab has a path of its own.
  if (refresh) root.refresh = refresh;
  return root;
}
