// Tools: the list (search, pages) and the editor for webhook, client and system tools.
import { h, mount, field, uid, counter } from './dom.js';
import { get, post, put, query, all, ApiError } from './api.js';
import { navigate, flash, link, pager, heading, showProblem, clearProblem, failed, secretInput, isPreview, confirmDelete } from './ui.js';
import { schemaEditor } from './schema.js';
import { gettingStarted } from './start.js';
import { connectionPicker } from './connections.js';
import { importButton } from './openapi_import.js';
import { mcpTools } from './mcp_source.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const SYSTEM_NAMES = ['end_call', 'skip_turn', 'change_language', 'interrupt'];
// What a response carries besides the definition; left out of exports and updates.
const READ_ONLY = ['id', 'createdAt', 'updatedAt', 'usageCount'];

export function kindOf(tool) {
  if (tool.type === 'server' && tool.subtype === 'knowledge') return 'Knowledge';
  if (tool.type === 'server' && tool.subtype === 'mcp') return 'MCP server';
  if (tool.type === 'server') return 'Webhook';
  if (tool.type === 'client') return 'Client';
  return 'System';
}

export async function toolsPage(main, page = 1, search = '') {
  document.title = 'Tools · Hookline Lab';
  const searchIn = h('input', { type: 'search', value: search, id: uid('search'), placeholder: 'Name or description' });
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  const form = h('form', { class: 'search', role: 'search' },
    h('label', { for: searchIn.id, text: 'Search tools' }), searchIn, h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (e) => { e.preventDefault(); load(1); });
  let timer;
  searchIn.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => load(1), 250); });
  const start = h('div');
  mount(main, heading('Tools', link('/lab/tools/new', 'Create tool', { class: 'button primary', id: 'create-tool' }), importButton(main, () => load(1))), start, form, results);
  gettingStarted(start);

  async function load(p) {
    let list;
    try {
      list = await get(`/v1/tools${query({ page: p, perPage: 10, search: searchIn.value.trim() })}`);
    } catch (e) {
      return failed(results, e);
    }
    if (!list.data.length && searchIn.value) return void mount(results, h('p', { class: 'empty', text: 'No tool matches.' }));
    if (!list.data.length) {
      mount(results, h('p', { class: 'empty', text: 'No tools yet. Create one, or start from one of these templates (the product’s common use cases):' }),
        h('ul', { class: 'plain templates-offered' }, (await templates()).map((t, i) => h('li', {},
          link(`/lab/tools/new?template=${i}`, t.name, { class: 'mono' }), h('span', { class: 'hint', text: ` · ${t.description}` })))));
      return;
    }
    mount(results,
      h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
        h('thead', {}, h('tr', {}, ['Name', 'Type', 'Description', 'Personas', ''].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, list.data.map((t) => h('tr', {},
          h('td', {}, link(`/lab/tools/${t.id}`, t.name, { class: 'mono' })),
          h('td', { text: kindOf(t) }),
          h('td', { class: 'desc', text: t.description || '' }),
          h('td', { class: 'num', 'data-label': 'Personas', text: String(t.usageCount ?? 0) }),
          h('td', {}, t.type === 'server' && t.subtype !== 'knowledge' && t.subtype !== 'mcp' ? link(`/lab/tools/${t.id}/test`, 'Test', { 'aria-label': `Test ${t.name}` }) : null)))))),
      pager(list.meta, load));
  }
  await load(page);
}

/** The definition of a tool, as the API takes it (what an export holds). */
export function definitionOf(tool) {
  const out = {};
  for (const [k, v] of Object.entries(tool)) if (!READ_ONLY.includes(k) && v !== null) out[k] = v;
  return out;
}

/** The templates (the files of examples/tools/), a file of the Lab itself: fetched without the key. */
let templateList = null;
async function templates() {
  templateList ??= fetch('/lab/assets/templates.json', { credentials: 'omit' }).then((r) => r.json()).catch(() => []);
  return templateList;
}

