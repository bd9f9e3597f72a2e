// Shared pieces of every page: theme, dialogs, notices, tables with server
// paging and sorting, and formatting.
import { h, replace, uid } from './dom.js';
import { post } from './api.js';

// ---- theme -------------------------------------------------------------

const THEME_KEY = 'wharf.theme';

// theme is the chosen theme: 'light', 'dark' or 'system'.
export function theme() {
  const t = localStorage.getItem(THEME_KEY);
  return t === 'light' || t === 'dark' ? t : 'system';
}

// applyTheme sets the document's theme, or follows the system's.
export function applyTheme(t = theme()) {
  if (t === 'system') {
    localStorage.removeItem(THEME_KEY);
    delete document.documentElement.dataset.theme;
  } else {
    localStorage.setItem(THEME_KEY, t);
    document.documentElement.dataset.theme = t;
  }
}

// ---- notices -----------------------------------------------------------

let live = null;
// toast announces msg (politely, to screen readers too) for a few seconds.
export function toast(msg, kind = 'ok') {
  if (!live || !document.contains(live)) {
    live = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(live);
  }
  const t = h('p', { class: ['toast', kind] }, msg);
  live.append(t);
  setTimeout(() => t.remove(), 6000);
}

// errorBox shows an error as the server worded it.
export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err && err.message ? err.message : String(err));
}

// ---- dialogs -----------------------------------------------------------

// dialog opens a modal <dialog> with a title, body nodes and buttons; each
// button's value is what the returned promise resolves to (null on Escape).
// onSubmit(value), when given, runs before closing and may throw to keep
// the dialog open with the error shown; the promise still resolves to the
// button's value.
export function dialog({ title, body, buttons = [{ label: 'Close', value: null }], onSubmit }) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const err = h('div', { class: 'dialog-error' });
    // noValidate: the server judges input and says what is wrong, so the
    // console has no rules of its own that could disagree with it.
    const form = h('form', { method: 'dialog', noValidate: true },
      h('h2', { id: titleId }, title),
      body,
      err,
      h('div', { class: 'actions' }, buttons.map((b) =>
        h('button', { type: b.value === null ? 'button' : 'submit', value: b.value ?? '', class: b.class || (b.value === null ? 'secondary' : 'primary'),
          disabled: b.disabled, onclick: b.value === null ? () => finish(null) : null }, b.label))));
    const dlg = h('dialog', { 'aria-labelledby': titleId }, form);
    let done = false;
    const finish = (v) => {
      if (done) return;
      done = true;
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const value = e.submitter ? e.submitter.value : '';
      if (onSubmit) {
        const btns = form.querySelectorAll('button');
        btns.forEach((b) => { b.disabled = true; });
        try {
          await onSubmit(value);
          finish(value);
        } catch (ex) {
          replace(err, errorBox(ex));
          btns.forEach((b) => { b.disabled = false; });
        }
        return;
      }
      finish(value);
    });
    dlg.addEventListener('cancel', (e) => { e.preventDefault(); finish(null); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// confirm asks a yes/no question; with typed, the user must type that text.
export function confirm(title, text, { action = 'Confirm', typed = '', danger = true } = {}) {
  const body = [h('p', null, text)];
  let input = null;
  if (typed) {
    input = h('input', { id: uid('typed'), required: true, autocomplete: 'off', spellcheck: false });
    body.push(field(`Type ${typed} to confirm`, input));
  }
  return dialog({ title, body,
    buttons: [{ label: 'Cancel', value: null }, { label: action, value: 'yes', class: danger ? 'danger' : 'primary' }],
    onSubmit: () => {
      if (input && input.value !== typed) throw new Error(`That is not ${typed}.`);
    } }).then((v) => v === 'yes');
}

// freshLoginDialog asks for the password again when the server wants a
// fresh login; it resolves true once the server accepted it.
export async function freshLoginDialog() {
  const pw = h('input', { type: 'password', id: uid('pw'), autocomplete: 'current-password', required: true });
  const v = await dialog({ title: 'Confirm your password',
    body: [h('p', null, 'This action needs a recent sign-in. Enter your password to go on.'), field('Password', pw)],
    buttons: [{ label: 'Cancel', value: null }, { label: 'Verify', value: 'ok' }],
    onSubmit: () => post('/api/v1/signin/verify', { password: pw.value }) });
  return v === 'ok';
}

// secretDialog shows a secret once, with copy and download buttons.
export function secretDialog(title, note, secret, filename) {
  const area = h('textarea', { id: uid('secret'), readOnly: true, rows: Math.min(12, secret.split('\n').length + 1), spellcheck: false, value: secret });
  const copy = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    try { await navigator.clipboard.writeText(secret); toast('Copied.'); } catch { area.select(); }
  } }, 'Copy');
  const nodes = [h('p', null, note), field('Shown only now', area), h('div', { class: 'row' }, copy,
    filename ? downloadButton('Download', filename, secret) : null)];
  return dialog({ title, body: nodes, buttons: [{ label: 'Done', value: 'done' }] });
}

