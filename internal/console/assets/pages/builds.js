// Superuser: builds across every repository, unfinished or all (in the
// URL), with live logs and cancel. Cancelling goes through the repository's
// build API, so it is allowed exactly when the API allows it.
import { h, replace } from '../dom.js';
import { get, del, qs, seg } from '../api.js';
import { TERMINAL, showBuildLog } from '../buildlog.js';
import { confirm, errorBox, field, pageSize, pager, table, toast, when } from '../ui.js';

export const title = 'Builds';

function phaseBadge(b) {
  const cls = b.phase === 'complete' ? 'ok' : TERMINAL.has(b.phase) ? 'bad' : 'info';
  return h('span', null, h('span', { class: ['badge', cls] }, b.phase), b.error ? h('small', { class: 'build-error' }, ` ${b.error}`) : null);
}

export async function render(ctx) {
  const results = h('div', { class: 'results' });
  let current = ctx;
  const load = async (c) => {
    current = c;
    const q = c.query;
    const state = q.get('state') === 'all' ? 'all' : 'active';
    const limit = pageSize(q);
    results.setAttribute('aria-busy', 'true');
    try {
      const data = await get(`/api/v1/console/builds${qs({ state, offset: Number(q.get('offset') || 0), limit })}`);
      const sel = h('select', { onchange: () => c.setQuery({ state: sel.value === 'active' ? null : sel.value, offset: null }) },
        h('option', { value: 'active', selected: state === 'active' }, 'Running and queued'),
        h('option', { value: 'all', selected: state === 'all' }, 'All recent'));
      replace(results,
        h('div', { class: 'toolbar' }, field('Show', sel),
          h('button', { type: 'button', class: 'secondary', onclick: () => load(current) }, 'Refresh')),
        table({ id: 'builds', caption: `Builds (${data.total.toLocaleString('en')})`, rows: data.builds, empty: 'No build here.',
          columns: [
            { label: 'Repository', render: (b) => `${b.repository.namespace}/${b.repository.name}` },
            { label: 'Build', render: (b) => h('span', null, b.display_name || '—', h('br'), h('code', { class: 'small' }, b.id)) },
            { label: 'Phase', render: phaseBadge },
            { label: 'Started', render: (b) => when(b.started) },
            { label: 'Tags', render: (b) => b.tags.join(', ') || '—' },
            { label: 'Actions', render: (b) => h('div', { class: 'row-actions' },
              h('button', { type: 'button', class: 'secondary', 'aria-label': `Logs of build ${b.id}`, onclick: () => showBuildLog(`/api/v1/superuser/${seg(b.id)}`, b, [h('p', null, `${b.repository.namespace}/${b.repository.name}`)]) }, 'Logs'),
              h('button', { type: 'button', class: 'danger', disabled: c.readOnly || !b.cancellable, 'aria-label': `Cancel build ${b.id}`,
                onclick: async () => {
                  if (!await confirm('Cancel build', `Cancel build ${b.id} of ${b.repository.namespace}/${b.repository.name}?`, { action: 'Cancel build' })) return;
                  try {
                    await del(`/api/v1/repository/${seg(b.repository.namespace)}/${seg(b.repository.name)}/build/${seg(b.id)}`);
                    toast('Cancelled.');
                    load(current);
                  } catch (err) { toast(err.message, 'bad'); }
                } }, 'Cancel')) },
          ] }),
        pager({ offset: data.offset, limit: data.limit, total: data.total,
          onChange: (p) => c.setQuery({ offset: p.offset || null, limit: p.limit }) }));
    } catch (err) {
      replace(results, errorBox(err));
    }
    results.removeAttribute('aria-busy');
  };
  const root = h('section', null, h('h1', null, 'Builds'), results);
  root.refresh = load;
  await load(ctx);
  return root;
}
