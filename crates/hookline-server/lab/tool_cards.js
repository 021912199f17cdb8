// Tool call cards: one per call of a session (name, arguments, status, result or error, time),
// kept up to date from the session's live events; a client tool's card asks the person for the
// result the browser would send, and sends it with the session's client secret as a browser does.
import { h, mount, field, code } from './dom.js';
import { api } from './api.js';
import { flash } from './ui.js';
import { isSearchResult, chunkList } from './chunks.js';

const FINISHED = ['completed', 'failed', 'refused'];
const BAD = ['failed', 'refused'];

/**
 * Cards for the calls of session `s`; `place(card)` puts a new card in the page. Returns
 * `update(toolCallId, patch)`, `follow(eventSource)` and `cardOf(toolCallId)`.
 */
export function toolCards(s, place) {
  const byCall = new Map();

  function update(id, patch) {
    const before = byCall.get(id)?.state || {};
    const state = { ...before, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) };
    // Answers and events may arrive in either order: a finished call never goes back to running.
    if (FINISHED.includes(before.status)) state.status = before.status;
    let card = byCall.get(id)?.el;
    if (!card) {
      card = h('li', { class: 'tool-card card', dataset: { toolCallId: id } });
      place(card);
    }
    byCall.set(id, { el: card, state });
    card.dataset.status = state.status || 'running';
    const errorText = typeof state.error === 'object' && state.error ? `${state.error.kind}: ${state.error.message}` : state.error;
    const started = state.startedAt ? new Date(state.startedAt).toLocaleTimeString() : null;
    mount(card,
      h('div', { class: 'card-head' }, h('span', { class: 'mono tool-name', text: state.toolName }),
        h('span', { class: `badge ${state.status === 'completed' ? 'ok' : BAD.includes(state.status) ? 'bad' : ''}`, text: state.status || 'running' }),
        state.executionTime !== undefined ? h('span', { class: 'hint exec-time', text: `${state.executionTime} ms` }) : null,
        started ? h('span', { class: 'hint', text: `at ${started}` }) : null),
      h('h3', { text: 'Arguments' }), code(state.arguments ?? {}),
      state.result !== undefined ? [h('h3', { text: 'Result' }), isKnowledge(state) && isSearchResult(state.result) ? chunkList(state.result) : code(state.result)] : null,
      errorText ? h('p', { class: 'flash error', text: errorText }) : null,
      isClient(state) && !FINISHED.includes(state.status) ? resultForm(id) : null);
  }

  // A knowledge tool's chunks are shown ranked with their sources rather than as JSON.
  function isKnowledge(state) {
    return state.toolSubtype === 'knowledge' || s.tools?.find((t) => t.name === state.toolName)?.subtype === 'knowledge';
  }

  function isClient(state) {
    return state.toolType === 'client' || s.tools.find((t) => t.name === state.toolName)?.type === 'client';
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
        await api('POST', `/v1/sessions/${s.sessionId}/tool-calls/${encodeURIComponent(toolCallId)}/result`, body, { key: s.clientSecret });
        update(toolCallId, asError ? { status: 'failed', error: body.error } : { status: 'completed', result: body.result });
      } catch (e) { flash(`Could not send the result: ${e.message}`, 'error'); }
    };
    return h('div', { class: 'client-result' },
      h('p', { text: 'This is a client tool: the browser carries it out. Answer for it:' }), box.wrap,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'primary', onclick: () => answer(false) }, 'Send result'),
        h('button', { type: 'button', onclick: () => answer(true) }, 'Send as error')));
  }

  function follow(live) {
    const on = (name, patch) => live.addEventListener(name, (m) => {
      const d = JSON.parse(m.data);
      update(d.toolCallId, { toolName: d.toolName, toolType: d.toolType, toolSubtype: d.toolSubtype, ...patch(d) });
    });
    on('toolCallStarted', (d) => ({ arguments: d.arguments, status: 'running', startedAt: d.timestamp }));
    on('toolCallCompleted', (d) => ({ status: 'completed', result: d.result, executionTime: d.executionTime }));
    on('toolCallFailed', (d) => ({ status: 'failed', error: d.errorMessage, executionTime: d.executionTime }));
    // A call the runtime did not run (a bound of the turn, arguments that are not an object).
    on('toolCallRefused', (d) => ({ status: 'refused', error: d.error }));
  }

  return { update, follow, cardOf: (id) => byCall.get(id)?.el };
}
