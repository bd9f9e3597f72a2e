// Superuser: builds across every repository, unfinished or all (in the
// URL), with live logs and cancel. Cancelling goes through the repository's
// build API, so it is allowed exactly when the API allows it.
import { h, replace } from '../dom.js';
import { get, del, qs, seg } from '../api.js';
import { confirm, dialog, errorBox, field, pageSize, pager, table, toast, when } from '../ui.js';

export const title = 'Builds';

const TERMINAL = new Set(['complete', 'error', 'internalerror', 'cancelled']);

function phaseBadge(b) {
  const cls = b.phase === 'complete' ? 'ok' : TERMINAL.has(b.phase) ? 'bad' : 'info';
  return h('span', null, h('span', { class: ['badge', cls] }, b.phase), b.error ? h('small', { class: 'build-error' }, ` ${b.error}`) : null);
}

// showLogs opens the build's log, fetched again every 2 s while it runs.
async function showLogs(b) {
  const out = h('pre', { class: 'build-log', tabIndex: 0, 'aria-label': `Log of build ${b.id}` });
  const state = h('p', { role: 'status' }, 'Loading…');
  let start = 0;
  let open = true;
  let timer = 0;
  const poll = async () => {
    try {
      const [logs, status] = await Promise.all([
        get(`/api/v1/superuser/${seg(b.id)}/logs${qs({ start })}`),
        get(`/api/v1/superuser/${seg(b.id)}/status`)]);
      for (const line of logs.logs) out.append(`${line.message}\n`);
      start = logs.total;
      out.scrollTop = out.scrollHeight;
      state.textContent = TERMINAL.has(status.phase) ? `Finished: ${status.phase}` : `Running: ${status.phase} (updating)`;
      if (open && !TERMINAL.has(status.phase)) timer = setTimeout(poll, 2000);
    } catch (err) {
      replace(state, errorBox(err));
    }
  };
  poll();
  await dialog({ title: `Build ${b.display_name || b.id}`, body: [h('p', null, `${b.repository.namespace}/${b.repository.name}`), state, out] });
  open = false;
  clearTimeout(timer);
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
              h('button', { type: 'button', class: 'secondary', 'aria-label': `Logs of build ${b.id}`, onclick: () => showLogs(b) }, 'Logs'),
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
