// This process's health, as Quay's health checks report it.
import { h } from '../dom.js';

export const title = 'Health';

async function check(path) {
  try {
    const resp = await fetch(path, { credentials: 'same-origin' });
    const body = await resp.json();
    return { ok: resp.ok, services: (body.data && body.data.services) || {} };
  } catch (err) {
    return { ok: false, services: {}, error: err.message };
  }
}

function report(name, path, result) {
  const services = Object.keys(result.services).sort();
  return h('div', { class: 'card' },
    h('h2', null, name, ' ', h('span', { class: ['badge', result.ok ? 'ok' : 'bad'] }, result.ok ? 'healthy' : 'unhealthy')),
    h('p', null, h('code', null, path)),
    result.error ? h('p', { class: 'error' }, result.error) : null,
    h('ul', { class: 'checks' }, services.map((s) => h('li', null,
      h('span', { class: ['badge', result.services[s] ? 'ok' : 'bad'] }, result.services[s] ? 'ok' : 'failing'), ' ', s))));
}

export async function render() {
  const [instance, endtoend] = await Promise.all([check('/health/instance'), check('/health/endtoend')]);
  return h('section', null,
    h('h1', null, 'Health'),
    h('p', null, 'Why a check failed is in the server log, never shown here.'),
    h('div', { class: 'grid2' },
      report('Instance', '/health/instance', instance),
      report('End to end', '/health/endtoend', endtoend)));
}
