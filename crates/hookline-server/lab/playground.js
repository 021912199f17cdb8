// The Playground: a session with a persona. A persona with an LLM talks (chat.js); every
// persona's tools can also be run by hand, as an LLM would call them; each call is a card that
// follows the session's live event stream (tool_cards.js). Past sessions are in sessions.js.
import { h, mount, field, uid } from './dom.js';
import { get, post, query, ApiError } from './api.js';
import { link, heading, showProblem, clearProblem, failed, flash, guardLeaving } from './ui.js';
import { argumentsForm } from './schema.js';
import { toolCards } from './tool_cards.js';
import { chat } from './chat.js';

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
    mount(main, heading('Playground'), h('p', { text: 'Choose a persona to talk to, or to run its tools by hand.' }),
      list.data.length ? h('ul', { class: 'plain' }, list.data.map((p) => h('li', {}, link(`/lab/playground/${p.id}`, p.name),
        h('span', { class: 'hint', text: p.llmId ? ' · talks through its LLM' : ' · no LLM: tool calls by hand' }))))
        : h('p', { class: 'empty' }, 'No personas yet: ', link('/lab/personas', 'create one'), '.'));
    return;
  }
  let persona;
  try { persona = await get(`/v1/personas/${encodeURIComponent(personaId)}`); } catch (e) { return failed(main, e); }
  document.title = `Playground: ${persona.name} · Hookline Lab`;
  const area = h('div', { class: 'playground' });
  const start = h('button', { type: 'button', class: 'primary', id: 'start-session' }, 'Start a session');
  // Variables go into the session token (your server's side); the browser's session never sees them.
  const variables = field('Variables (JSON object, optional)', h('textarea', { rows: 2, class: 'mono', id: 'session-variables', spellcheck: 'false', placeholder: '{"customer_id": "c_123"}' }),
    { field: 'personaConfig.variables', hint: 'Values for the tools\' {{name}}s in this session: snake_case names, string values.' });
  const startBox = h('div', { class: 'session-start' }, variables.wrap, start);
  mount(main, h('p', { class: 'crumbs' }, link('/lab/personas', '← Personas'), ' · ', link(`/lab/build/${persona.id}`, `Build ${persona.name}`)),
    h('h1', {}, 'Playground: ', h('span', { text: persona.name })),
    persona.llmId
      ? h('p', { class: 'hint', text: 'Talk to the persona: its LLM decides which tools to call, and each call appears as a card as it runs.' })
      : h('p', { class: 'flash info' }, 'This persona has no LLM, so it cannot talk: run its tool calls by hand, as an LLM would. ',
        link(`/lab/build/${persona.id}`, 'Pick an LLM'), ' to talk to it.'),
    startBox, area);
  // Starts a session (from "Start a session", or "New session" once one ended); `button` waits.
  async function begin(button) {
    button.disabled = true;
    try {
      const personaConfig = { personaId: persona.id };
      const given = variables.input.value.trim();
      if (given) {
        try { personaConfig.variables = JSON.parse(given); } catch (e) { throw new Error(`the variables are not JSON: ${e.message}`); }
      }
      const { sessionToken } = await post('/v1/auth/session-token', { clientLabel: 'lab', personaConfig });
      const response = await fetch('/v1/engine/session', { method: 'POST', headers: { Authorization: `Bearer ${sessionToken}` }, credentials: 'omit' });
      const s = await response.json();
      if (!response.ok) throw new ApiError(response.status, s);
      startBox.hidden = true;
      flash('');
      runSession(area, s, persona, begin);
    } catch (e) {
      button.disabled = false;
      const fields = (e.errors || []).map((x) => `${x.field}: ${x.message}`).join('; ');
      flash(`Could not start a session: ${e.message}${fields ? ` (${fields})` : ''}`, 'error');
    }
  }
  start.addEventListener('click', () => begin(start));
}