export async function toolEditor(main, id) {
  let tool = null;
  if (id) {
    try { tool = await get(`/v1/tools/${encodeURIComponent(id)}`); } catch (e) { return failed(main, e); }
  }
  document.title = `${tool ? tool.name : 'New tool'} · Hookline Lab`;
  const root = h('div', { class: 'editor' });
  mount(main, root);
  // `?template=N`: a new tool started from a template (the empty Tools page links there).
  const chosen = tool ? null : (await templates())[Number(new URLSearchParams(location.search).get('template') ?? NaN)];
  if (chosen) flash(`Filled in from the template ${chosen.name}: change the URL and headers to your own.`, 'info');
  render(root, tool, tool ? definitionOf(tool) : chosen ? structuredClone(chosen) : { type: 'server', subtype: 'webhook', method: 'POST', awaitResponse: true });
}

/** The editor's kind of a definition: a server tool is a webhook or an MCP server. */
// The kinds of server tool the form edits: each is `type: server` with this `subtype`.
const SERVER_KINDS = ['webhook', 'knowledge', 'mcp'];

function kindOfDefinition(def) {
  if (def.type !== 'server') return def.type;
  return SERVER_KINDS.includes(def.subtype) ? def.subtype : 'webhook';
}

function render(root, stored, def) {
  const kind = kindOfDefinition(def);
  const form = h('form', { class: 'card tool-form', novalidate: true });
  const errors = h('div', { class: 'form-errors', role: 'alert', hidden: true });

  const typeSelect = h('select', {}, [['webhook', 'Webhook tool'], ['knowledge', 'Knowledge tool'], ['mcp', 'MCP server'], ['client', 'Client tool'], ['system', 'System tool']]
    .map(([v, t]) => h('option', { value: v, text: t })));
  typeSelect.value = kind;
  typeSelect.disabled = !!stored;
  const type = field('Type', typeSelect, { field: 'type', hint: stored ? 'The type of a saved tool cannot change.' : 'Webhook: Hookline calls your HTTP endpoint. Knowledge: the LLM searches your documents. MCP server: the LLM may use the tools of a remote MCP server. Client: the browser does it. System: built-in actions.' });
  typeSelect.addEventListener('change', () => {
    const next = typeSelect.value;
    const server = SERVER_KINDS.includes(next);
    render(root, stored, { ...collect(true), type: server ? 'server' : next, subtype: server ? next : undefined });
  });

  let nameInput;
  if (kind === 'system') {
    nameInput = h('select', {}, SYSTEM_NAMES.map((n) => h('option', { value: n, text: n })));
    if (def.name) nameInput.value = def.name;
    // A name carried over from another type is not a system tool's: start from the first one.
    if (!nameInput.value) nameInput.value = SYSTEM_NAMES[0];
  } else {
    nameInput = h('input', { type: 'text', value: def.name || '', spellcheck: 'false', autocomplete: 'off', class: 'mono', placeholder: 'check_order_status' });
  }
  const name = field('Name', nameInput, { field: 'name', hint: kind === 'system' ? null : 'snake_case, 1–64 characters, unique in your organization.' });
  const description = field(kind === 'system' ? 'Description (optional)' : 'Description',
    h('textarea', { rows: 3, value: def.description || '' }), { field: 'description', hint: 'When the LLM should call it (and when not).' });
  description.input.after(counter(description.input, 1024));

  const parts = [errors, type, name, description].map((p) => p.wrap || p);
  let collectKind = () => ({});
  let placeholders = () => [];

  if (kind === 'webhook') {
    const url = field('URL', h('input', { type: 'url', value: def.url || '', spellcheck: 'false', class: 'mono', placeholder: 'https://api.example.com/orders/{orderId}' }),
      { field: 'url', hint: 'https:// (http:// in development mode). {name} in the path is filled from the argument of that name.' });
    const method = field('Method', h('select', {}, METHODS.map((m) => h('option', { value: m, text: m }))), { field: 'method' });
    method.input.value = (def.method || 'POST').toUpperCase();
    const headers = headersEditor(def.headers || {}, def.plainHeaders || []);
    const connection = connectionPicker(def.connectionId);
    const params = schemaEditor('Parameters', 'parameters', def.parameters);
    const qparams = schemaEditor('Query parameters', 'queryParameters', def.queryParameters ?? null, { optional: true });
    const awaitResponse = checkbox('Await response', def.awaitResponse !== false, 'awaitResponse', 'Wait for the answer and give it to the LLM; off: fire-and-forget, delivered at least once with retries.');
    const timeout = field('Timeout (seconds)', h('input', { type: 'number', min: 1, max: 60, value: def.timeoutSeconds ?? 60 }), { field: 'timeoutSeconds' });
    const disable = checkbox('Disable interruptions', !!def.disableInterruptions, 'disableInterruptions', 'The persona cannot be interrupted while this call runs.');
    const limits = def.limits || {};
    const maxConcurrent = field('At most at once', h('input', { type: 'number', min: 1, max: 1000, value: limits.maxConcurrent ?? '', placeholder: 'no limit', id: 'limit-concurrent' }),
      { field: 'limits.maxConcurrent', hint: 'Calls in flight to this endpoint at once, across all instances (1–1000).' });
    const perSecond = field('At most per second', h('input', { type: 'number', min: 0.1, max: 10000, step: 'any', value: limits.perSecond ?? '', placeholder: 'no limit', id: 'limit-per-second' }),
      { field: 'limits.perSecond', hint: 'Calls started per second (0.1–10000). Over a limit, a call waits up to its timeout, then fails rate_limited.' });
    placeholders = headers.placeholders;
    parts.push(h('div', { class: 'row' }, method.wrap, url.wrap), headers.el, connection.wrap, params.el, qparams.el,
      h('div', { class: 'row' }, awaitResponse.wrap, timeout.wrap, disable.wrap),
      h('fieldset', { class: 'limits' }, h('legend', { text: 'Limits' }), h('div', { class: 'row' }, maxConcurrent.wrap, perSecond.wrap)));
    collectKind = (lenient) => ({
      url: url.input.value.trim(),
      method: method.input.value,
      headers: headers.value(),
      plainHeaders: headers.plain().length ? headers.plain() : null,
      connectionId: connection.value(),
      parameters: lenient ? safe(params) : params.value(),
      queryParameters: lenient ? safe(qparams) : qparams.value(),
      awaitResponse: awaitResponse.input.checked,
      timeoutSeconds: numberOrNull(timeout.input.value),
      disableInterruptions: disable.input.checked,
      limits: limitsOf(maxConcurrent.input.value, perSecond.input.value),
      // Shaping is edited on the test page, beside a real answer; the form keeps it as it is.
      response: def.response ?? null,
    });
  } else if (kind === 'knowledge') {
    const picker = folderPicker(def.documentFolderIds || []);
    const limit = field('Chunks per call', h('input', { type: 'number', min: 1, max: 20, value: def.limit ?? 5 }), { field: 'limit', hint: '1–20: how many of the best chunks one call gives the LLM.' });
    parts.push(picker.el, h('div', { class: 'row' }, limit.wrap));
    collectKind = () => ({ documentFolderIds: picker.value(), limit: numberOrNull(limit.input.value) });
  } else if (kind === 'mcp') {
    const url = field('Server URL', h('input', { type: 'url', value: def.url || '', spellcheck: 'false', class: 'mono', placeholder: 'https://mcp.example.com/mcp' }),
      { field: 'url', hint: 'The MCP server\'s Streamable HTTP endpoint: https:// (http:// in development mode). Its tools are offered to the LLM as name__tool.' });
    const headers = headersEditor(def.headers || {}, def.plainHeaders || []);
    const listing = mcpTools(() => ({
      url: url.input.value.trim(),
      headers: headers.value(),
      ...(stored ? { toolId: stored.id } : {}),
    }), def.allowedTools ?? null);
    placeholders = headers.placeholders;
    parts.push(url.wrap, headers.el, listing.el);
    collectKind = () => ({
      url: url.input.value.trim(),
      headers: headers.value(),
      plainHeaders: headers.plain().length ? headers.plain() : null,
      allowedTools: listing.allowedTools(),
    });
  } else if (kind === 'client') {
    const params = schemaEditor('Parameters', 'parameters', def.parameters);
    const awaitResult = checkbox('Await result', !!def.awaitResult, 'awaitResult', 'Wait for the browser to send a result back.');
    const timeout = field('Result timeout (seconds)', h('input', { type: 'number', min: 1, max: 600, value: def.resultTimeoutSeconds ?? 10 }), { field: 'resultTimeoutSeconds' });
    parts.push(params.el, h('div', { class: 'row' }, awaitResult.wrap, timeout.wrap));
    collectKind = (lenient) => ({
      parameters: lenient ? safe(params) : params.value(),
      awaitResult: awaitResult.input.checked,
      resultTimeoutSeconds: numberOrNull(timeout.input.value),
    });
  }

  function collect(lenient = false) {
    const server = SERVER_KINDS.includes(kind);
    const out = { type: server ? 'server' : kind };
    if (server) out.subtype = kind;
    out.name = nameInput.value.trim();
    const d = description.input.value;
    if (d.trim() || kind !== 'system') out.description = d;
    Object.assign(out, collectKind(lenient));
    for (const [k, v] of Object.entries(out)) if (v === null || v === undefined) delete out[k];
    return out;
  }

  const save = h('button', { type: 'submit', class: 'primary' }, stored ? 'Save changes' : 'Create tool');
  form.append(...parts, h('div', { class: 'actions' }, save,
    stored && kind === 'webhook' ? link(`/lab/tools/${stored.id}/test`, 'Test this tool', { class: 'button' }) : null,
    stored ? h('button', { type: 'button', class: 'danger', onclick: () => remove(stored) }, 'Delete') : null));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblem(form);
    let body;
    try { body = collect(); } catch (e) {
      showProblem(form, new ApiError(400, { detail: e.message, errors: [] }));
      return;
    }
    // An update sends every field; a field left out stays as it is, a cleared one is sent as null.
    if (stored) {
      for (const k of ['queryParameters', 'plainHeaders', 'limits', 'response', 'connectionId', 'allowedTools']) if (!(k in body) && stored[k] != null) body[k] = null;
      delete body.type; delete body.subtype;
    }
    save.disabled = true;
    try {
      const saved = stored ? await put(`/v1/tools/${stored.id}`, body) : await post('/v1/tools', body);
      const left = placeholders();
      if (left.length) flash(`${stored ? 'Saved' : 'Created'} ${saved.name}, but a header still holds a template's placeholder: ${left.join(', ')}. Put your real value there, or its calls will be refused.`, 'info');
      else flash(stored ? `Saved ${saved.name}.` : `Created ${saved.name}.`, 'ok');
      if (stored) render(root, saved, definitionOf(saved));
      else navigate(`/lab/tools/${saved.id}`, { replace: true });
    } catch (e) {
      showProblem(form, e);
    } finally {
      save.disabled = false;
    }
  });

  const title = stored ? h('h1', {}, 'Tool ', h('span', { class: 'mono', text: stored.name })) : h('h1', { text: 'Create tool' });
  mount(root, h('p', { class: 'crumbs' }, link('/lab/tools', '← Tools')), title,
    stored ? null : templatesBar(root, stored),
    form, importExport(root, stored, () => collect(true)));
}

