// The console's only way to act: /api/v1 with the session cookie, and the
// session's CSRF token on every state change. What the caller may do is
// decided by the server; an error is shown as the server worded it.

let csrfToken = '';
let freshLoginHook = null;
let signedOutHook = null;
let requestCount = 0;

// setCSRF records the token to send in X-CSRF-Token.
export function setCSRF(token) { csrfToken = token || ''; }

// onFreshLogin sets the function asked for the password when the server
// answers fresh_login_required; it resolves true once the session is fresh.
export function onFreshLogin(fn) { freshLoginHook = fn; }

// onSignedOut sets what happens when the session is gone (401 invalid_token).
export function onSignedOut(fn) { signedOutHook = fn; }

// requests counts the API requests made, for the benchmarks.
export function requests() { return requestCount; }

// ApiError is an error answer of the API: its status, Quay's error_type
// and the message to show.
export class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

// api sends one request and returns the decoded JSON answer (null for an
// empty body). body, when given, is sent as JSON.
export async function api(method, path, body, { retried = false, extraHeaders = {} } = {}) {
  const headers = { Accept: 'application/json', ...extraHeaders };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken;
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  requestCount += 1;
  const resp = await fetch(path, init);
  const next = resp.headers.get('X-Next-CSRF-Token');
  if (next) csrfToken = next;
  const text = await resp.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error_message: text }; }
  }
  if (resp.ok) return data;
  const type = (data && data.error_type) || '';
  const message = (data && (data.error_message || data.message || data.detail)) || `${resp.status} ${resp.statusText}`;
  if (resp.status === 401 && type === 'fresh_login_required' && !retried && freshLoginHook) {
    if (await freshLoginHook()) return api(method, path, body, { retried: true, extraHeaders });
  }
  if (resp.status === 401 && type === 'invalid_token' && signedOutHook) signedOutHook();
  throw new ApiError(resp.status, type, message);
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const put = (path, body) => api('PUT', path, body ?? {});
export const del = (path) => api('DELETE', path);

// qs builds a query string from an object, leaving out empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== '' && v !== null && v !== undefined) u.set(k, String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}

// seg escapes one path segment (names come from users).
export const seg = (s) => encodeURIComponent(s);