// downloadButton offers text as a file, made in the browser (no secret in a URL).
export function downloadButton(label, filename, text) {
  return h('button', { type: 'button', class: 'secondary', onclick: () => {
    const url = URL.createObjectURL(new Blob([text], { type: 'application/octet-stream' }));
    const a = h('a', { href: url, download: filename, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } }, label);
}

// field wraps a control with its label (and an optional hint).
export function field(label, control, hint) {
  if (!control.id) control.id = uid('f');
  const hintNode = hint ? h('small', { id: uid('hint') }, hint) : null;
  if (hintNode) control.setAttribute('aria-describedby', hintNode.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintNode);
}

// check is a checkbox with its label after it.
export function check(label, input) {
  if (!input.id) input.id = uid('c');
  return h('div', { class: 'check' }, input, h('label', { for: input.id }, label));
}

// ---- lists -------------------------------------------------------------

const SIZE_KEY = 'wharf.pagesize';
export const PAGE_SIZES = [10, 25, 50, 100];

// pageSize is the page size the URL asks for, else the one remembered.
export function pageSize(query) {
  const n = Number(query.get('limit') || localStorage.getItem(SIZE_KEY) || 25);
  return PAGE_SIZES.includes(n) ? n : 25;
}

const COLUMNS_KEY = 'wharf.columns.';

// hiddenColumns are the labels of the columns hidden in table id,
// remembered in the browser as the page size is.
function hiddenColumns(id) {
  try {
    const v = JSON.parse(localStorage.getItem(COLUMNS_KEY + id) || '[]');
    return new Set(Array.isArray(v) ? v : []);
  } catch {
    return new Set();
  }
}

// hideable: every column but the first and those marked fixed (a row must
// still say what it is).
const hideable = (c, i) => i > 0 && !c.fixed;

// columnChooser is a disclosure of checkboxes, one per hideable column;
// onChange redraws the table.
function columnChooser(id, columns, hidden, onChange) {
  const boxes = columns.filter(hideable).map((c) => {
    const input = h('input', { type: 'checkbox', checked: !hidden.has(c.label), onchange: () => {
      if (input.checked) hidden.delete(c.label);
      else hidden.add(c.label);
      if (hidden.size) localStorage.setItem(COLUMNS_KEY + id, JSON.stringify([...hidden]));
      else localStorage.removeItem(COLUMNS_KEY + id);
      onChange();
    } });
    return check(c.label, input);
  });
  return h('details', { class: 'columns' }, h('summary', null, 'Columns'),
    h('fieldset', null, h('legend', null, 'Columns shown'), boxes));
}

// table draws rows with sortable headers. columns: {key, label, sort
// (the server's sort key), render(row) → node|string, class, fixed (never
// hidden)}. With id, the user may hide columns, remembered per id.
export function table({ id, caption, columns, rows, sort, onSort, empty = 'Nothing here.' }) {
  if (!id) return tableOf({ caption, columns, rows, sort, onSort, empty });
  const hidden = hiddenColumns(id);
  const shown = () => columns.filter((c, i) => !hideable(c, i) || !hidden.has(c.label));
  let drawn = tableOf({ caption, columns: shown(), rows, sort, onSort, empty });
  const chooser = columnChooser(id, columns, hidden, () => {
    const next = tableOf({ caption, columns: shown(), rows, sort, onSort, empty });
    drawn.replaceWith(next);
    drawn = next;
  });
  return h('div', { class: 'table-block' }, chooser, drawn);
}

function tableOf({ caption, columns, rows, sort, onSort, empty }) {
  const head = h('tr', null, columns.map((c) => {
    if (!c.sort) return h('th', { scope: 'col', class: c.class }, c.label);
    const active = sort === c.sort || sort === `-${c.sort}`;
    const desc = sort === `-${c.sort}`;
    return h('th', { scope: 'col', class: c.class, 'aria-sort': active ? (desc ? 'descending' : 'ascending') : null },
      h('button', { type: 'button', class: 'sort', onclick: () => onSort(active && !desc ? `-${c.sort}` : c.sort) },
        c.label, h('span', { 'aria-hidden': 'true', class: 'arrow' }, active ? (desc ? ' ▼' : ' ▲') : '')));
  }));
  const body = rows.length
    ? rows.map((r) => h('tr', null, columns.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.render ? c.render(r) : r[c.key]))))
    : [h('tr', null, h('td', { colSpan: columns.length, class: 'empty' }, empty))];
  return h('div', { class: 'table-wrap' }, h('table', null, h('caption', null, caption), h('thead', null, head), h('tbody', null, body)));
}

