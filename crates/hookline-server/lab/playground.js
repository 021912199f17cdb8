// The Playground: a session with a persona; tool calls run by hand appear as cards that follow
// the session's live event stream. Also the Sessions page (sessions started from this tab) and
// the LLMs page, both as far as the API goes today.
import { h, mount, field, code, uid } from './dom.js';
import { get, post, query, ApiError } from './api.js';
import { link, heading, showProblem, clearProblem, failed, flash } from './ui.js';
import { argumentsForm } from './schema.js';

const STARTED = 'hookline.lab.sessions';

function rememberSession(s) {
  const list = JSON.parse(sessionStorage.getItem(STARTED) || '[]').filter((x) => x.id !== s.id);
  list.unshift(s);
  sessionStorage.setItem(STARTED, JSON.stringify(list.slice(0, 20)));
}

let live = null;
function closeLive() {
  if (live) live.close();
  live = null;
}
window.addEventListener('lab:navigate', closeLive);
window.addEventListener('popstate', closeLive);

export async function playgroundPage(main, personaId) {
  document.title = 'Playground · Hookline Lab';
  if (!personaId) {
    let list;
    try { list = await get(`/v1/personas${query({ perPage: 100 })}`); } catch (e) { return failed(main, e); }
    mount(main, heading('Playground'), h('p', { text: 'Choose a persona to talk to or to run its tools by hand.' }),
      list.data.length ? h('ul', { class: 'plain' }, list.data.map((p) => h('li', {}, link(`/lab/playground/${p.id}`, p.name))))
        : h('p', { class: 'empty' }, 'No personas yet: ', link('/lab/personas', 'create one'), '.'));
    return;
  }
  let persona;
  try { persona = await get(`/v1/personas/${encodeURIComponent(personaId)}`); } catch (e) { return failed(main, e); }
  document.title = `Playground: ${persona.name} · Hookline Lab`;
  const area = h('div', { class: 'playground' });
  const start = h('button', { type: 'button', class: 'primary', id: 'start-session' }, 'Start a session');
  mount(main, h('p', { class: 'crumbs' }, link('/lab/personas', '← Personas'), ' · ', link(`/lab/build/${persona.id}`, `Build ${persona.name}`)),
    h('h1', {}, 'Playground: ', h('span', { text: persona.name })),
    h('p', { class: 'flash info', text: 'The conversation runtime is not available yet: chat arrives with it. Meanwhile run the persona’s tool calls by hand, as an LLM would.' }),
    start, area);
  start.addEventListener('click', async () => {
    start.disabled = true;
    try {
      const { sessionToken } = await post('/v1/auth/session-token', { clientLabel: 'lab', personaConfig: { personaId: persona.id } });
      const response = await fetch('/v1/engine/session', { method: 'POST', headers: { Authorization: `Bearer ${sessionToken}` }, credentials: 'omit' });
      const s = await response.json();
      if (!response.ok) throw new ApiError(response.status, s);
      rememberSession({ id: s.sessionId, persona: persona.name, at: new Date().toISOString() });
      start.hidden = true;
      runSession(area, s);
    } catch (e) {
      start.disabled = false;
      flash(`Could not start a session: ${e.message}`, 'error');
    }
  });
}

