// The quota dialog of the users and organizations pages: the hard limit,
// and for organizations the Warning/Reject limits, drawn on the usage bar.
import { h } from './dom.js';
import { del, post, put, seg } from './api.js';
import { bytes, dialog, field, usageBar } from './ui.js';

// quotaOf returns a namespace view's quota ({id, limit_bytes, limits}) or null.
export function quotaOf(view) {
  return (view.quotas && view.quotas[0]) || null;
}

// usageCell draws a namespace's usage against its quota in a list row.
export function usageCell(view) {
  const q = quotaOf(view);
  const used = view.quota_report ? view.quota_report.quota_bytes : 0;
  return usageBar(used, q ? q.limit_bytes : view.quota_report && view.quota_report.configured_quota, q ? q.limits : []);
}

// editQuota opens the dialog for namespace name (kind 'user' or 'org');
// it resolves true when something changed.
export async function editQuota(name, kind, view, readOnly) {
  const base = kind === 'org' ? `/api/v1/superuser/organization/${seg(name)}/quota` : `/api/v1/superuser/users/${seg(name)}/quota`;
  const q = quotaOf(view);
  const limit = h('input', { value: q ? bytes(q.limit_bytes) : '', placeholder: '10 GiB', spellcheck: false, disabled: readOnly, autocomplete: 'off' });
  const body = [usageCell(view), field('Hard limit', limit, 'A size such as 500 MiB or 10 GiB. Pushes past it are refused.')];
  let changed = false;
  if (q && kind === 'org') {
    body.push(h('h3', null, 'Warning and Reject limits'),
      q.limits.length ? h('ul', { class: 'limits' }, q.limits.map((l) => h('li', null, `${l.type} at ${l.limit_percent}% `,
        h('button', { type: 'button', class: 'link', disabled: readOnly, 'aria-label': `Remove the ${l.type} limit at ${l.limit_percent}%`,
          onclick: async (e) => {
            await del(`/api/v1/organization/${seg(name)}/quota/${q.id}/limit/${l.id}`);
            changed = true;
            e.target.closest('li').remove();
          } }, 'Remove')))) : h('p', null, 'None.'));
    const type = h('select', { disabled: readOnly }, h('option', { value: 'Warning' }, 'Warning'), h('option', { value: 'Reject' }, 'Reject'));
    const pct = h('input', { type: 'number', min: 1, max: 100, step: 1, disabled: readOnly });
    body.push(h('div', { class: 'row' }, field('Limit type', type), field('Percent of the hard limit', pct),
      h('button', { type: 'button', class: 'secondary', disabled: readOnly, onclick: async () => {
        await post(`/api/v1/organization/${seg(name)}/quota/${q.id}/limit`, { type: type.value, threshold_percent: Number(pct.value) });
        changed = true;
        pct.value = '';
        body[body.length - 1].after(h('p', { role: 'status' }, `Added a ${type.value} limit. It shows on the bar when you reopen this dialog.`));
      } }, 'Add limit')));
  }
  const buttons = [{ label: 'Cancel', value: null }];
  if (q) buttons.push({ label: 'Remove quota', value: 'remove', class: 'danger', disabled: readOnly });
  buttons.push({ label: 'Save', value: 'save', disabled: readOnly });
  const v = await dialog({ title: `Quota of ${name}`, body, buttons, onSubmit: async (action) => {
    if (action === 'remove') await del(`${base}/${q.id}`);
    else if (q) await put(`${base}/${q.id}`, { limit: limit.value.trim() });
    else await post(base, { limit: limit.value.trim() });
  } });
  return changed || v === 'save' || v === 'remove';
}