// pager shows "a–b of n" with previous/next and the page size, and calls
// onChange({offset, limit}).
export function pager({ offset, limit, total, onChange }) {
  const last = Math.min(offset + limit, total);
  const sizeSel = h('select', { id: uid('size'), onchange: () => {
    localStorage.setItem(SIZE_KEY, sizeSel.value);
    onChange({ offset: 0, limit: Number(sizeSel.value) });
  } }, PAGE_SIZES.map((n) => h('option', { value: String(n), selected: n === limit }, String(n))));
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('span', null, total ? `${offset + 1}–${last} of ${total.toLocaleString('en')}` : '0 of 0'),
    h('button', { type: 'button', class: 'secondary', disabled: offset <= 0, onclick: () => onChange({ offset: Math.max(0, offset - limit), limit }) }, 'Previous'),
    h('button', { type: 'button', class: 'secondary', disabled: last >= total, onclick: () => onChange({ offset: offset + limit, limit }) }, 'Next'),
    h('label', { for: sizeSel.id }, 'Rows per page'), sizeSel);
}

// searchBox is a search field that calls onSearch after typing pauses.
export function searchBox(label, value, onSearch) {
  const input = h('input', { type: 'search', value: value || '', autocomplete: 'off', spellcheck: false });
  let timer = 0;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => onSearch(input.value.trim()), 250);
  });
  return field(label, input);
}

// ---- formatting --------------------------------------------------------

// bytes formats a byte count in binary units.
export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Number(n);
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${i ? v.toFixed(v < 10 ? 2 : 1) : v} ${units[i]}`;
}

// when formats a date the API gave (RFC 2822, ISO, or epoch seconds).
export function when(v) {
  if (v === null || v === undefined || v === '') return '—';
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return h('time', { datetime: d.toISOString(), title: d.toISOString() }, d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' }));
}

// avatar draws an account's initial on its Quay avatar colour.
export function avatar(a, name) {
  const n = name || (a && a.name) || '?';
  const el = h('span', { class: 'avatar', 'aria-hidden': 'true' }, n.slice(0, 1).toUpperCase());
  if (a && /^#[0-9a-f]{6}$/i.test(a.color || '')) el.style.backgroundColor = a.color;
  return el;
}

// usageBar draws used against a limit, with the Warning and Reject limits
// marked where they fall.
export function usageBar(used, limitBytes, limits = []) {
  if (!limitBytes) return h('span', { class: 'usage-none' }, `${bytes(used)} used, no quota`);
  const pct = Math.min(100, (used / limitBytes) * 100);
  const bar = h('div', { class: 'usage-bar', role: 'img',
    'aria-label': `${bytes(used)} of ${bytes(limitBytes)} used (${pct.toFixed(0)}%)` });
  const fill = h('div', { class: ['fill', pct >= 100 ? 'over' : pct >= 80 ? 'high' : ''] });
  fill.style.width = `${pct}%`;
  bar.append(fill);
  for (const l of limits) {
    const mark = h('div', { class: ['mark', l.type === 'Reject' ? 'reject' : 'warning'], title: `${l.type} at ${l.limit_percent}%` });
    mark.style.left = `${Math.min(100, l.limit_percent)}%`;
    bar.append(mark);
  }
  return h('div', { class: 'usage' }, bar, h('small', null, `${bytes(used)} of ${bytes(limitBytes)}`,
    limits.length ? ` · ${limits.map((l) => `${l.type} ${l.limit_percent}%`).join(', ')}` : ''));
}
