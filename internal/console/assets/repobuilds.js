// A repository's builds: start one from an uploaded context (a Dockerfile,
// tar, tar.gz or zip, through Quay's filedrop), watch its log live, cancel
// it. The build API decides who may do each.
import { h, replace } from './dom.js';
import { get, post, del, qs, seg } from './api.js';
import { confirm, dialog, errorBox, field, table, toast, when } from './ui.js';

const TERMINAL = new Set(['complete', 'error', 'internalerror', 'cancelled']);

async function startBuild(base, done) {
  const file = h('input', { type: 'file', required: true });
  const tags = h('input', { value: 'latest', autocomplete: 'off', spellcheck: false });
  const v = await dialog({ title: 'Start a build',
    body: [field('Build context (Dockerfile, .tar, .tar.gz or .zip)', file), field('Tags (comma-separated)', tags)],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Start', value: 'start' }],
    onSubmit: async () => {
      const f = file.files[0];
      if (!f) throw new Error('Choose a file first.');
      const drop = await post('/api/v1/filedrop/', { mimeType: f.type || 'application/octet-stream' });
      const resp = await fetch(drop.url, { method: 'PUT', body: f, credentials: 'same-origin' });
      if (!resp.ok) throw new Error(`Uploading the context failed: ${resp.status}`);
      await post(`${base}/build/`, { file_id: drop.file_id, docker_tags: tags.value.split(',').map((t) => t.trim()).filter(Boolean) });
    } });
  if (v === 'start') { toast('Build queued.'); done(); }
}

// watch shows a build's log, fetched again every 2 s until it ends.
async function watch(base, b) {
  const out = h('pre', { class: 'build-log', tabIndex: 0, 'aria-label': `Log of build ${b.id}` });
  const state = h('p', { role: 'status' }, 'Loading…');
  let start = 0;
  let open = true;
  let timer = 0;
  const poll = async () => {
    try {
      const [logs, status] = await Promise.all([get(`${base}/build/${seg(b.id)}/logs${qs({ start })}`), get(`${base}/build/${seg(b.id)}/status`)]);
      for (const line of logs.logs) out.append(`${line.message}\n`);
      start = logs.total;
      state.textContent = TERMINAL.has(status.phase) ? `Finished: ${status.phase}` : `Running: ${status.phase} (updating)`;
      if (open && !TERMINAL.has(status.phase)) timer = setTimeout(poll, 2000);
    } catch (err) {
      replace(state, errorBox(err));
    }
  };
  poll();
  await dialog({ title: `Build ${b.display_name || b.id}`, body: [state, out] });
  open = false;
  clearTimeout(timer);
}

export function buildsView(base, repo) {
  const box = h('div', { class: 'results' });
  const load = async () => {
    try {
      const data = await get(`${base}/build/${qs({ limit: 25 })}`);
      replace(box,
        h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'primary', disabled: !repo.can_write, onclick: () => startBuild(base, load) }, 'Start build'),
          h('button', { type: 'button', class: 'secondary', onclick: load }, 'Refresh')),
        table({ caption: 'Recent builds', rows: data.builds, empty: 'No build yet.', columns: [
          { label: 'Build', render: (b) => h('span', null, b.display_name || '—', h('br'), h('code', { class: 'small' }, b.id)) },
          { label: 'Phase', render: (b) => h('span', { class: ['badge', b.phase === 'complete' ? 'ok' : TERMINAL.has(b.phase) ? 'bad' : 'info'] }, b.phase) },
          { label: 'Started', render: (b) => when(b.started) },
          { label: 'Tags', render: (b) => b.tags.join(', ') || '—' },
          { label: 'Actions', render: (b) => h('div', { class: 'row-actions' },
            h('button', { type: 'button', class: 'secondary', 'aria-label': `Logs of build ${b.id}`, onclick: () => watch(base, b) }, 'Logs'),
            h('button', { type: 'button', class: 'danger', disabled: !repo.can_admin || TERMINAL.has(b.phase), 'aria-label': `Cancel build ${b.id}`, onclick: async () => {
              if (!await confirm('Cancel build', `Cancel build ${b.id}?`, { action: 'Cancel build' })) return;
              try { await del(`${base}/build/${seg(b.id)}`); toast('Cancelled.'); load(); } catch (err) { toast(err.message, 'bad'); }
            } }, 'Cancel')) },
        ] }));
    } catch (err) {
      replace(box, errorBox(err));
    }
  };
  load();
  return box;
}
