// A build's log in a dialog, fetched again every 2 s until the build ends:
// the repository's builds tab and the superuser's builds page both show it.
import { h, replace } from './dom.js';
import { get, qs } from './api.js';
import { dialog, errorBox } from './ui.js';

// TERMINAL are the phases a build does not leave.
export const TERMINAL = new Set(['complete', 'error', 'internalerror', 'cancelled']);

// showBuildLog opens build b's log; base is b's URL in the build API that
// may read it (…/build/{id} of its repository, /superuser/{id}), whose
// logs and status it polls; heading goes above the log.
export async function showBuildLog(base, b, heading = []) {
  const out = h('pre', { class: 'build-log', tabIndex: 0, 'aria-label': `Log of build ${b.id}` });
  const state = h('p', { role: 'status' }, 'Loading…');
  let start = 0;
  let open = true;
  let timer = 0;
  const poll = async () => {
    try {
      const [logs, status] = await Promise.all([get(`${base}/logs${qs({ start })}`), get(`${base}/status`)]);
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
  await dialog({ title: `Build ${b.display_name || b.id}`, body: [...heading, state, out] });
  open = false;
  clearTimeout(timer);
}
