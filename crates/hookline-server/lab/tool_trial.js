// Test a tool: an arguments form from its schema; a dry run shows the request exactly as it
// would be sent (masked headers, signature headers, body); a real run adds status, body, time.
import { h, mount, code, field } from './dom.js';
import { get, post } from './api.js';
import { link, showProblem, clearProblem, failed } from './ui.js';
import { argumentsForm } from './schema.js';
import { shapingEditor } from './shaping.js';

/** The schema the LLM sees: body parameters and query parameters together. */
export function mergedSchema(tool) {
  const a = tool.parameters || { type: 'object', properties: {} };
  const q = tool.queryParameters || { properties: {} };
  return {
    type: 'object',
    properties: { ...(a.properties || {}), ...(q.properties || {}) },
    required: [...(a.required || []), ...(q.required || [])],
  };
}

export async function toolTestPage(main, id) {
  let tool;
  try { tool = await get(`/v1/tools/${encodeURIComponent(id)}`); } catch (e) { return failed(main, e); }
  document.title = `Test ${tool.name} · Hookline Lab`;
  const crumbs = h('p', { class: 'crumbs' }, link('/lab/tools', '← Tools'), ' · ', link(`/lab/tools/${tool.id}`, `Edit ${tool.name}`));
  const title = h('h1', {}, 'Test ', h('span', { class: 'mono', text: tool.name }));
  if (tool.type !== 'server') {
    mount(main, crumbs, title, h('p', { text: 'Only webhook tools are run from here; try client and system tools in the Playground.' }));
    return;
  }
  const args = argumentsForm(mergedSchema(tool));
  // What a session token would bring for the tool's {{name}}s (never sent to a browser there).
  const variables = field('Variables (JSON object)', h('textarea', { rows: 2, class: 'mono', id: 'test-variables', spellcheck: 'false', placeholder: '{"customer_id": "c_123"}' }),
    { field: 'variables', hint: 'Values for {{name}} in the URL, headers and defaults; {{now}} is always set.' });
  let lastBody;
  const shaping = shapingEditor(tool, () => lastBody);
  const result = h('section', { class: 'result', 'aria-live': 'polite', 'aria-label': 'Result', id: 'test-result' });
  const dry = h('button', { type: 'submit', class: 'primary', id: 'dry-run' }, 'Dry run');
  const real = h('button', { type: 'button', id: 'send-real' }, 'Send for real');
  const form = h('form', { class: 'card', novalidate: true },
    h('p', { class: 'summary-line' }, h('span', { class: 'badge', text: tool.method }), ' ', h('span', { class: 'mono', text: tool.url })),
    h('div', { class: 'form-errors', role: 'alert', hidden: true }),
    h('h2', { text: 'Arguments' }), args.el, variables.wrap,
    h('div', { class: 'actions' }, dry, real),
    h('p', { class: 'hint', text: 'A dry run builds the request without sending it. Sending for real calls the endpoint now.' }));
  form.addEventListener('submit', (e) => { e.preventDefault(); run(true); });
  real.addEventListener('click', () => run(false));

  async function run(dryRun) {
    clearProblem(form);
    let body;
    try {
      body = { arguments: args.value() };
      const given = variables.input.value.trim();
      if (given) body.variables = JSON.parse(given);
    } catch (e) {
      showProblem(form, { message: e.message, errors: [] });
      return;
    }
    dry.disabled = real.disabled = true;
    mount(result, h('p', { class: 'hint', text: dryRun ? 'Building the request…' : 'Calling the endpoint…' }));
    try {
      const answer = await post(`/v1/tools/${tool.id}/test${dryRun ? '?dryRun=true' : ''}`, body);
      mount(result, ...showAnswer(answer, dryRun));
      if (!dryRun && answer.response) { lastBody = answer.response.body; shaping.refresh(); }
    } catch (e) {
      result.replaceChildren();
      showProblem(form, e);
    } finally {
      dry.disabled = real.disabled = false;
    }
  }
  mount(main, crumbs, title, form, result, shaping.el);
}

function headersTable(headers) {
  const entries = Object.entries(headers || {});
  if (!entries.length) return h('p', { class: 'hint', text: 'No headers.' });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'kv' },
    h('tbody', {}, entries.map(([k, v]) => h('tr', {}, h('th', { scope: 'row', class: 'mono', text: k }), h('td', { class: 'mono', text: String(v) }))))));
}

/** A call's request and response as the session page shows them (no ids: many on a page). */
export function exchange(answer) {
  const req = answer.request;
  const res = answer.response;
  return h('div', { class: 'exchange' },
    h('h4', { text: 'Request as sent' }),
    req ? [h('p', { class: 'request-line mono' }, `${req.method || ''} ${req.url || ''}`), headersTable(req.headers),
      req.body === null || req.body === undefined ? h('p', { class: 'hint', text: 'No body.' }) : code(req.body)]
      : h('p', { class: 'hint', text: 'Not sent.' }),
    h('h4', { text: 'Response' }),
    h('p', { class: 'response-line' },
      res ? h('span', { class: `badge ${res.status < 300 ? 'ok' : 'bad'}`, text: `HTTP ${res.status}` }) : h('span', { class: 'badge bad', text: 'No response' }),
      answer.executionTime == null ? '' : ` in ${answer.executionTime} ms`),
    answer.error ? h('p', { class: 'flash error', text: `${answer.error.kind}: ${answer.error.message}` }) : null,
    res ? [headersTable(res.headers), code(res.body ?? '')] : null);
}

export function showAnswer(answer, dryRun) {
  const req = answer.request || {};
  const out = [
    h('h2', { text: dryRun ? 'The request (dry run: not sent)' : 'Request as sent' }),
    h('p', { class: 'request-line mono', id: 'request-line' }, `${req.method || ''} ${req.url || ''}`),
    h('h3', { text: 'Headers' }), headersTable(req.headers),
    h('h3', { text: 'Body' }), req.body === null || req.body === undefined ? h('p', { class: 'hint', text: 'No body.' }) : code(req.body, { id: 'request-body' }),
  ];
  if (!dryRun) {
    const res = answer.response;
    out.push(h('h2', { text: 'Response' }),
      h('p', { class: 'response-line', id: 'response-line' },
        res ? h('span', { class: `badge ${res.status < 300 ? 'ok' : 'bad'}`, text: `HTTP ${res.status}` }) : h('span', { class: 'badge bad', text: 'No response' }),
        ` in ${answer.executionTime} ms`));
    if (answer.error) out.push(h('p', { class: 'flash error', text: `${answer.error.kind}: ${answer.error.message}` }));
    if (res) out.push(h('h3', { text: 'Headers' }), headersTable(res.headers), h('h3', { text: 'Body' }), code(res.body ?? '', { id: 'response-body' }));
    if (answer.result !== undefined) out.push(h('h3', { text: 'What the LLM gets (shaped)' }), code(answer.result, { id: 'shaped-result' }));
  }
  return out;
}