/**
 * The folders a knowledge tool searches: a checkbox for each of the organization's folders, in
 * the order chosen; a saved folder that no longer exists stays listed (checked) until unticked.
 */
function folderPicker(chosen) {
  const order = [...chosen];
  const list = h('div', { class: 'folder-picks' }, h('p', { class: 'hint', text: 'Loading folders…' }));
  const el = h('fieldset', { class: 'field', dataset: { field: 'documentFolderIds' }, id: 'folder-picker' },
    h('legend', { text: 'Knowledge folders' }),
    h('p', { class: 'hint' }, 'The LLM sends one parameter, query; the best chunks of these folders’ ready documents come back with their sources. Manage folders on the ',
      link('/lab/knowledge', 'Knowledge'), ' page.'),
    list, h('p', { class: 'field-error', hidden: true }));
  all('/v1/knowledge/folders').then((folders) => {
    const known = new Set(folders.map((f) => f.id));
    const rows = [...folders.map((f) => [f.id, f.name]), ...chosen.filter((id) => !known.has(id)).map((id) => [id, `${id} (deleted)`])];
    if (!rows.length) return void mount(list, h('p', { class: 'empty' }, 'No folders yet: create one on the ', link('/lab/knowledge', 'Knowledge'), ' page first.'));
    mount(list, rows.map(([id, name]) => {
      const input = h('input', { type: 'checkbox', id: uid('folder'), value: id, checked: order.includes(id) });
      input.addEventListener('change', () => {
        const at = order.indexOf(id);
        if (input.checked && at < 0) order.push(id);
        if (!input.checked && at >= 0) order.splice(at, 1);
      });
      return h('label', { for: input.id, class: 'pick' }, input, ` ${name}`);
    }));
  }).catch((e) => mount(list, h('p', { class: 'field-error', text: `Could not load the folders: ${e.message}` })));
  return { el, value: () => [...order] };
}

