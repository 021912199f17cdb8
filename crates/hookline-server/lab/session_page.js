// A session as a page of its own, /lab/sessions/{id} (a refresh keeps it, a link opens it): what
// it is, the transcript with each tool call where it was asked for (its request and response laid
// out as on the tool Test page), and its events, named for people with the raw name beside
// (replayed from the first, then live while the session runs).
import { h, mount, code } from './dom.js';
import { get, post, eventStream } from './api.js';
import { link, failed, flash, counted } from './ui.js';
import { exchange } from './tool_trial.js';
import { isSearchResult, chunkList } from './chunks.js';

// The open session's event stream, closed when the page changes.
let live = null;
function stopLive() {
  live?.close();
  live = null;
}
window.addEventListener('lab:navigate', stopLive);
window.addEventListener('popstate', stopLive);

/** Events as a person would say them; the raw name is shown beside. */
const EVENT_NAMES = {
  toolCallStarted: 'Tool call started',
  toolCallCompleted: 'Tool call completed',
  toolCallFailed: 'Tool call failed',
  toolCallRefused: 'Tool call refused',
  messageStreamEvent: 'Message',
  messageHistoryUpdated: 'Conversation saved',
  turnFailed: 'Turn failed',
  sessionEnded: 'Session ended',
  followUpScheduled: 'Follow-up scheduled',
  followUpStarted: 'Follow-up started',
};

/** "3 min 12 s" from milliseconds. */
export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** How long a session ran (or has run so far, while active). */
export function lasted(s) {
  const end = s.endedAt ? new Date(s.endedAt) : s.status === 'active' ? new Date() : new Date(s.expiresAt);
  return duration(end - new Date(s.createdAt));
}

/** One line of what an event says, beside its name. */
function summary(name, d, text) {
  if (name.startsWith('toolCall')) {
    const time = d.executionTime == null ? '' : ` · ${d.executionTime} ms`;
    const error = d.errorMessage ?? (d.error ? `${d.error.kind}: ${d.error.message}` : '');
    return `${d.toolName}${time}${error ? ` · ${error}` : ''}`;
  }
  if (name === 'messageStreamEvent') return `${d.role}: ${text}`;
  if (name === 'turnFailed') return `${d.error?.kind ?? ''}: ${d.error?.message ?? ''}`;
  if (name === 'followUpScheduled') return `at ${new Date(d.at).toLocaleTimeString()}: ${d.note}`;
  if (name === 'followUpStarted') return `turn ${d.turnId}`;
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
      h('span', { class: 'mono hint', text: `#${e.id}` }), h('span', { class: 'badge', text: EVENT_NAMES[e.name] ?? e.name }),
      h('span', { class: 'mono hint raw-name', text: e.name }), line,
      h('details', {}, h('summary', { text: 'Data' }), code(d))));
  }, (state) => {
    if (state === 'open') note.textContent = 'Live: new events of this session appear as they happen.';
    else if (state === 'closed') note.textContent = 'All events shown: the session has ended.';
    else note.textContent = `The event stream stopped: ${state.message}`;
  });
}

const attempts = (n) => counted(n, 'attempt');

/**
 * A call of the call log as a card: name, status, time, attempts, why it failed; its exchange
 * folded. A knowledge tool's result is its ranked chunks with their sources, as in the Playground.
 */
function callCard(c, knowledge) {
  return h('li', { class: 'card tool-card', dataset: { toolCallId: c.toolCallId, status: c.status } },
    h('div', { class: 'card-head' }, h('span', { class: 'mono tool-name', text: c.toolName }), h('span', { class: `badge ${c.status === 'failed' ? 'bad' : c.status === 'completed' ? 'ok' : ''}`, text: c.status }),
      h('span', { class: 'hint', text: `${c.executionTime ?? '–'} ms · ${attempts(c.attempts ?? 1)}` })),
    // Why it failed, at a glance (as the Playground's card says it), not only inside the fold.
    c.error ? h('p', { class: 'flash error call-error', text: `${c.error.kind}: ${c.error.message}` }) : null,
    h('h4', { text: 'Arguments' }), code(c.arguments ?? {}),
    c.request || c.response || c.error
      ? h('details', {}, h('summary', { text: 'Request and response' }), exchange({ request: c.request, response: c.response, error: c.error, executionTime: c.executionTime }))
      : h('p', { class: 'hint', text: 'No HTTP request: the browser or Hookline itself answered this call.' }),
    c.result !== undefined && c.result !== null
      ? [h('h4', { text: 'Result' }), knowledge.has(c.toolName) && isSearchResult(c.result) ? chunkList(c.result) : code(c.result)]
      : null);
}

