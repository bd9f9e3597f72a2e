// The signed-in user's own account, as /api/v1/user/ shows it.
import { h } from '../dom.js';
import { get } from '../api.js';
import { avatar, usageBar } from '../ui.js';

export const title = 'Account';

export async function render() {
  const me = await get('/api/v1/user/');
  const quota = me.quotas && me.quotas[0];
  const role = me.super_user ? 'Superuser' : me.global_readonly_super_user ? 'Read-only superuser' : 'User';
  return h('section', null,
    h('h1', null, 'Your account'),
    h('div', { class: 'card' },
      h('div', { class: 'account-head' }, avatar(me.avatar, me.username), h('h2', null, me.username)),
      h('dl', { class: 'facts' },
        h('dt', null, 'E-mail'), h('dd', null, me.email || '—'),
        h('dt', null, 'Role'), h('dd', null, role),
        h('dt', null, 'Organizations'), h('dd', null, me.organizations.length
          ? me.organizations.map((o) => `${o.name}${o.is_org_admin ? ' (admin)' : ''}`).join(', ') : 'None'),
        me.quota_report ? [h('dt', null, 'Storage'), h('dd', null,
          usageBar(me.quota_report.quota_bytes, quota ? quota.limit_bytes : me.quota_report.configured_quota, quota ? quota.limits : []))] : null)));
}