function runSession(area, s, persona, begin) {
  // With an LLM the cards go into the conversation where they happen; without, newest first.
  let cards = null;
  const conversation = persona.llmId ? chat(s, persona, (id) => cards.cardOf(id)) : null;
  const cardList = h('ol', { class: 'cards', 'aria-live': 'polite', id: 'tool-cards' });
  cards = toolCards(s, conversation ? conversation.place : (card) => cardList.prepend(card));
  const toolSelect = h('select', { id: uid('tool') }, s.tools.map((t) => h('option', { value: t.name, text: `${t.name} (${t.type})` })));
  const argsSlot = h('div');
  let args = null;
  function pickTool() {
    const t = s.tools.find((x) => x.name === toolSelect.value);
    args = argumentsForm(t?.parameters);
    mount(argsSlot, args.el);
  }
  toolSelect.addEventListener('change', pickTool);
  const form = h('form', { class: 'card by-hand', novalidate: true },
    h('div', { class: 'form-errors', role: 'alert', hidden: true }),
    s.tools.length ? [field('Tool', toolSelect, { field: 'toolName' }).wrap, argsSlot]
      : h('p', { text: 'This persona has no tools: attach some on its build page.' }),
    h('div', { class: 'actions' },
      s.tools.length ? h('button', { type: 'submit', class: 'primary', id: 'run-call' }, 'Run tool call') : null));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    let body;
    try { body = { toolName: toolSelect.value, arguments: args.value() }; } catch (err) { return showProblem(form, { message: err.message, errors: [] }); }
    try {
      const call = await post(`/v1/sessions/${s.sessionId}/tool-calls`, body);
      cards.update(call.toolCallId, { toolName: body.toolName, arguments: body.arguments, status: call.status, result: call.result, error: call.error, executionTime: call.executionTime });
    } catch (err) { showProblem(form, err); }
  });
  const end = h('button', { type: 'button', class: 'danger', id: 'end-session' }, 'End session');
  end.addEventListener('click', async () => {
    try { await post(`/v1/sessions/${s.sessionId}/end`, {}); } catch (e) { flash(`Could not end: ${e.message}`, 'error'); }
  });
  // The event stream authenticates with the session's client secret (EventSource cannot send a
  // header); the organization's API key never goes into a URL.
  closeLive();
  // Leaving a running session asks first: it stays active until it expires, unless ended.
  let ended = false;
  const until = new Date(s.expiresAt).toLocaleTimeString();
  guardLeaving(() => (ended || !area.isConnected ? null
    : `Your session ${s.sessionId} is still running: it stays active until it expires at ${until}, unless you end it (End session, here or on its page in Sessions). Leave it running?`),
  { unload: false });
  live = new EventSource(`/v1/sessions/${s.sessionId}/events?clientSecret=${encodeURIComponent(s.clientSecret)}`);
  const status = h('p', { class: 'hint live-status', 'aria-live': 'polite', text: 'Connecting to the event stream…' });
  live.addEventListener('open', () => { status.textContent = 'Live: events of this session appear as they happen.'; });
  cards.follow(live);
  conversation?.follow(live);
  // An ended session keeps its conversation on screen, read-only, and offers a new one.
  const again = h('button', { type: 'button', class: 'primary', id: 'new-session', hidden: true }, 'New session');
  again.addEventListener('click', () => begin(again));
  live.addEventListener('sessionEnded', () => {
    status.textContent = 'The session ended.';
    area.querySelectorAll('button, input, select, textarea').forEach((b) => { b.disabled = true; });
    end.hidden = true;
    again.disabled = false;
    again.hidden = false;
    ended = true;
    closeLive();
    again.focus();
  });
  if (s.tools.length) pickTool();
  const head = h('div', { class: 'session-head' }, h('span', { class: 'hint mono', text: `Session ${s.sessionId}` }), end, again);
  if (conversation) {
    mount(area, head, status, conversation.el,
      s.tools.length ? h('details', { class: 'card by-hand-box' }, h('summary', { text: 'Run a tool call by hand' }), form) : null);
    conversation.focus();
  } else {
    mount(area, head, status, form, h('h2', { text: 'Tool calls' }), cardList);
  }
}