/** The transcript: each message, and after a persona's message the calls it asked for. */
function transcript(messages, calls, knowledge) {
  const byId = new Map(calls.map((c) => [c.toolCallId, c]));
  const placed = new Set();
  const items = [];
  for (const m of messages) {
    if (m.role === 'tool') continue;
    if (m.content) {
      items.push(h('li', { class: `msg ${m.role}` }, h('span', { class: 'who', text: m.role === 'user' ? 'User' : 'Persona' }),
        h('p', { class: 'text', text: m.content }), m.interrupted ? h('span', { class: 'badge', text: 'interrupted' }) : null));
    }
    for (const t of m.toolCalls || []) {
      const c = byId.get(t.toolCallId);
      if (c) { items.push(callCard(c, knowledge)); placed.add(c.toolCallId); }
    }
  }
  // Calls no message asked for (run by hand, or by a backend), in the order they came.
  for (const c of calls) if (!placed.has(c.toolCallId)) items.push(callCard(c, knowledge));
  return items.length ? h('ol', { class: 'transcript', id: 'session-transcript' }, items)
    : h('p', { class: 'hint', text: 'No messages and no tool calls yet.' });
}

/** The follow-ups the persona scheduled: when, what for, and what became of them. */
function followUpList(list) {
  return h('ul', { class: 'follow-ups', id: 'session-follow-ups' }, list.map((f) => h('li', { dataset: { status: f.status } },
    h('span', { class: 'badge', text: f.status }), ' ',
    h('span', { text: `${new Date(f.at).toLocaleString()}: ${f.note}` }))));
}

export async function sessionPage(main, id) {
  document.title = 'Session · Hookline Lab';
  const base = `/v1/sessions/${encodeURIComponent(id)}`;
  let s; let calls; let messages; let personas; let followUps;
  try {
    [s, calls, messages, personas, followUps] = await Promise.all([get(base), get(`${base}/tool-calls?perPage=100`),
      get(`${base}/messages?perPage=100`).catch(() => ({ data: [] })), get('/v1/personas?perPage=100'),
      get(`${base}/followups?perPage=100`).catch(() => ({ data: [] }))]);
  } catch (e) { return failed(main, e); }
  const persona = personas.data.find((p) => p.id === s.personaId);
  const who = !s.personaId ? 'ephemeral persona' : persona ? persona.name : `deleted persona ${s.personaId}`;
  // The call log is newest first; the transcript reads oldest first.
  const log = [...calls.data].reverse();
  const knowledge = new Set((s.tools ?? []).filter((t) => t.subtype === 'knowledge').map((t) => t.name));
  const events = h('ol', { class: 'event-log', id: 'session-events' });
  const note = h('p', { class: 'hint', 'aria-live': 'polite', text: 'Reading the event stream…' });
  const end = s.status === 'active' ? h('button', { type: 'button', class: 'danger', id: 'end-open-session' }, 'End session') : null;
  end?.addEventListener('click', async () => {
    end.disabled = true;
    try { await post(`${base}/end`, {}); } catch (e) { end.disabled = false; return flash(`Could not end: ${e.message}`, 'error'); }
    sessionPage(main, id);
  });
  const facts = [`${who}`, `status ${s.status}`, `started ${new Date(s.createdAt).toLocaleString()}`, `lasted ${lasted(s)}`,
    s.status === 'active' ? `until ${new Date(s.expiresAt).toLocaleString()}, when it expires` : null, s.clientLabel ? `label ${s.clientLabel}` : null];
  mount(main, h('p', { class: 'crumbs' }, link('/lab/sessions', '← Sessions')),
    h('section', { id: 'session-detail' },
      h('h1', {}, 'Session ', h('span', { class: 'mono', text: s.id })),
      h('p', { class: 'session-facts', text: facts.filter(Boolean).join(' · ') }), end,
      h('h2', { text: 'Transcript' }), transcript(messages.data, log, knowledge),
      followUps.data.length ? [h('h2', { text: 'Follow-ups' }), followUpList(followUps.data)] : null,
      h('h2', { text: 'Events' }), note, events));
  followEvents(base, events, note);
}
