// LLM connections: the list, the editor (every field of the contract; the API key masked as
// header values are) and the Test button, which sends one short request through the server.
import { h, mount, field } from './dom.js';
import { get, post, put, query, all } from './api.js';
import { navigate, flash, link, pager, heading, showProblem, clearProblem, failed, secretInput, isPreview, confirmDelete, counted } from './ui.js';

const PROVIDERS = [['openai', 'OpenAI-compatible (Chat Completions)'], ['anthropic', 'Anthropic (Messages)']];
const DEFAULT_BASE_URL = { openai: 'https://api.openai.com/v1', anthropic: 'https://api.anthropic.com' };
/** Where people start: each fills the provider, base URL and model (and what the API needs). */
const PRESETS = [
  { label: 'OpenAI', name: 'openai', provider: 'openai', baseUrl: '', model: 'gpt-4o-mini' },
  { label: 'Anthropic', name: 'anthropic', provider: 'anthropic', baseUrl: '', model: 'claude-sonnet-4-5', maxTokens: 1024 },
  { label: 'Ollama on this machine (OpenAI-compatible)', name: 'ollama', provider: 'openai', baseUrl: 'http://127.0.0.1:11434/v1', model: 'llama3.1' },
  { label: 'llama.cpp server on this machine (OpenAI-compatible)', name: 'llama-cpp', provider: 'openai', baseUrl: 'http://127.0.0.1:8080/v1', model: 'local' },
  { label: 'The stand-in (examples/standin_llm.py 4000)', name: 'stand-in', provider: 'openai', baseUrl: 'http://localhost:4000/v1', model: 'standin' },
  { label: 'OpenAI embeddings (for knowledge search)', name: 'openai-embeddings', kind: 'embedding', provider: 'openai', baseUrl: '', model: 'text-embedding-3-small' },
  { label: 'Ollama embeddings on this machine (for knowledge search)', name: 'ollama-embeddings', kind: 'embedding', provider: 'openai', baseUrl: 'http://127.0.0.1:11434/v1', model: 'nomic-embed-text' },
];
const KINDS = [['chat', 'Chat: a persona talks through it'], ['embedding', 'Embedding: knowledge search ranks by meaning with it']];
const NOT_AVAILABLE = 'The conversation runtime is not available on this server: LLM connections arrive with it.';

/** A line describing a connection: provider (or embedding) and model. */
export function describeLlm(llm) {
  if (llm.kind === 'embedding') return `Embedding · ${llm.model}`;
  return `${llm.provider === 'anthropic' ? 'Anthropic' : 'OpenAI-compatible'} · ${llm.model}`;
}

export async function llmsPage(main, page = 1) {
  document.title = 'LLMs · Hookline Lab';
  const results = h('div', { class: 'results', 'aria-live': 'polite' });
  const tested = h('div', { id: 'llm-test-result', 'aria-live': 'polite' });
  mount(main, heading('LLMs', link('/lab/llms/new', 'Create LLM', { class: 'button primary', id: 'create-llm' })),
    h('p', { class: 'hint', text: 'Where a persona’s conversation runtime sends its requests: OpenAI, Anthropic, or any server speaking the OpenAI API (Ollama, llama.cpp, vLLM…). Pick one on a persona’s build page.' }),
    results, tested);
  async function load(p) {
    let list;
    try { list = await get(`/v1/llms${query({ page: p, perPage: 10 })}`); } catch (e) {
      if (e.status === 404) return mount(main, heading('LLMs'), h('p', { class: 'flash info', text: NOT_AVAILABLE }));
      return failed(results, e);
    }
    if (!list.data.length) {
      return mount(results, h('p', { class: 'empty' }, 'No LLM connections yet: ', link('/lab/llms/new', 'create one'), '.'));
    }
    mount(results,
      h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
        h('thead', {}, h('tr', {}, ['Name', 'Model', 'Base URL', 'Personas', ''].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, list.data.map((l) => h('tr', {},
          h('td', {}, link(`/lab/llms/${l.id}`, l.name)),
          h('td', { 'data-label': 'Model', text: describeLlm(l) }),
          h('td', { class: 'mono url', 'data-label': 'Base URL', text: l.baseUrl }),
          h('td', { class: 'num', 'data-label': 'Personas', text: String(l.usageCount ?? 0) }),
          h('td', {}, h('button', { type: 'button', 'aria-label': `Test ${l.name}`, onclick: (e) => runTest(l, tested, e.currentTarget) }, 'Test'))))))),
      pager(list.meta, load));
  }
  await load(page);
}

