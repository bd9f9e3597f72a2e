// Building DOM nodes without HTML strings: every text a page shows goes in
// as a text node, so a user-controlled string (a name, an e-mail, log
// metadata) is never parsed as markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

// h creates an element. props: class, for, on<event> handlers, dataset,
// aria-*/role/other attributes, and DOM properties (value, checked,
// disabled, hidden, …). Children may be nodes, strings, numbers, arrays or
// null/false (skipped).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

// svg creates an SVG element with attributes.
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

const PROPERTIES = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'required', 'readOnly',
  'type', 'name', 'id', 'href', 'placeholder', 'autocomplete', 'min', 'max', 'step', 'multiple', 'title',
  'download', 'rows', 'spellcheck', 'open', 'tabIndex', 'htmlFor', 'colSpan', 'scope', 'noValidate']);

function applyProps(el, props) {
  if (!props) return;
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'for') el.htmlFor = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (PROPERTIES.has(k)) el[k] = v;
    else if (v !== false) el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// replace empties el and appends children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
// uid returns an id unique in the document, for label/aria wiring.
export function uid(prefix = 'w') {
  ids += 1;
  return `${prefix}-${ids}`;
}
