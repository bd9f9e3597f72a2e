// The configuration in force, read-only, with every secret masked by the
// server (/api/v1/superuser/config).
import { h } from '../dom.js';
import { get } from '../api.js';

export const title = 'Configuration';

function rows(obj) {
  return Object.keys(obj).sort().map((k) => h('tr', null, h('th', { scope: 'row' }, k),
    h('td', null, h('code', null, typeof obj[k] === 'string' ? obj[k] : JSON.stringify(obj[k])))));
}

export async function render(ctx) {
  if (!ctx.session.features.config_dump) {
    return h('section', null, h('h1', null, 'Configuration'),
      h('p', null, 'The configuration view is turned off (FEATURE_SUPERUSER_CONFIGDUMP).'));
  }
  const dump = await get('/api/v1/superuser/config');
  const unknown = Object.keys(dump.warning || {});
  return h('section', null,
    h('h1', null, 'Configuration'),
    h('p', null, 'The settings this process runs with, secrets masked. Change them in config.yaml or WHARF_* variables and restart.'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'kv' }, h('caption', null, 'Settings in force'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Value'))),
      h('tbody', null, rows(dump.config)))),
    unknown.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'kv' }, h('caption', null, 'Keys wharf ignores'),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Value'))),
      h('tbody', null, rows(dump.warning)))) : null);
}
