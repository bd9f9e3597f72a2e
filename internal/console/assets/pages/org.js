// An organization: its repositories, teams (with members), robot accounts,
// quota and usage logs, one tab at a time (the tab is in the URL), each what the
// API shows the caller: teams to members (managed by admins, orgteams.js),
// robots (robots.js), default permissions (orgdefaults.js), OAuth applications
// (orgapps.js), logs and settings (orgsettings.js) to admins.
import { h, replace } from '../dom.js';
import { get, qs, seg } from '../api.js';
import { errorBox, when } from '../ui.js';
import { logsView } from '../reposettings.js';
import { teamsView } from '../orgteams.js';
import { robotsView } from '../robots.js';
import { defaultsView } from '../orgdefaults.js';
import { applicationsView } from '../orgapps.js';
import { settingsView } from '../orgsettings.js';
import { quotaOf, usageCell } from '../quota.js';

export const title = 'Organization';

const TABS = [['repositories', 'Repositories'], ['teams', 'Teams'], ['robots', 'Robot accounts'], ['defaults', 'Default permissions'], ['applications', 'OAuth applications'], ['quota', 'Quota'], ['logs', 'Logs'], ['settings', 'Settings']];

// quotaTab shows the organization's storage against its quota, read-only
// (superusers change it on the organizations page).
function quotaTab(org) {
  const box = h('div', { class: 'results' });
  get(`/api/v1/organization/${seg(org)}`).then((o) => {
    if (!o.quota_report) {
      replace(box, h('p', null, 'Only members of the organization see its quota.'));
      return;
    }
    const q = quotaOf(o);
    replace(box, h('div', { class: 'card' }, h('h2', null, 'Storage'), usageCell(o),
      q ? h('p', null, q.limits.length ? `Limits: ${q.limits.map((l) => `${l.type} at ${l.limit_percent}%`).join(', ')}.` : 'No Warning or Reject limit.')
        : h('p', null, 'No quota: pushes are limited only by the instance.')));
  }).catch((err) => replace(box, errorBox(err)));
  return box;
}

export function repositories(org) {
  const box = h('div', { class: 'results' });
  const body = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more');
  let next = '';
  const rows = (repos) => repos.map((r) => h('tr', null,
    h('td', { 'data-label': 'Repository' }, h('a', { href: `/repository/${seg(r.namespace)}/${seg(r.name)}` }, r.name)),
    h('td', { 'data-label': 'Visibility' }, r.is_public ? 'public' : 'private'),
    h('td', { 'data-label': 'State' }, r.state || 'NORMAL'),
    h('td', { 'data-label': 'Last modified' }, r.last_modified ? when(r.last_modified) : '—'),
    h('td', { 'data-label': 'Description' }, r.description || '')));
  const load = async () => {
    const data = await get(`/api/v1/repository${qs({ namespace: org, last_modified: 'true', next_page: next || null })}`);
    body.append(...rows(data.repositories));
    next = data.next_page || '';
    more.hidden = !next;
    return data.repositories.length;
  };
  more.addEventListener('click', () => load().catch((err) => more.after(errorBox(err))));
  load().then(() => {
    replace(box, h('div', { class: 'table-wrap' }, h('table', null, h('caption', null, `Repositories of ${org}`),
      h('thead', null, h('tr', null, ['Repository', 'Visibility', 'State', 'Last modified', 'Description'].map((c) => h('th', { scope: 'col' }, c)))),
      body)), body.children.length ? null : h('p', { class: 'empty' }, 'No repository here.'), more);
  }).catch((err) => replace(box, errorBox(err)));
  return box;
}

export function render(ctx) {
  const org = ctx.params.name;
  const tab = TABS.some(([t]) => t === ctx.query.get('tab')) ? ctx.query.get('tab') : 'repositories';
  const views = { teams: teamsView, robots: (o) => robotsView(`/api/v1/organization/${seg(o)}`, o), defaults: defaultsView, applications: applicationsView, settings: (o) => settingsView(o, ctx.session), quota: quotaTab, logs: (o) => logsView(`/api/v1/organization/${seg(o)}`), repositories };
  const view = views[tab](org);
  return h('section', null,
    h('h1', null, org),
    h('nav', { class: 'tabs', 'aria-label': 'Organization' }, TABS.map(([t, label]) =>
      h('a', { href: `/organization/${seg(org)}${t === 'repositories' ? '' : `?tab=${t}`}`, 'aria-current': t === tab ? 'page' : null }, label))),
    view);
}
