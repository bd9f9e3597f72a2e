// The console's entry point: read the session, then show the page the URL
// names inside the shell, sending the caller to set-up or sign-in first
// when that page needs it.
import { get, setCSRF, onFreshLogin, onSignedOut } from './api.js';
import { h, replace } from './dom.js';
import { match, navigate, setQuery, start } from './router.js';
import { shell, setMain } from './shell.js';
import { applyTheme, freshLoginDialog, errorBox } from './ui.js';

const root = document.getElementById('app');
let session = null;
let renderId = 0;
// shown is the page on screen: its path and node (whose refresh, when the
// page has one, takes a new query without rebuilding the page).
let shown = { path: '', node: null };

async function loadSession() {
  session = await get('/api/v1/console/session');
  setCSRF(session.csrf_token);
}

// isSuper reports whether the signed-in user may see the superuser pages.
function isSuper(s) {
  return !!(s.user && (s.user.super_user || s.user.global_readonly_super_user));
}

async function show() {
  const id = ++renderId;
  const route = match(location.pathname);
  const here = location.pathname + location.search;
  if (!session.initialized && (!route || route.page !== 'setup')) return navigate('/setup', { replace: true });
  if (route && route.need !== 'anyone' && !session.user) {
    return navigate(`/signin?next=${encodeURIComponent(here)}`, { replace: true });
  }
  if (route && route.page === 'home') {
    return navigate(isSuper(session) ? '/superuser/users' : '/account', { replace: true });
  }
  const ctx = {
    session,
    params: route ? route.params : {},
    query: new URLSearchParams(location.search),
    setQuery,
    navigate,
    // readOnly: the caller may look but not change (a global read-only superuser).
    readOnly: !!(session.user && !session.user.super_user && session.user.global_readonly_super_user),
    // refreshSession reads the session anew (messages changed) and redraws.
    refreshSession: async () => {
      await loadSession();
      shell(root, session, location.pathname);
    },
    // signedIn reads the session anew (after sign-in or set-up) and goes to
    // a local path.
    signedIn: async (to) => {
      await loadSession();
      navigate(localPath(to), { replace: true });
    },
  };
  if (shown.node && shown.node.refresh && shown.path === location.pathname && document.contains(shown.node)) {
    shown.node.refresh(ctx);
    return;
  }
  let page;
  try {
    if (!route) page = await import('./pages/notfound.js');
    else if (route.need === 'superuser' && !isSuper(session)) page = await import('./pages/forbidden.js');
    else page = await import(`./pages/${route.page}.js`);
  } catch (err) {
    page = { title: 'Error', render: () => errorBox(err) };
  }
  if (id !== renderId) return;
  const bare = route && route.need === 'anyone';
  const main = bare ? root : shell(root, session, location.pathname);
  document.title = `${page.title} · wharf`;
  if (!bare && shown.path !== location.pathname) {
    setMain(main, h('h1', { class: 'loading' }, page.title), h('p', { role: 'status' }, 'Loading…'));
  }
  let content;
  try {
    content = await page.render(ctx);
  } catch (err) {
    content = h('section', null, h('h1', null, page.title), errorBox(err));
  }
  if (id !== renderId) return;
  if (bare) replace(root, h('main', { id: 'main', class: 'bare' }, content));
  else setMain(main, content);
  const moved = shown.path !== location.pathname;
  shown = { path: location.pathname, node: content };
  const heading = document.querySelector('main h1');
  if (heading && moved && shown.path !== '') {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

// localPath keeps a next= target on this site: a path, never //host or a scheme.
export function localPath(to) {
  return typeof to === 'string' && to.startsWith('/') && !to.startsWith('//') && !to.startsWith('/\\') ? to : '/';
}

async function boot() {
  applyTheme();
  onFreshLogin(freshLoginDialog);
  onSignedOut(() => { session.user = null; show(); });
  try {
    await loadSession();
  } catch (err) {
    replace(root, h('main', { id: 'main', class: 'bare' }, h('h1', null, 'wharf'), errorBox(err)));
    return;
  }
  start(show);
}

boot();
