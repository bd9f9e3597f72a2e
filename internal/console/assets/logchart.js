// The usage-log chart: one bar per hour, day or week of the window (as
// the server bucketed the counts), each a button that narrows the window
// to its bar, and the kinds in the window, each a button that filters.
import { h } from './dom.js';

// chart draws counts ({origin, end_time, bucket_seconds, counts}) and
// calls onRange({starttime, endtime}) when a bar is chosen.
export function chart(data, onRange) {
  const width = data.bucket_seconds * 1000;
  const start = new Date(data.origin).getTime();
  const end = new Date(data.end_time).getTime();
  const n = Math.min(400, Math.max(1, Math.ceil((end - start) / width)));
  const totals = new Array(n).fill(0);
  for (const c of data.counts) {
    const i = Math.floor((new Date(c.start).getTime() - start) / width);
    if (i >= 0 && i < n) totals[i] += c.count;
  }
  const max = Math.max(1, ...totals);
  const unit = data.bucket_seconds >= 7 * 86400 ? 'week' : data.bucket_seconds >= 86400 ? 'day' : 'hour';
  const label = (t) => (unit === 'hour' ? new Date(t).toISOString().slice(0, 13).replace('T', ' ') + ':00 UTC' : new Date(t).toISOString().slice(0, 10));
  const bars = totals.map((count, i) => {
    const from = start + i * width;
    const to = Math.min(end, from + width);
    const bar = h('span', { class: 'bar-fill' });
    bar.style.height = `${(count / max) * 100}%`;
    return h('button', { type: 'button', class: 'bar', title: `${label(from)}: ${count}`,
      'aria-label': `${count} entries in the ${unit} from ${label(from)}; show only these`,
      onclick: () => onRange(windowOf(unit, from, to)) }, bar);
  });
  const total = totals.reduce((a, b) => a + b, 0);
  return h('figure', { class: 'chart' },
    h('figcaption', null, `${total.toLocaleString('en')} entries, by ${unit} (most in one ${unit}: ${max === 1 && total === 0 ? 0 : max})`),
    h('div', { class: 'bars' }, bars),
    h('div', { class: 'axis', 'aria-hidden': 'true' }, h('span', null, label(start)), h('span', null, label(end - 1))));
}

// windowOf is the filter naming one bar: whole days as dates (the end
// date inclusive), hours as RFC 3339 times.
function windowOf(unit, from, to) {
  const iso = (t) => new Date(t).toISOString().replace('.000', '');
  if (unit === 'hour') return { starttime: iso(from), endtime: iso(to) };
  return { starttime: iso(from).slice(0, 10), endtime: iso(to - 86400000).slice(0, 10) };
}

// kindList shows each kind's count in the window; choosing one filters by it.
export function kindList(data, active, onKind) {
  const byKind = new Map();
  for (const c of data.counts) byKind.set(c.kind, (byKind.get(c.kind) || 0) + c.count);
  const kinds = [...byKind.entries()].sort((a, b) => b[1] - a[1]);
  if (!kinds.length) return null;
  return h('ul', { class: 'kinds', 'aria-label': 'Entries by kind' }, kinds.map(([kind, count]) => h('li', null,
    h('button', { type: 'button', class: ['chip', kind === active ? 'active' : ''], 'aria-pressed': kind === active ? 'true' : 'false',
      onclick: () => onKind(kind === active ? null : kind) }, `${kind} `, h('span', { class: 'count' }, count.toLocaleString('en'))))));
}
