// Sessions: the organization's sessions from `GET /v1/sessions` (newest first, in pages, by
// persona and status), and one opened with its transcript, call log and events (replayed from the
// first, then live while the session runs); any other by its id.
import { h, mount, field, code, uid } from './dom.js';
import { get, post, query, eventStream, ApiError } from './api.js';
import { pager, heading, showProblem, clearProblem, failed } from './ui.js';

const STATUSES = ['active', 'ended', 'expired'];

// The open session's event stream, closed when another session opens or the page changes.
let live = null;
function stopLive() {
  live?.close();
  live = null;
}
window.addEventListener('lab:navigate', stopLive);
window.addEventListener('popstate', stopLive);

/** One line of what an event says, beside its name. */
function summary(name, d, text) {
  if (name.startsWith('toolCall')) {
    const time = d.executionTime == null ? '' : ` · ${d.executionTime} ms`;
    return `${d.toolName}${time}${d.errorMessage ? ` · ${d.errorMessage}` : ''}`;
  }
  if (name === 'messageStreamEvent') return `${d.role}: ${text}`;
  if (name === 'turnFailed') return `${d.error?.kind ?? ''}: ${d.error?.message ?? ''}`;
  return '';
}

/** Lists the session's events in `list` as they come; a reply's pieces share one line. */
function followEvents(base, list, note) {
  stopLive();
  const replies = new Map();
  live = eventStream(`${base}/events?lastEventId=0`, (e) => {
    let d;
    try { d = JSON.parse(e.data); } catch { d = {}; }
    const speech = e.name === 'messageStreamEvent' && d.id;
    const known = speech && replies.get(d.id);
    if (known) {
      known.text += d.content || '';
      known.count += 1;
      known.line.textContent = `${summary(e.name, d, known.text)} (${known.count} events)`;
      return;
    }
    const line = h('span', { class: 'event-summary', text: summary(e.name, d, d.content || '') });
    if (speech) replies.set(d.id, { text: d.content || '', count: 1, line });
    list.append(h('li', { class: 'event', dataset: { event: e.name } },
      h('span', { class: 'mono hint', text: `#${e.id}` }), h('span', { class: 'badge', text: e.name }), line,
      h('details', {}, h('summary', { text: 'Data' }), code(d))));
  }, (state) => {
    if (state === 'open') note.textContent = 'Live: new events of this session appear as they happen.';
    else if (state === 'closed') note.textContent = 'All events shown: the session has ended.';
    else note.textContent = `The event stream stopped: ${state.message}`;
  });
}

