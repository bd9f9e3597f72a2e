// A superuser page asked for by someone who is not one.
import { h } from '../dom.js';

export const title = 'Not allowed';

export function render() {
  return h('section', null, h('h1', null, 'Not allowed'),
    h('p', null, 'This page is for the instance\'s superusers. ', h('a', { href: '/account' }, 'Go to your account'), '.'));
}