function runSession(area, s) {
  const cards = h('ol', { class: 'cards', 'aria-live': 'polite', id: 'tool-cards' });
  const byCall = new Map();
  const toolSelect = h('select', { id: uid('tool') }, s.tools.map((t) => h('option', { value: t.name, text: `${t.name} (${t.type})` })));
  const argsSlot = h('div');
  let args = null;
  function pickTool() {
    const t = s.tools.find((x) => x.name === toolSelect.value);
    args = argumentsForm(t?.parameters);
    mount(argsSlot, args.el);
  }
  toolSelect.addEventListener('change', pickTool);
  const form = h('form', { class: 'card', novalidate: true },
    h('div', { class: 'form-errors', role: 'alert', hidden: true }),
    h('p', { class: 'hint mono', text: `Session ${s.sessionId}` }),
    s.tools.length ? [field('Tool', toolSelect, { field: 'toolName' }).wrap, argsSlot]
      : h('p', { text: 'This persona has no tools: attach some on its build page.' }),
    h('div', { class: 'actions' },
      s.tools.length ? h('button', { type: 'submit', class: 'primary', id: 'run-call' }, 'Run tool call') : null,
      h('button', { type: 'button', class: 'danger', onclick: end }, 'End session')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    let body;
    try { body = { toolName: toolSelect.value, arguments: args.value() }; } catch (err) { return showProblem(form, { message: err.message, errors: [] }); }
    try {
      const call = await post(`/v1/sessions/${s.sessionId}/tool-calls`, body);
      update(call.toolCallId, { toolName: body.toolName, arguments: body.arguments, status: call.status, result: call.result, error: call.error, executionTime: call.executionTime });
    } catch (err) { showProblem(form, err); }
  });
  async function end() {
    try { await post(`/v1/sessions/${s.sessionId}/end`, {}); } catch (e) { flash(`Could not end: ${e.message}`, 'error'); }
  }
  function update(id, patch) {
    const before = byCall.get(id)?.state || {};
    const state = { ...before, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
    // Answers and events may arrive in either order: a finished call never goes back to running.
    if (['completed', 'failed'].includes(before.status)) state.status = before.status;
    let card = byCall.get(id)?.el;
    if (!card) { card = h('li', { class: 'tool-card card' }); cards.prepend(card); }
    byCall.set(id, { el: card, state });
    const errorText = typeof state.error === 'object' && state.error ? `${state.error.kind}: ${state.error.message}` : state.error;
    mount(card,
      h('div', { class: 'card-head' }, h('span', { class: 'mono tool-name', text: state.toolName }),
        h('span', { class: `badge ${state.status === 'completed' ? 'ok' : state.status === 'failed' ? 'bad' : ''}`, text: state.status || 'running' }),
        state.executionTime !== undefined ? h('span', { class: 'hint', text: `${state.executionTime} ms` }) : null),
      h('h3', { text: 'Arguments' }), code(state.arguments ?? {}),
      state.result !== undefined ? [h('h3', { text: 'Result' }), code(state.result)] : null,
      errorText ? h('p', { class: 'flash error', text: errorText }) : null,
      clientTool(state.toolName) && !['completed', 'failed'].includes(state.status) ? resultForm(id) : null);
  }
  function clientTool(name) {
    return s.tools.find((t) => t.name === name)?.type === 'client';
  }
  // A client tool is carried out by the browser: here the person plays that part and answers.
  function resultForm(toolCallId) {
    const box = field('Result (JSON, or text)', h('textarea', { rows: 3, class: 'mono', placeholder: '{"shown": true}' }), { field: 'result' });
    const answer = async (asError) => {
      const text = box.input.value;
      let body;
      if (asError) body = { error: text || 'refused by the person in the Lab' };
      else {
        try { body = { result: text.trim() ? JSON.parse(text) : null }; } catch { body = { result: text }; }
      }
      try {
        await post(`/v1/sessions/${s.sessionId}/tool-calls/${encodeURIComponent(toolCallId)}/result`, body);
        update(toolCallId, asError ? { status: 'failed', error: body.error } : { status: 'completed', result: body.result });
      } catch (e) { flash(`Could not send the result: ${e.message}`, 'error'); }
    };
    return h('div', { class: 'client-result' },
      h('p', { text: 'This is a client tool: the browser carries it out. Answer for it:' }), box.wrap,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'primary', onclick: () => answer(false) }, 'Send result'),
        h('button', { type: 'button', onclick: () => answer(true) }, 'Send as error')));
  }
  // The event stream authenticates with the session's client secret (EventSource cannot send a
  // header); the organization's API key never goes into a URL.
  closeLive();
  live = new EventSource(`/v1/sessions/${s.sessionId}/events?clientSecret=${encodeURIComponent(s.clientSecret)}`);
  const status = h('p', { class: 'hint', 'aria-live': 'polite', text: 'Connecting to the event stream…' });
  live.addEventListener('open', () => { status.textContent = 'Live: events of this session appear as they happen.'; });
  live.addEventListener('toolCallStarted', (m) => { const d = JSON.parse(m.data); update(d.toolCallId, { toolName: d.toolName, arguments: d.arguments, status: 'running' }); });
  live.addEventListener('toolCallCompleted', (m) => { const d = JSON.parse(m.data); update(d.toolCallId, { toolName: d.toolName, status: 'completed', result: d.result, executionTime: d.executionTime }); });
  live.addEventListener('toolCallFailed', (m) => { const d = JSON.parse(m.data); update(d.toolCallId, { toolName: d.toolName, status: 'failed', error: d.errorMessage, executionTime: d.executionTime }); });
  live.addEventListener('sessionEnded', () => { status.textContent = 'The session ended.'; form.querySelectorAll('button').forEach((b) => { b.disabled = true; }); closeLive(); });
  if (s.tools.length) pickTool();
  mount(area, form, status, h('h2', { text: 'Tool calls' }), cards);
}

