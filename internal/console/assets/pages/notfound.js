// A console path that names no page.
import { h } from '../dom.js';

export const title = 'Not found';

export function render() {
  return h('section', null, h('h1', null, 'Page not found'),
    h('p', null, 'No console page has this address. ', h('a', { href: '/' }, 'Go to the start page'), '.'));
}
