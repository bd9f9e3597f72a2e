// A small Markdown subset for text users write (repository descriptions,
// global messages): paragraphs, headings, lists, fenced and inline code,
// emphasis, strong and links. It builds DOM nodes only — every character
// of the source ends up in a text node or an http(s) href — so HTML in the
// text, script tags, event attributes and javascript: links show as text.
import { h } from './dom.js';

// markdown returns the nodes for text; headings start at level
// headingBase (a '#' heading becomes that level, capped at 6) so they fit
// under the page's own headings.
export function markdown(text, { headingBase = 3 } = {}) {
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  const out = [];
  let para = [];
  let list = null; // { ordered, items: [] }
  const endPara = () => {
    if (para.length) out.push(h('p', null, inline(para.join('\n'))));
    para = [];
  };
  const endList = () => {
    if (list) out.push(h(list.ordered ? 'ol' : 'ul', null, list.items.map((i) => h('li', null, inline(i)))));
    list = null;
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i];
    if (/^\s*```/.test(line)) {
      endPara(); endList();
      const code = [];
      for (i += 1; i < lines.length && !/^\s*```/.test(lines[i]); i += 1) code.push(lines[i]);
      out.push(h('pre', null, h('code', null, code.join('\n'))));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d{1,9}[.)]\s+(.*)$/.exec(line);
    if (heading) {
      endPara(); endList();
      out.push(h(`h${Math.min(6, headingBase + heading[1].length - 1)}`, null, inline(heading[2])));
    } else if (bullet || numbered) {
      endPara();
      const ordered = !bullet;
      if (list && list.ordered !== ordered) endList();
      if (!list) list = { ordered, items: [] };
      list.items.push((bullet || numbered)[1]);
    } else if (!line.trim()) {
      endPara(); endList();
    } else if (list && /^\s+\S/.test(line)) {
      list.items[list.items.length - 1] += ` ${line.trim()}`;
    } else {
      endList();
      para.push(line);
    }
  }
  endPara(); endList();
  return out;
}

// safeURL returns url when it is an absolute http or https URL, else null.
function safeURL(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

const LINK = /^\[([^\]\n]+)\]\(([^)\s]+)\)/;

// inline turns one block's text into nodes: `code`, [text](url),
// **strong**, *emphasis* and _emphasis_; anything else is text.
function inline(text) {
  const out = [];
  let plain = '';
  const flush = () => { if (plain) out.push(plain); plain = ''; };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const rest = text.slice(i);
    if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end > i + 1) {
        flush();
        out.push(h('code', null, text.slice(i + 1, end)));
        i = end + 1;
        continue;
      }
    } else if (c === '[') {
      const m = LINK.exec(rest);
      const href = m && safeURL(m[2]);
      if (href) {
        flush();
        out.push(h('a', { href, rel: 'noopener noreferrer' }, inline(m[1])));
        i += m[0].length;
        continue;
      }
    } else if (rest.startsWith('**')) {
      const end = text.indexOf('**', i + 2);
      if (end > i + 2) {
        flush();
        out.push(h('strong', null, inline(text.slice(i + 2, end))));
        i = end + 2;
        continue;
      }
    } else if ((c === '*' || c === '_') && text[i + 1] && text[i + 1] !== ' ' && (c === '*' || i === 0 || /\W/.test(text[i - 1]))) {
      const end = text.indexOf(c, i + 1);
      if (end > i + 1 && text[end - 1] !== ' ') {
        flush();
        out.push(h('em', null, inline(text.slice(i + 1, end))));
        i = end + 1;
        continue;
      }
    }
    plain += c;
    i += 1;
  }
  flush();
  return out;
}