export async function sessionsPage(main) {
  document.title = 'Sessions · Hookline Lab';
  const started = JSON.parse(sessionStorage.getItem(STARTED) || '[]');
  const idIn = field('Session id', h('input', { type: 'text', spellcheck: 'false', class: 'mono' }), { field: 'id' });
  const detail = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card inline-form', novalidate: true }, h('div', { class: 'form-errors', role: 'alert', hidden: true }),
    idIn.wrap, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Open')));
  form.addEventListener('submit', (e) => { e.preventDefault(); open(idIn.input.value.trim()); });
  async function open(id) {
    clearProblem(form);
    let s;
    let calls;
    try {
      [s, calls] = await Promise.all([get(`/v1/sessions/${encodeURIComponent(id)}`), get(`/v1/sessions/${encodeURIComponent(id)}/tool-calls?perPage=100`)]);
    } catch (e) { return showProblem(form, e.status === 404 ? new ApiError(404, { detail: 'No such session', errors: [{ field: 'id', message: 'is not a session of your organization' }] }) : e); }
    mount(detail, h('section', { class: 'card' },
      h('h2', { text: `Session ${s.id}` }),
      h('p', { text: `Status ${s.status} · started ${new Date(s.createdAt).toLocaleString()}` }),
      h('h3', { text: 'Tool calls' }),
      calls.data.length ? h('ol', { class: 'cards' }, calls.data.map((c) => h('li', { class: 'card tool-card' },
        h('div', { class: 'card-head' }, h('span', { class: 'mono tool-name', text: c.toolName }), h('span', { class: 'badge', text: c.status }),
          h('span', { class: 'hint', text: `${c.executionTime ?? '–'} ms · ${c.attempts ?? 1} attempt(s)` })),
        h('details', {}, h('summary', { text: 'Request and response' }), code({ arguments: c.arguments, request: c.request, response: c.response, error: c.error })))))
        : h('p', { class: 'hint', text: 'No tool calls.' })));
  }
  mount(main, heading('Sessions'),
    h('p', { class: 'hint', text: 'The API has no list of sessions yet: here are those started from this tab, and any other by its id.' }),
    started.length ? h('ul', { class: 'plain' }, started.map((s) => h('li', {},
      h('button', { type: 'button', class: 'link mono', onclick: () => open(s.id) }, s.id), ` ${s.persona} · ${new Date(s.at).toLocaleString()}`)))
      : h('p', { class: 'empty', text: 'No sessions started from this tab.' }),
    form, detail);
}

export async function llmsPage(main) {
  document.title = 'LLMs · Hookline Lab';
  let list = null;
  try { list = await get('/v1/llms'); } catch (e) {
    if (e.status === 401) return;
    if (e.status !== 404) return failed(main, e);
  }
  if (!list) {
    mount(main, heading('LLMs'), h('p', { class: 'flash info', text: 'The conversation runtime is not available yet on this server: LLM connections arrive with it.' }));
    return;
  }
  mount(main, heading('LLMs'), h('ul', { class: 'plain' }, (list.data || []).map((l) => h('li', {}, h('span', { class: 'mono', text: l.name }), ` ${l.provider || ''} ${l.model || ''}`))));
}
