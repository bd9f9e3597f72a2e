// Superuser: what the registry stores. Its total size (recomputed on
// request, the calculation's state polled while it runs), what the blob
// collector reclaimed, and each namespace's usage against its quota,
// largest first (two requests: the size, and the namespaces with what the
// collector reclaimed).
import { h, replace } from '../dom.js';
import { get, post, qs } from '../api.js';
import { avatar, bytes, errorBox, pageSize, pager, table, toast, usageBar, when } from '../ui.js';

export const title = 'Storage';

function sizeCard(ctx) {
  const card = h('div', { class: 'card', 'aria-live': 'polite' });
  let timer = 0;
  const load = async () => {
    clearTimeout(timer);
    try {
      const rs = await get('/api/v1/superuser/registrysize/');
      const busy = rs.queued || rs.running;
      replace(card,
        h('h2', null, 'Registry size'),
        h('p', { class: 'big' }, bytes(rs.size_bytes)),
        h('p', null, 'Last computed: ', rs.last_ran ? when(new Date(rs.last_ran).toISOString()) : 'never',
          busy ? h('span', { class: 'badge info' }, rs.running ? 'computing' : 'queued') : null),
        h('button', { type: 'button', class: 'secondary', disabled: ctx.readOnly || busy, onclick: async () => {
          try { await post('/api/v1/superuser/registrysize/'); toast('Recomputing the registry size.'); load(); } catch (err) { toast(err.message, 'bad'); }
        } }, 'Recompute'));
      if (busy && document.contains(card)) timer = setTimeout(load, 3000);
    } catch (err) {
      replace(card, h('h2', null, 'Registry size'), errorBox(err));
    }
  };
  load();
  return card;
}

// collectionCard shows what the blob collector reclaimed (c: the
// namespaces answer's collection): in all its runs, every process's, and
// in the last one.
function collectionCard(card, c) {
  replace(card, h('h2', null, 'Garbage collection'),
    h('p', { class: 'big' }, `${bytes(c.bytes)} reclaimed`),
    h('p', null, `${c.blobs} blob${c.blobs === 1 ? '' : 's'} and ${c.links} unused upload link${c.links === 1 ? '' : 's'} removed in ${c.runs} run${c.runs === 1 ? '' : 's'}.`),
    h('p', null, 'Last run: ', c.last_run ? [when(c.last_run.at), ` — ${bytes(c.last_run.bytes)} in ${c.last_run.blobs} blob${c.last_run.blobs === 1 ? '' : 's'}`] : 'never'));
}

export async function render(ctx) {
  const results = h('div', { class: 'results' });
  const collection = h('div', { class: 'card collection' }, h('h2', null, 'Garbage collection'));
  const load = async (c) => {
    const limit = pageSize(c.query);
    const sort = c.query.get('sort') || '-usage';
    try {
      const data = await get(`/api/v1/console/namespaces${qs({ sort, offset: Number(c.query.get('offset') || 0), limit })}`);
      collectionCard(collection, data.collection);
      replace(results,
        table({ caption: 'Usage by namespace', sort, onSort: (s) => c.setQuery({ sort: s, offset: null }), rows: data.namespaces,
          empty: 'No namespace stores anything yet.',
          columns: [
            { label: 'Namespace', sort: 'name', render: (n) => h('span', { class: 'who-cell' }, avatar(n.avatar, n.name), n.name) },
            { label: 'Kind', render: (n) => (n.kind === 'org' ? 'organization' : 'user') },
            { label: 'Used', sort: 'usage', render: (n) => bytes(n.used_bytes) },
            { label: 'Quota', render: (n) => usageBar(n.used_bytes, n.limit_bytes, n.limits) },
          ] }),
        pager({ offset: data.offset, limit: data.limit, total: data.total,
          onChange: (p) => c.setQuery({ offset: p.offset || null, limit: p.limit }) }));
    } catch (err) {
      replace(results, errorBox(err));
      replace(collection, h('h2', null, 'Garbage collection'), errorBox(err));
    }
  };
  const root = h('section', null, h('h1', null, 'Storage'), h('div', { class: 'grid2' }, sizeCard(ctx), collection), results);
  root.refresh = load;
  await load(ctx);
  return root;
}