function safe(editor) {
  try { return editor.value(); } catch { return undefined; }
}

/** `limits` from the form's two inputs, or null when both are empty. */
function limitsOf(concurrent, perSecond) {
  const out = {};
  if (concurrent !== '') out.maxConcurrent = Number(concurrent);
  if (perSecond !== '') out.perSecond = Number(perSecond);
  return Object.keys(out).length ? out : null;
}

function numberOrNull(text) {
  return text === '' ? null : Number(text);
}

function checkbox(label, checked, path, hint) {
  const input = h('input', { type: 'checkbox', checked, id: uid('cb') });
  const error = h('p', { class: 'field-error', hidden: true });
  const wrap = h('div', { class: 'field check', dataset: { field: path } },
    h('label', { for: input.id }, input, ` ${label}`), hint ? h('p', { class: 'hint', text: hint }) : null, error);
  return { wrap, input };
}

/** Headers whose values are not secrets unless the person says so: format and version headers. */
const PLAIN_BY_DEFAULT = /^(content-type|accept|accept-language|accept-encoding|user-agent|cache-control|[a-z0-9-]*-version)$/i;
/** What a template puts where the person's own credential goes (`YOUR_API_KEY`, `BASE64_CREDENTIALS`). */
const PLACEHOLDER = /\b(YOUR_[A-Z0-9_]+|[A-Z0-9]+_(TOKEN|CREDENTIALS|API_KEY|SECRET))\b/;