/** Sends the test request for `llm` and shows the outcome in `slot`. */
async function runTest(llm, slot, button) {
  button.disabled = true;
  mount(slot, h('p', { class: 'hint', text: `Testing ${llm.name}…` }));
  try {
    const r = await post(`/v1/llms/${llm.id}/test`, {});
    const time = `${r.executionTime} ms`;
    mount(slot, h('section', { class: `card test-outcome ${r.ok ? 'ok' : 'bad'}`, 'aria-label': `Test of ${llm.name}` },
      h('div', { class: 'card-head' }, h('span', { class: 'tool-name', text: llm.name }),
        h('span', { class: `badge ${r.ok ? 'ok' : 'bad'}`, text: r.ok ? 'OK' : 'Failed' }), h('span', { class: 'hint', text: time })),
      r.ok ? [h('h3', { text: 'Reply' }), h('p', { class: 'llm-reply', text: r.reply ?? '' })]
        : h('p', { class: 'flash error', text: `${r.error?.kind}: ${r.error?.message}` })));
  } catch (e) {
    mount(slot, h('p', { class: 'flash error', text: `Could not test ${llm.name}: ${e.message}` }));
  } finally {
    slot.scrollIntoView({ block: 'nearest' });
    button.disabled = false;
  }
}

export async function llmEditor(main, id) {
  let llm = null;
  if (id) {
    try { llm = await get(`/v1/llms/${encodeURIComponent(id)}`); } catch (e) { return failed(main, e); }
  }
  document.title = `${llm ? llm.name : 'New LLM'} · Hookline Lab`;
  const root = h('div', { class: 'editor' });
  mount(main, root);
  render(root, llm);
}

