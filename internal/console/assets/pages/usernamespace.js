// A user's namespace: its repositories (the organization page's list).
import { h } from '../dom.js';
import { repositories } from './org.js';

export const title = 'Repositories';

export function render(ctx) {
  return h('section', null, h('h1', null, ctx.params.name), repositories(ctx.params.name));
}