/**
 * Header rows: name, value and a Secret switch (on by default, off for format and version
 * headers). A secret's saved value shows only its masked preview; a plain one is shown in full.
 */
function headersEditor(initial, plainNames = []) {
  const rows = h('div', { class: 'header-rows' });
  const plain = new Set(plainNames.map((n) => n.toLowerCase()));
  function row(name, value, stored) {
    const nameIn = h('input', { value: name, 'aria-label': 'Header name', spellcheck: 'false', class: 'mono', placeholder: 'Authorization' });
    const secret = h('input', { type: 'checkbox', id: uid('secret'), checked: stored ? !plain.has(name.toLowerCase()) : !PLAIN_BY_DEFAULT.test(name) });
    let touched = false;
    const { input: valueIn, reveal } = secretInput(value, { 'aria-label': `Value of header ${name}`.trim(), class: 'mono', placeholder: 'Bearer …' });
    const slot = h('span', { class: 'header-value' }, valueIn, reveal);
    // One input throughout (the person may be typing in it): the switch only changes how it shows.
    function drawValue() {
      const masked = secret.checked && !isPreview(valueIn.value);
      valueIn.dataset.plain = String(!secret.checked);
      valueIn.type = masked ? 'password' : 'text';
      reveal.hidden = !masked;
      reveal.textContent = 'Show';
      reveal.setAttribute('aria-pressed', 'false');
    }
    if (!secret.checked) drawValue();
    secret.addEventListener('change', () => { touched = true; drawValue(); });
    nameIn.addEventListener('change', () => {
      r.dataset.field = `headers.${nameIn.value.trim()}`;
      valueIn.setAttribute('aria-label', `Value of header ${nameIn.value.trim()}`);
      // Until the person sets the switch, it follows the name.
      if (!touched && !stored && secret.checked === PLAIN_BY_DEFAULT.test(nameIn.value.trim())) {
        secret.checked = !secret.checked;
        drawValue();
      }
    });
    const r = h('div', { class: 'header-row field', dataset: { field: `headers.${name}` } },
      nameIn, slot,
      h('label', { class: 'secret-switch', for: secret.id }, secret, ' Secret'),
      h('button', { type: 'button', class: 'link danger', onclick: () => r.remove() }, 'Remove'),
      h('p', { class: 'field-error', hidden: true }));
    r.read = () => [nameIn.value.trim(), valueIn.value, secret.checked];
    return r;
  }
  for (const [k, v] of Object.entries(initial)) rows.append(row(k, v, true));
  const add = h('button', { type: 'button' }, 'Add header');
  add.addEventListener('click', () => { const r = row('', '', false); rows.append(r); r.querySelector('input').focus(); });
  const el = h('fieldset', { class: 'field headers', dataset: { field: 'headers' } },
    h('legend', { text: 'Headers' }),
    h('p', { class: 'hint', text: 'A secret value (Authorization, tokens, keys, cookies) is stored encrypted and never shown again: once saved it appears as •••• and its last 4 characters; leave it as it is to keep it. Turn Secret off for values that are not secrets (Content-Type, Accept, version headers) to see them in full.' }),
    rows, add, h('p', { class: 'field-error', hidden: true }));
  const entries = () => [...rows.children].map((r) => r.read()).filter(([k]) => k);
  return {
    el,
    value: () => Object.fromEntries(entries().map(([k, v]) => [k, v])),
    plain: () => entries().filter(([, , isSecret]) => !isSecret).map(([k]) => k),
    /** Headers whose value still holds a template's placeholder, as `Name (PLACEHOLDER)`. */
    placeholders: () => entries().flatMap(([k, v]) => { const m = PLACEHOLDER.exec(v); return m ? [`${k} (${m[1]})`] : []; }),
  };
}

