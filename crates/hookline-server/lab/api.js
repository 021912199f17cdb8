// The Lab is a client of the public REST API: the organization's API key lives in this tab's
// sessionStorage only (never a URL, a cookie or a log) and goes out as a bearer header.

const KEY = 'hookline.lab.apiKey';

export const auth = {
  key: () => sessionStorage.getItem(KEY),
  set: (key) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

/** An error answer: status and the RFC 7807 problem document. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  get errors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

/** Calls the API with the stored key; a 401 signs the Lab out (the key was revoked). */
export async function api(method, path, body, { key } = {}) {
  const bearer = key || auth.key();
  const headers = {};
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!response.ok) {
    if (response.status === 401 && !key) {
      auth.clear();
      window.dispatchEvent(new CustomEvent('lab:signed-out', {
        detail: 'Your API key was refused (revoked or unknown), so the Lab signed you out. Sign in with another key.',
      }));
    }
    throw new ApiError(response.status, typeof data === 'object' ? data : { detail: String(data || '') });
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const put = (path, body) => api('PUT', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

/** Every item of a paginated list (`path` without a query), page by page. */
export async function all(path) {
  const out = [];
  for (let page = 1; page; ) {
    const list = await get(`${path}${query({ page, perPage: 100 })}`);
    out.push(...list.data);
    page = list.meta.next;
  }
  return out;
}

/** Query string from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * Reads a Server-Sent Events stream with the stored key in a header (a browser's EventSource
 * cannot send one, and the key must never go into a URL). Calls `onEvent({ name, id, data })`
 * for each event and `onState('open' | 'closed' | error)` as the stream goes; `close()` stops it.
 */
export function eventStream(path, onEvent, onState = () => {}) {
  const stop = new AbortController();
  (async () => {
    try {
      const response = await fetch(path, {
        headers: { Authorization: `Bearer ${auth.key()}`, Accept: 'text/event-stream' },
        credentials: 'omit',
        cache: 'no-store',
        signal: stop.signal,
      });
      if (!response.ok) throw new ApiError(response.status, {});
      onState('open');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let event = { name: 'message', id: '', data: [] };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const lines = buffer.split('\n');
        buffer = lines.pop();
        for (const raw of lines) {
          const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
          if (line === '') {
            if (event.data.length) onEvent({ name: event.name, id: event.id, data: event.data.join('\n') });
            event = { name: 'message', id: event.id, data: [] };
          } else if (!line.startsWith(':')) {
            const colon = line.indexOf(':');
            const key = colon < 0 ? line : line.slice(0, colon);
            const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (key === 'event') event.name = val;
            else if (key === 'data') event.data.push(val);
            else if (key === 'id') event.id = val;
          }
        }
      }
      onState('closed');
    } catch (e) {
      if (!stop.signal.aborted) onState(e);
    }
  })();
  return { close: () => stop.abort() };
}