export async function sessionsPage(main) {
  document.title = 'Sessions · Hookline Lab';
  // Persona names for the filter and the rows; a session keeps the id of a persona since deleted.
  let personas;
  try { personas = (await get(`/v1/personas${query({ perPage: 100 })}`)).data; } catch (e) { return failed(main, e); }
  const names = new Map(personas.map((p) => [p.id, p.name]));
  const personaIn = h('select', { id: uid('persona'), name: 'personaId' }, h('option', { value: '', text: 'All personas' }),
    personas.map((p) => h('option', { value: p.id, text: p.name })));
  const statusIn = h('select', { id: uid('status'), name: 'status' }, h('option', { value: '', text: 'Any status' }),
    STATUSES.map((s) => h('option', { value: s, text: s })));
  const filters = h('form', { class: 'search', 'aria-label': 'Filter sessions' },
    h('label', { for: personaIn.id, text: 'Persona' }), personaIn,
    h('label', { for: statusIn.id, text: 'Status' }), statusIn);
  filters.addEventListener('submit', (e) => { e.preventDefault(); load(1); });
  personaIn.addEventListener('change', () => load(1));
  statusIn.addEventListener('change', () => load(1));
  const results = h('div', { class: 'results', id: 'sessions-list', 'aria-live': 'polite' });

  const idIn = field('Session id', h('input', { type: 'text', spellcheck: 'false', class: 'mono' }), { field: 'id' });
  const form = h('form', { class: 'card inline-form', novalidate: true }, h('div', { class: 'form-errors', role: 'alert', hidden: true }),
    idIn.wrap, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Open')));
  form.addEventListener('submit', (e) => { e.preventDefault(); open(idIn.input.value.trim()); });
  const detail = h('div', { id: 'session-detail', 'aria-live': 'polite' });

  async function load(p) {
    let list;
    try {
      list = await get(`/v1/sessions${query({ page: p, perPage: 10, personaId: personaIn.value, status: statusIn.value })}`);
    } catch (e) { return failed(results, e); }
    if (!list.data.length) {
      mount(results, h('p', { class: 'empty', text: personaIn.value || statusIn.value ? 'No session matches.' : 'No sessions yet: start one in the Playground.' }));
      return;
    }
    mount(results,
      h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
        h('thead', {}, h('tr', {}, ['Session', 'Persona', 'Status', 'Started', 'Label'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, list.data.map((s) => h('tr', {},
          h('td', {}, h('button', { type: 'button', class: 'link mono', dataset: { session: s.id }, 'aria-label': `Open session ${s.id}`, onclick: () => open(s.id) }, s.id)),
          h('td', { 'data-label': 'Persona', text: personaName(s) }),
          h('td', {}, h('span', { class: 'badge', text: s.status }), expiry(s)),
          h('td', { 'data-label': 'Started', text: new Date(s.createdAt).toLocaleString() }),
          h('td', { 'data-label': 'Label', text: s.clientLabel || '' })))))),
      pager(list.meta, load));
  }

  // A session nobody ended stays active until it expires: say when.
  function expiry(s) {
    if (s.status !== 'active' || !s.expiresAt) return null;
    return h('span', { class: 'hint expires', text: ` until ${new Date(s.expiresAt).toLocaleString()}, when it expires` });
  }

  function personaName(s) {
    if (!s.personaId) return 'ephemeral persona';
    return names.get(s.personaId) ?? `deleted persona ${s.personaId}`;
  }

  async function open(id) {
    clearProblem(form);
    let s;
    let calls;
    let messages;
    const base = `/v1/sessions/${encodeURIComponent(id)}`;
    try {
      [s, calls, messages] = await Promise.all([get(base), get(`${base}/tool-calls?perPage=100`),
        get(`${base}/messages?perPage=100`).catch(() => ({ data: [] }))]);
    } catch (e) { return showProblem(form, e.status === 404 ? new ApiError(404, { detail: 'No such session', errors: [{ field: 'id', message: 'is not a session of your organization' }] }) : e); }
    const events = h('ol', { class: 'event-log', id: 'session-events' });
    const note = h('p', { class: 'hint', 'aria-live': 'polite', text: 'Reading the event stream…' });
    const said = messages.data.filter((m) => m.role !== 'tool' && m.content);
    mount(detail, h('section', { class: 'card' },
      h('h2', { text: `Session ${s.id}` }),
      h('p', {}, `${personaName(s)} · status ${s.status} · started ${new Date(s.createdAt).toLocaleString()}`, expiry(s)),
      s.status === 'active' ? h('button', { type: 'button', class: 'danger', id: 'end-open-session', onclick: () => end(s.id) }, 'End session') : null,
      h('h3', { text: 'Transcript' }),
      // Text messages of the conversation; tool exchanges are the cards below.
      said.length ? h('ol', { class: 'transcript' }, said.map((m) => h('li', { class: `msg ${m.role}` }, h('span', { class: 'who', text: m.role === 'user' ? 'User' : 'Persona' }),
        h('p', { class: 'text', text: m.content }), m.interrupted ? h('span', { class: 'badge', text: 'interrupted' }) : null)))
        : h('p', { class: 'hint', text: 'No messages (a persona without an LLM does not talk).' }),
      h('h3', { text: 'Tool calls' }),
      calls.data.length ? h('ol', { class: 'cards' }, calls.data.map((c) => h('li', { class: 'card tool-card' },
        h('div', { class: 'card-head' }, h('span', { class: 'mono tool-name', text: c.toolName }), h('span', { class: 'badge', text: c.status }),
          h('span', { class: 'hint', text: `${c.executionTime ?? '–'} ms · ${c.attempts ?? 1} attempt(s)` })),
        h('details', {}, h('summary', { text: 'Request and response' }), code({ arguments: c.arguments, request: c.request, response: c.response, error: c.error })))))
        : h('p', { class: 'hint', text: 'No tool calls.' }),
      h('h3', { text: 'Events' }), note, events));
    followEvents(base, events, note);
    detail.scrollIntoView?.();
  }

  async function end(id) {
    try { await post(`/v1/sessions/${encodeURIComponent(id)}/end`, {}); } catch (e) { return failed(detail, e); }
    await Promise.all([open(id), load(1)]);
  }

  mount(main, heading('Sessions'), filters, results,
    h('details', { class: 'by-id' }, h('summary', { text: 'Open a session by its id' }), form), detail);
  await load(1);
}