function templatesBar(root, stored) {
  const select = h('select', { id: uid('tpl') }, h('option', { value: '', text: 'Choose a template…' }));
  const use = h('button', { type: 'button' }, 'Use template');
  let list = [];
  templates().then((all) => {
    list = all;
    for (const [i, t] of all.entries()) select.append(h('option', { value: String(i), text: t.name }));
  });
  use.addEventListener('click', () => {
    const t = list[Number(select.value)];
    if (select.value === '' || !t) return;
    render(root, stored, structuredClone(t));
    flash(`Filled in from the template ${t.name}: change the URL and headers to your own.`, 'info');
  });
  return h('div', { class: 'card templates' },
    h('label', { for: select.id, text: 'Start from a template (the product’s common use cases)' }),
    h('div', { class: 'row' }, select, use));
}

function importExport(root, stored, current) {
  const area = h('textarea', { id: uid('json'), rows: 10, spellcheck: 'false', class: 'mono' });
  const error = h('p', { class: 'field-error', hidden: true });
  const exportBtn = h('button', { type: 'button' }, 'Export as JSON');
  exportBtn.addEventListener('click', () => {
    area.value = JSON.stringify(current(), null, 2);
    const blob = new Blob([area.value], { type: 'application/json' });
    const name = `${current().name || 'tool'}.json`;
    const a = h('a', { href: URL.createObjectURL(blob), download: name }, `Download ${name}`);
    mount(links, a);
  });
  const links = h('span');
  const importBtn = h('button', { type: 'button' }, 'Import into the form');
  importBtn.addEventListener('click', () => {
    error.hidden = true;
    try {
      const def = JSON.parse(area.value);
      if (!def || typeof def !== 'object' || Array.isArray(def)) throw new Error('a tool is a JSON object');
      for (const k of READ_ONLY) delete def[k];
      render(root, stored, def);
      flash('Imported into the form; save to keep it.', 'info');
    } catch (e) {
      error.textContent = `Cannot import: ${e.message}`;
      error.hidden = false;
    }
  });
  const file = h('input', { type: 'file', accept: 'application/json,.json', id: uid('file') });
  file.addEventListener('change', async () => { if (file.files[0]) area.value = await file.files[0].text(); });
  return h('details', { class: 'card import-export' },
    h('summary', { text: 'Import / export JSON' }),
    h('label', { for: area.id, text: 'Tool definition (as POST /v1/tools takes it)' }), area, error,
    h('div', { class: 'row' }, h('label', { for: file.id, text: 'Read a file:' }), file),
    h('div', { class: 'actions' }, exportBtn, importBtn, links));
}

async function remove(tool) {
  const gone = await confirmDelete(`/v1/tools/${tool.id}`, `tool ${tool.name}`,
    async () => (await all('/v1/personas')).filter((p) => p.toolIds?.includes(tool.id)).map((p) => p.name),
    'deleting detaches it from them');
  if (!gone) return;
  flash(`Deleted ${tool.name}.`, 'ok');
  navigate('/lab/tools');
}
