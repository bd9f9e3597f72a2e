// A repository's settings (visibility, description, state, deletion with
// its name typed) and its usage logs. Controls are offered when the API says
// the caller administers the repository (can_admin); the API decides.
import { h, replace } from './dom.js';
import { get, put, post, del, qs } from './api.js';
import { check, confirm, errorBox, field, toast } from './ui.js';
import { navigate } from './router.js';
import { rowsOf } from './pages/logs.js';

export function settingsView(ctx, base, repo) {
  const ro = !repo.can_admin;
  const full = `${repo.namespace}/${repo.name}`;
  const isPublic = h('input', { type: 'checkbox', checked: repo.is_public, disabled: ro });
  const description = h('textarea', { rows: 4, disabled: ro, value: repo.description || '' });
  return h('div', null,
    ro ? h('p', { class: 'empty' }, 'You may not change this repository.') : null,
    h('form', { class: 'card', 'aria-label': 'Visibility and description', onsubmit: async (e) => {
      e.preventDefault();
      try {
        if (isPublic.checked !== repo.is_public) {
          await post(`${base}/changevisibility`, { visibility: isPublic.checked ? 'public' : 'private' });
        }
        if (description.value !== (repo.description || '')) await put(base, { description: description.value });
        toast('Saved.');
      } catch (err) {
        toast(err.message, 'bad');
      }
    } },
    h('h2', null, 'Visibility and description'),
    check('Public: anyone may pull it', isPublic),
    field('Description', description, 'Markdown: paragraphs, headings, lists, code, emphasis and http(s) links; HTML shows as text.'),
    h('button', { type: 'submit', class: 'primary', disabled: ro }, 'Save')),
    stateForm(base, repo, ro),
    badgeCard(repo),
    h('div', { class: 'card' }, h('h2', null, 'Delete the repository'),
      h('p', null, 'Its tags, manifests and builds go; blobs no other repository uses are collected.'),
      h('button', { type: 'button', class: 'danger', disabled: ro, onclick: async () => {
        if (!await confirm('Delete repository', `Delete ${full}? This cannot be undone.`, { action: 'Delete', typed: full })) return;
        try { await del(base); toast(`Deleted ${full}.`); navigate('/'); } catch (err) { toast(err.message, 'bad'); }
      } }, `Delete ${full}`)));
}

// badgeCard shows the build-status badge and the Markdown that embeds it;
// a private repository's URL carries its status token.
function badgeCard(repo) {
  const token = repo.status_token ? `?token=${encodeURIComponent(repo.status_token)}` : '';
  const url = `${location.origin}/repository/${encodeURIComponent(repo.namespace)}/${encodeURIComponent(repo.name)}/status${token}`;
  const markdown = h('input', { type: 'text', readOnly: true, value: `![build status](${url})` });
  return h('section', { class: 'card', 'aria-label': 'Build status badge' },
    h('h2', null, 'Build status badge'),
    h('p', null, h('img', { src: url, alt: 'Build status of the latest build' })),
    field('Markdown', markdown, repo.status_token
      ? 'The URL holds the repository\'s status token: whoever has it sees the state of its builds, nothing else.'
      : 'The repository is public: the badge needs no token.'));
}

const STATES = [['NORMAL', 'Normal: pushes and pulls'], ['READ_ONLY', 'Read-only: pulls only'], ['MIRROR', 'Mirror: only the mirror writes']];

// stateForm changes the repository's state (PUT …/changestate).
function stateForm(base, repo, ro) {
  const state = h('select', { disabled: ro }, STATES.map(([v, label]) => h('option', { value: v, selected: (repo.state || 'NORMAL') === v }, label)));
  return h('form', { class: 'card', 'aria-label': 'State', onsubmit: async (e) => {
    e.preventDefault();
    try { await put(`${base}/changestate`, { state: state.value }); toast(`State: ${state.value}.`); } catch (err) { toast(err.message, 'bad'); }
  } },
  h('h2', null, 'State'),
  field('State', state),
  h('button', { type: 'submit', class: 'primary', disabled: ro }, 'Save state'));
}

// logsView lists the usage logs at base + /logs (a repository's or an
// organization's), newest first, a page at a time.
export function logsView(base) {
  const box = h('div', { class: 'results' });
  const body = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more');
  let next = '';
  const load = async () => {
    const data = await get(`${base}/logs${qs({ next_page: next || null })}`);
    body.append(...rowsOf(data.logs));
    next = data.next_page || '';
    more.hidden = !next;
  };
  more.addEventListener('click', () => load().catch((err) => more.after(errorBox(err))));
  load().then(() => replace(box,
    h('div', { class: 'table-wrap' }, h('table', { class: 'logs' }, h('caption', null, 'Usage logs'),
      h('thead', null, h('tr', null, ['Time', 'Kind', 'Namespace', 'Performer', 'IP', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
      body)),
    body.children.length ? null : h('p', { class: 'empty' }, 'No entries in this window.'), more))
    .catch((err) => replace(box, errorBox(err)));
  return box;
}
