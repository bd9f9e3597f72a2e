// Client-side routing: the page and all its state (search, sort, page,
// filters) live in the URL, so a reload, a bookmark or the back button
// shows the same thing.

// routes maps a path pattern to the page module under pages/ and what the
// caller must be. :name segments are parameters.
const routes = [
  { path: '/', page: 'home', need: 'user' },
  { path: '/signin', page: 'signin', need: 'anyone' },
  { path: '/setup', page: 'setup', need: 'anyone' },
  { path: '/account', page: 'account', need: 'user' },
  { path: '/repository/:namespace/:name', page: 'repository', need: 'user' },
  { path: '/repository/:namespace/:name/:tab', page: 'repository', need: 'user' },
  { path: '/organization/:name', page: 'org', need: 'user' },
  { path: '/user/:name', page: 'usernamespace', need: 'user' },
  { path: '/superuser/users', page: 'users', need: 'superuser' },
  { path: '/superuser/organizations', page: 'orgs', need: 'superuser' },
  { path: '/superuser/storage', page: 'storage', need: 'superuser' },
  { path: '/superuser/keys', page: 'keys', need: 'superuser' },
  { path: '/superuser/logs', page: 'logs', need: 'superuser' },
  { path: '/superuser/builds', page: 'builds', need: 'superuser' },
  { path: '/superuser/messages', page: 'messages', need: 'superuser' },
  { path: '/superuser/config', page: 'config', need: 'superuser' },
  { path: '/superuser/health', page: 'health', need: 'superuser' },
];

// match returns the route of path with its parameters, or null.
export function match(path) {
  const parts = path.replace(/\/+$/, '').split('/').filter(Boolean);
  for (const r of routes) {
    const want = r.path.split('/').filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    let ok = true;
    want.forEach((w, i) => {
      if (w.startsWith(':')) params[w.slice(1)] = decodeURIComponent(parts[i]);
      else if (w !== parts[i]) ok = false;
    });
    if (ok) return { ...r, params };
  }
  return null;
}

let listener = null;

// start calls onChange now and on every navigation (links, back/forward).
export function start(onChange) {
  listener = onChange;
  window.addEventListener('popstate', () => listener());
  document.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || a.getAttribute('href').startsWith('#') || a.target || a.hasAttribute('download') || e.defaultPrevented || e.button !== 0 ||
        e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.pathname.startsWith('/static/') ||
        url.pathname.startsWith('/health')) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
  listener();
}

// navigate shows url (path and query), adding a history entry unless replace.
export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  if (listener) listener();
}

// setQuery changes the current URL's query (null/'' removes a key).
export function setQuery(changes, { replace = false } = {}) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === '') q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  navigate(location.pathname + (s ? `?${s}` : ''), { replace });
}
