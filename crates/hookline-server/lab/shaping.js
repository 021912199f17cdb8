// Response shaping on the test page: the tool's `response` (select, maxBytes, assign) edited
// beside the last real answer, with a live preview of what the LLM would get. The preview
// follows the server's rules (hookline-schema's response.rs); the server's result on the next
// test run is the word that counts.
import { h, field, code, pretty } from './dom.js';
import { patch } from './api.js';
import { showProblem, clearProblem, flash } from './ui.js';

function tokens(pointer) {
  return pointer.split('/').slice(1).map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function index(token) {
  return /^(0|[1-9][0-9]*)$/.test(token) ? Number(token) : null;
}

function child(value, token) {
  if (Array.isArray(value)) { const i = index(token); return i === null ? undefined : value[i]; }
  if (value && typeof value === 'object') return Object.hasOwn(value, token) ? value[token] : undefined;
  return undefined;
}

function find(value, path) {
  let v = value;
  for (const t of path) { v = child(v, t); if (v === undefined) return undefined; }
  return v;
}

function pick(value, paths) {
  if (paths.some((p) => p.length === 0)) return value;
  const groups = new Map();
  for (const p of paths) {
    if (!groups.has(p[0])) groups.set(p[0], []);
    groups.get(p[0]).push(p.slice(1));
  }
  if (Array.isArray(value)) {
    const out = [...groups.entries()].map(([t, rest]) => [index(t), rest]).filter(([i]) => i !== null)
      .sort((a, b) => a[0] - b[0]).map(([i, rest]) => (value[i] === undefined ? undefined : pick(value[i], rest)))
      .filter((v) => v !== undefined);
    return out.length ? out : undefined;
  }
  if (value && typeof value === 'object') {
    const out = {};
    for (const [t, rest] of groups) {
      if (Object.hasOwn(value, t)) { const p = pick(value[t], rest); if (p !== undefined) out[t] = p; }
    }
    return Object.keys(out).length ? out : undefined;
  }
  return undefined;
}

/** What shaping makes of `body`: {result, truncated, missing, assigned}. */
export function shape(shaping, body) {
  const select = shaping.select || [];
  const missing = [];
  let result = body;
  if (select.length) {
    for (const p of select) if (find(body, tokens(p)) === undefined) missing.push(p);
    result = pick(body, select.map(tokens)) ?? null;
  }
  const assigned = {};
  for (const [name, p] of Object.entries(shaping.assign || {})) {
    const v = find(body, tokens(p));
    if (v === undefined) missing.push(p);
    else assigned[name] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  let truncated = false;
  if (shaping.maxBytes) {
    const bytes = new TextEncoder().encode(JSON.stringify(result));
    if (bytes.length > shaping.maxBytes) {
      // Cut at a character's edge, as the server does.
      let end = shaping.maxBytes;
      while (end > 0 && (bytes[end] & 0xc0) === 0x80) end -= 1;
      result = new TextDecoder().decode(bytes.slice(0, end));
      truncated = true;
    }
  }
  return { result, truncated, missing, assigned };
}

/** The editor: `tool` is the stored tool, `lastBody()` the body of the last real answer. */
export function shapingEditor(tool, lastBody) {
  const current = tool.response || {};
  const select = field('Keep (JSON Pointers, one a line)', h('textarea', { rows: 3, class: 'mono', id: 'shape-select', spellcheck: 'false', placeholder: '/order/status', value: (current.select || []).join('\n') }),
    { field: 'response.select', hint: 'Only these parts of the answer reach the LLM; empty: all of it. The call log keeps the whole answer.' });
  const maxBytes = field('At most (bytes)', h('input', { type: 'number', min: 1, max: 65536, id: 'shape-max-bytes', value: current.maxBytes ?? '', placeholder: 'no cap' }),
    { field: 'response.maxBytes', hint: '1–65536; a longer result is cut and marked truncated.' });
  const assign = field('Assign (name = /pointer, one a line)', h('textarea', { rows: 2, class: 'mono', id: 'shape-assign', spellcheck: 'false', placeholder: 'ticket_id = /ticket/id', value: Object.entries(current.assign || {}).map(([k, v]) => `${k} = ${v}`).join('\n') }),
    { field: 'response.assign', hint: 'Values stored as session variables: later tools of the session use them as {{name}}.' });
  const preview = h('div', { id: 'shape-preview', 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'save-shaping' }, 'Save shaping');
  const form = h('form', { class: 'card shaping', novalidate: true },
    h('h2', { text: 'Response shaping' }),
    h('div', { class: 'form-errors', role: 'alert', hidden: true }),
    select.wrap, maxBytes.wrap, assign.wrap, h('h3', { text: 'Preview: what the LLM gets' }), preview,
    h('div', { class: 'actions' }, save));

  function value() {
    const out = {};
    const pointers = select.input.value.split('\n').map((l) => l.trim()).filter(Boolean);
    if (pointers.length) out.select = pointers;
    if (maxBytes.input.value !== '') out.maxBytes = Number(maxBytes.input.value);
    const pairs = assign.input.value.split('\n').map((l) => l.trim()).filter(Boolean);
    if (pairs.length) {
      out.assign = {};
      for (const line of pairs) {
        const at = line.indexOf('=');
        if (at < 0) throw new Error(`"${line}" is not name = /pointer`);
        out.assign[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
    }
    return Object.keys(out).length ? out : null;
  }

  function refresh() {
    const body = lastBody();
    if (body === undefined) {
      preview.replaceChildren(h('p', { class: 'hint', text: 'Send the tool for real once: the preview shapes its answer as you type.' }));
      return;
    }
    let shaping;
    try { shaping = value() || {}; } catch (e) { preview.replaceChildren(h('p', { class: 'field-error', text: e.message })); return; }
    const shaped = shape(shaping, body);
    preview.replaceChildren(...[code(shaped.result, { id: 'shape-preview-result' }),
      shaped.truncated ? h('p', { class: 'hint', text: 'Truncated to maxBytes.' }) : null,
      shaped.missing.length ? h('p', { class: 'hint', id: 'shape-missing', text: `Not in this answer (left out): ${shaped.missing.join(', ')}` }) : null,
      Object.keys(shaped.assigned).length ? h('p', { class: 'hint mono', id: 'shape-assigned', text: `Assigned: ${pretty(shaped.assigned)}` }) : null,
    ].filter(Boolean));
  }
  for (const input of [select.input, maxBytes.input, assign.input]) input.addEventListener('input', refresh);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    let response;
    try { response = value(); } catch (err) { showProblem(form, { message: err.message, errors: [] }); return; }
    save.disabled = true;
    try {
      const saved = await patch(`/v1/tools/${tool.id}`, { response });
      tool.response = saved.response;
      flash('Saved the response shaping.', 'ok');
    } catch (err) {
      showProblem(form, err);
    } finally {
      save.disabled = false;
    }
  });
  refresh();
  return { el: form, refresh };
}
