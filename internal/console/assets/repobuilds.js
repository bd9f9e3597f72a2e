// A repository's builds: start one from an uploaded context (a Dockerfile,
// tar, tar.gz or zip, through Quay's filedrop), watch its log live, cancel
// it. The build API decides who may do each.
import { h, replace } from './dom.js';
import { get, post, del, qs, seg } from './api.js';
import { TERMINAL, showBuildLog } from './buildlog.js';
import { confirm, dialog, errorBox, field, table, toast, when } from './ui.js';

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
            h('button', { type: 'button', class: 'secondary', 'aria-label': `Logs of build ${b.id}`, onclick: () => showBuildLog(`${base}/build/${seg(b.id)}`, b) }, 'Logs'),
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
