// The frame around every signed-in page: skip link, header (theme, the
// account, sign-out), navigation and the main region.
import { h, replace, uid } from './dom.js';
import { markdown } from './markdown.js';
import { post } from './api.js';
import { navigate } from './router.js';
import { applyTheme, theme, toast } from './ui.js';

const superNav = [
  ['/superuser/users', 'Users'],
  ['/superuser/organizations', 'Organizations'],
  ['/superuser/storage', 'Storage'],
  ['/superuser/keys', 'Service keys'],
  ['/superuser/logs', 'Usage logs'],
  ['/superuser/builds', 'Builds', 'builds'],
  ['/superuser/messages', 'Messages'],
  ['/superuser/config', 'Configuration'],
  ['/superuser/health', 'Health'],
];

let frame = null; // { root, main, nav, user, banners }

// shell draws the frame into root (once per signed-in user) and returns
// the main element for the page.
export function shell(root, session, path) {
  const user = session.user ? session.user.username : '';
  if (!frame || frame.user !== user || !document.contains(frame.main)) frame = build(root, session);
  showBanners(frame.banners, session.messages || []);
  for (const a of frame.nav.querySelectorAll('a')) {
    const here = path === a.pathname || path.startsWith(`${a.pathname}/`);
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  return frame.main;
}

// setMain shows content as the page.
export function setMain(main, ...content) {
  replace(main, ...content);
}

function build(root, session) {
  const u = session.user;
  const isSuper = u && (u.super_user || u.global_readonly_super_user);
  const main = h('main', { id: 'main', tabIndex: -1 });
  const nav = h('nav', { class: 'sidenav', 'aria-label': 'Console' },
    isSuper ? [h('h2', null, 'Instance'), h('ul', null, superNav
      .filter(([, , feature]) => !feature || session.features[feature])
      .map(([href, label]) => h('li', null, h('a', { href }, label))))] : null,
    h('h2', null, 'You'), h('ul', null, h('li', null, h('a', { href: '/account' }, 'Account'))));
  const themeId = uid('theme');
  const themeSel = h('select', { id: themeId, onchange: () => applyTheme(themeSel.value) },
    [['system', 'System'], ['light', 'Light'], ['dark', 'Dark']].map(([v, l]) => h('option', { value: v, selected: theme() === v }, l)));
  const signout = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    try {
      await post('/api/v1/signout');
    } catch (err) {
      toast(err.message, 'bad');
      return;
    }
    location.assign('/signin');
  } }, 'Sign out');
  const header = h('header', { class: 'topbar' },
    h('a', { class: 'brand', href: '/' }, h('img', { src: document.querySelector('link[rel=icon]').href, alt: '', width: 24, height: 24 }), 'wharf'),
    h('div', { class: 'topbar-right' },
      h('label', { for: themeId }, 'Theme'), themeSel,
      u ? h('span', { class: 'who' }, u.username, u.global_readonly_super_user && !u.super_user ? ' (read-only)' : '') : null,
      u ? signout : h('a', { href: '/signin', onclick: (e) => { e.preventDefault(); navigate('/signin'); } }, 'Sign in')));
  const banner = h('div', { class: 'banners' });
  replace(root,
    h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
    header, banner,
    h('div', { class: 'layout' }, nav, main));
  return { root, main, nav, banners: banner, user: u ? u.username : '' };
}

// showBanners shows the global messages above every page: plain text as
// text, text/markdown through the safe subset of markdown.js (DOM nodes
// only), so nothing a superuser writes there is parsed as HTML.
function showBanners(box, messages) {
  replace(box, messages.map((m) => h('div', { class: ['banner', m.severity], role: m.severity === 'error' ? 'alert' : 'status' },
    h('span', { class: 'banner-label' }, m.severity === 'info' ? 'Notice: ' : `${m.severity[0].toUpperCase()}${m.severity.slice(1)}: `),
    m.media_type === 'text/markdown' ? h('div', { class: 'md' }, markdown(m.content, { headingBase: 2 })) : h('span', { class: 'plain' }, m.content))));
}