function render(root, stored) {
  const v = stored || { kind: 'chat', provider: 'openai', timeoutSeconds: 30 };
  // The kind is fixed once the entry exists: shown, not changeable, when editing.
  const kind = field('Kind', h('select', { disabled: Boolean(stored) }, KINDS.map(([value, text]) => h('option', { value, text }))),
    { field: 'kind', hint: stored ? 'Fixed once created.' : 'An embedding model speaks OpenAI’s /embeddings; the organization’s newest one embeds its knowledge documents.' });
  kind.input.value = v.kind || 'chat';
  kind.wrap.classList.add('wide-select');
  const name = field('Name', h('input', { type: 'text', value: v.name || '', autocomplete: 'off', placeholder: 'gpt-4o-mini' }), { field: 'name' });
  const provider = field('Provider', h('select', {}, PROVIDERS.map(([value, text]) => h('option', { value, text }))),
    { field: 'provider', hint: 'The API the server speaks. Ollama, llama.cpp, vLLM, LM Studio and most gateways speak OpenAI’s.' });
  provider.input.value = v.provider;
  provider.wrap.classList.add('wide-select');
  const baseUrl = field('Base URL', h('input', { type: 'url', value: v.baseUrl || '', spellcheck: 'false', class: 'mono' }),
    { field: 'baseUrl', hint: 'Leave empty for the provider’s own. https:// (http:// in development mode); a model on this machine: http://127.0.0.1:11434/v1.' });
  const placeholder = () => { baseUrl.input.placeholder = DEFAULT_BASE_URL[provider.input.value]; };
  provider.input.addEventListener('change', placeholder);
  placeholder();
  const model = field('Model', h('input', { type: 'text', value: v.model || '', spellcheck: 'false', class: 'mono', placeholder: 'gpt-4o-mini' }), { field: 'model' });
  const secret = secretInput(v.apiKey, { class: 'mono', placeholder: 'sk-…' });
  const apiKey = field('API key', secret.input, {
    field: 'apiKey',
    hint: stored?.apiKey
      ? 'Stored encrypted and never shown again: •••• and its last 4 characters. Leave it to keep it, type a new one to replace it, empty it to remove it.'
      : 'Optional (local servers need none). Stored encrypted; only its last 4 characters are shown again.',
  });
  apiKey.wrap.insertBefore(secret.reveal, apiKey.input.nextSibling);
  const temperature = field('Temperature', h('input', { type: 'number', min: 0, max: 2, step: 0.1, value: v.temperature ?? '' }),
    { field: 'temperature', hint: '0–2; empty: the provider’s default.' });
  const maxTokens = field('Max tokens', h('input', { type: 'number', min: 1, max: 100000, value: v.maxTokens ?? '' }),
    { field: 'maxTokens', hint: 'Per answer; empty: the provider’s default (Anthropic: 1024).' });
  const timeout = field('Timeout (seconds)', h('input', { type: 'number', min: 1, max: 120, value: v.timeoutSeconds ?? 30 }),
    { field: 'timeoutSeconds', hint: 'Bounds each request to the LLM (1–120).' });

  const preset = field('Start from a preset', h('select', { id: 'llm-preset' }, h('option', { value: '', text: 'Choose…' }),
    PRESETS.map((p, i) => h('option', { value: String(i), text: p.label }))),
  { hint: 'Fills the provider, base URL and model; the API key stays yours to add.' });
  preset.input.addEventListener('change', () => {
    const p = PRESETS[Number(preset.input.value)];
    if (preset.input.value === '' || !p) return;
    if (!name.input.value.trim()) name.input.value = p.name;
    if (!stored) kind.input.value = p.kind || 'chat';
    provider.input.value = p.provider;
    baseUrl.input.value = p.baseUrl;
    model.input.value = p.model;
    if (p.maxTokens && !maxTokens.input.value) maxTokens.input.value = String(p.maxTokens);
    placeholder();
    chatOnly();
  });
  // Sampling means nothing to an embedding model (the server refuses it): hidden for one.
  function chatOnly() {
    const embedding = kind.input.value === 'embedding';
    temperature.wrap.hidden = embedding;
    maxTokens.wrap.hidden = embedding;
  }
  kind.input.addEventListener('change', chatOnly);
  chatOnly();
  const form = h('form', { class: 'card llm-form', novalidate: true },
    h('div', { class: 'form-errors', role: 'alert', hidden: true }),
    stored ? null : preset.wrap,
    kind.wrap, name.wrap, h('div', { class: 'row' }, provider.wrap, model.wrap), baseUrl.wrap, apiKey.wrap,
    h('div', { class: 'row' }, temperature.wrap, maxTokens.wrap, timeout.wrap));

  // Creating leaves empty fields out (defaults apply); an update sends them as null (cleared).
  function collect() {
    const number = (input) => (input.value === '' ? null : Number(input.value));
    const body = {
      name: name.input.value,
      provider: provider.input.value,
      baseUrl: baseUrl.input.value.trim() || null,
      model: model.input.value,
      apiKey: secret.input.value || null,
      temperature: number(temperature.input),
      maxTokens: number(maxTokens.input),
      timeoutSeconds: number(timeout.input),
    };
    if (!stored) body.kind = kind.input.value;
    if (kind.input.value === 'embedding') { delete body.temperature; delete body.maxTokens; }
    // The preview sent back keeps the stored key (unless baseUrl moves to another origin).
    if (stored && isPreview(body.apiKey) && body.apiKey === stored.apiKey) delete body.apiKey;
    if (!stored) for (const [k, val] of Object.entries(body)) if (val === null) delete body[k];
    return body;
  }

  const save = h('button', { type: 'submit', class: 'primary', id: 'save-llm' }, stored ? 'Save changes' : 'Create LLM');
  const tested = h('div', { id: 'llm-test-result', 'aria-live': 'polite' });
  const test = stored ? h('button', { type: 'button', id: 'test-llm', title: 'Tests the saved connection' }, 'Test') : null;
  test?.addEventListener('click', () => runTest(stored, tested, test));
  // The test's outcome right under its button, where the person is looking.
  form.append(h('div', { class: 'actions' }, save, test,
    stored ? h('button', { type: 'button', class: 'danger', onclick: () => remove(stored) }, 'Delete') : null), tested);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblem(form);
    save.disabled = true;
    try {
      const saved = stored ? await put(`/v1/llms/${stored.id}`, collect()) : await post('/v1/llms', collect());
      flash(stored ? `Saved ${saved.name}.` : `Created ${saved.name}. Test it, then pick it on a persona’s build page.`, 'ok');
      if (stored) render(root, saved);
      else navigate(`/lab/llms/${saved.id}`, { replace: true });
    } catch (e) {
      showProblem(form, e);
    } finally {
      save.disabled = false;
    }
  });
  const title = stored ? h('h1', {}, 'LLM ', h('span', { text: stored.name })) : h('h1', { text: 'Create LLM' });
  mount(root, h('p', { class: 'crumbs' }, link('/lab/llms', '← LLMs')), title,
    stored ? h('p', { class: 'hint', text: `Used by ${counted(stored.usageCount ?? 0, 'persona')}.` }) : null,
    form);
}

async function remove(llm) {
  const gone = await confirmDelete(`/v1/llms/${llm.id}`, `LLM ${llm.name}`,
    async () => (await all('/v1/personas')).filter((p) => p.llmId === llm.id).map((p) => p.name),
    'deleting clears it from them, so they stop talking until another is picked');
  if (!gone) return;
  flash(`Deleted ${llm.name}.`, 'ok');
  navigate('/lab/llms');
}
