// Superuser: usage logs over any window, filtered by kind, performer,
// namespace and repository (all in the URL), a chart of the counts where a
// bar narrows the window to itself, and the selection as a streamed
// NDJSON or CSV download. Two requests: the entries and the counts.
import { h, replace } from '../dom.js';
import { get, qs } from '../api.js';
import { errorBox, field, when } from '../ui.js';
import { chart, kindList } from '../logchart.js';

export const title = 'Usage logs';

const FILTERS = ['starttime', 'endtime', 'kind', 'performer', 'namespace', 'repository'];

function filtersOf(query) {
  const f = {};
  for (const k of FILTERS) f[k] = query.get(k) || '';
  return f;
}

function dateValue(v) {
  return /^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : '';
}

function filterForm(ctx, f) {
  const inputs = {
    starttime: h('input', { type: 'date', value: dateValue(f.starttime) }),
    endtime: h('input', { type: 'date', value: dateValue(f.endtime) }),
    kind: h('input', { value: f.kind, autocomplete: 'off', spellcheck: false, placeholder: 'e.g. push_repo' }),
    performer: h('input', { value: f.performer, autocomplete: 'off', spellcheck: false }),
    namespace: h('input', { value: f.namespace, autocomplete: 'off', spellcheck: false }),
    repository: h('input', { value: f.repository, autocomplete: 'off', spellcheck: false }),
  };
  const labels = { starttime: 'From', endtime: 'To (inclusive)', kind: 'Kind', performer: 'Performer', namespace: 'Namespace', repository: 'Repository' };
  return h('form', { class: 'filters', 'aria-label': 'Filters', onsubmit: (e) => {
    e.preventDefault();
    const change = {};
    for (const k of FILTERS) change[k] = inputs[k].value.trim() || null;
    ctx.setQuery(change);
  } },
  FILTERS.map((k) => field(labels[k], inputs[k])),
  h('div', { class: 'filter-actions' },
    h('button', { type: 'submit', class: 'primary' }, 'Apply'),
    h('button', { type: 'button', class: 'secondary', onclick: () => ctx.setQuery(Object.fromEntries(FILTERS.map((k) => [k, null]))) }, 'Clear')));
}

function metadata(m) {
  const text = JSON.stringify(m);
  return h('code', { class: 'meta' }, text === '{}' ? '' : text);
}

export function rowsOf(logs) {
  return logs.map((l) => h('tr', null,
    h('td', { 'data-label': 'Time' }, when(l.datetime)),
    h('td', { 'data-label': 'Kind' }, h('code', null, l.kind)),
    h('td', { 'data-label': 'Namespace' }, l.namespace ? l.namespace.name : '—'),
    h('td', { 'data-label': 'Performer' }, l.performer ? l.performer.name : '—'),
    h('td', { 'data-label': 'IP' }, l.ip || '—'),
    h('td', { 'data-label': 'Details' }, metadata(l.metadata))));
}

export async function render(ctx) {
  const chartBox = h('div', { class: 'card chart-card' });
  const results = h('div', { class: 'results' });
  const formBox = h('div');
  const downloads = h('p', { class: 'downloads' });
  const load = async (c) => {
    const f = filtersOf(c.query);
    replace(formBox, filterForm(c, f));
    const params = qs(f);
    replace(downloads, 'Download this selection: ',
      h('a', { href: `/export/logs${qs({ ...f, format: 'ndjson' })}`, download: '' }, 'NDJSON'), ' · ',
      h('a', { href: `/export/logs${qs({ ...f, format: 'csv' })}`, download: '' }, 'CSV'));
    results.setAttribute('aria-busy', 'true');
    const [page, counts] = await Promise.allSettled([get(`/api/v1/console/logs${params}`), get(`/api/v1/console/logs/counts${params}`)]);
    if (counts.status === 'fulfilled') {
      replace(chartBox, chart(counts.value, (range) => c.setQuery(range)), kindList(counts.value, f.kind, (kind) => c.setQuery({ kind })));
    } else replace(chartBox, errorBox(counts.reason));
    if (page.status === 'rejected') {
      replace(results, errorBox(page.reason));
      results.removeAttribute('aria-busy');
      return;
    }
    const body = h('tbody', null, rowsOf(page.value.logs));
    const more = h('button', { type: 'button', class: 'secondary' }, 'Show more');
    let next = page.value.next_page;
    more.hidden = !next;
    more.addEventListener('click', async () => {
      more.disabled = true;
      try {
        const nextPage = await get(`/api/v1/console/logs${qs({ ...f, next_page: next })}`);
        body.append(...rowsOf(nextPage.logs));
        next = nextPage.next_page;
        more.hidden = !next;
      } catch (err) {
        more.after(errorBox(err));
      }
      more.disabled = false;
    });
    replace(results,
      h('div', { class: 'table-wrap' }, h('table', { class: 'logs' },
        h('caption', null, `Entries from ${new Date(page.value.start_time).toUTCString()} to ${new Date(page.value.end_time).toUTCString()}`),
        h('thead', null, h('tr', null, ['Time', 'Kind', 'Namespace', 'Performer', 'IP', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
        body)),
      page.value.logs.length ? null : h('p', { class: 'empty' }, 'No entries match.'),
      more);
    results.removeAttribute('aria-busy');
  };
  const root = h('section', null, h('h1', null, 'Usage logs'), formBox, chartBox, downloads, results);
  root.refresh = load;
  await load(ctx);
  return root;
}
