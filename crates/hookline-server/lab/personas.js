// Personas: the list, and the build page (name, system prompt, LLM, and the Tools section:
// Add Tool → choose from the dropdown → save; reorder; remove).
import { h, mount, field, uid, counter } from './dom.js';
import { get, post, put, del, query, all } from './api.js';
import { navigate, flash, link, pager, heading, showProblem, clearProblem, failed, ask, guardLeaving } from './ui.js';
import { kindOf } from './tools.js';
import { describeLlm } from './llms.js';
import { mcpSection } from './mcp.js';

export async function personasPage(main) {
  document.title = 'Personas · Hookline Lab';
  const name = field('Name', h('input', { type: 'text', autocomplete: 'off' }), { field: 'name' });
  const form = h('form', { class: 'card inline-form', novalidate: true },
    h('div', { class: 'form-errors', role: 'alert', hidden: true }),
    name.wrap, h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create persona')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    try {
      const p = await post('/v1/personas', { name: name.input.value });
      flash(`Created ${p.name}. Add its tools below.`, 'ok');
      navigate(`/lab/build/${p.id}`);
    } catch (err) { showProblem(form, err); }
  });
  const results = h('div', { class: 'results' });
  mount(main, heading('Personas'), form, results);
  async function load(page) {
    let list;
    try { list = await get(`/v1/personas${query({ page, perPage: 10 })}`); } catch (e) { return failed(results, e); }
    if (!list.data.length) return mount(results, h('p', { class: 'empty', text: 'No personas yet: name one above.' }));
    mount(results, h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Name', 'Tools', ''].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, list.data.map((p) => h('tr', {},
        h('td', {}, link(`/lab/build/${p.id}`, p.name)),
        h('td', { text: (p.tools || []).map((t) => t.name).join(', ') || '—' }),
        h('td', {}, link(`/lab/playground/${p.id}`, 'Playground', { 'aria-label': `Playground for ${p.name}` }))))))),
    pager(list.meta, load));
  }
  await load(1);
}

/** Every tool of the organization (the dropdown's choices). */
export const allTools = () => all('/v1/tools');

/** Every LLM connection (none when the server has no conversation runtime). */
const allLlms = () => all('/v1/llms').catch((e) => {
  if (e.status === 404) return [];
  throw e;
});

export async function buildPage(main, id) {
  let persona;
  let tools;
  let llms;
  try {
    [persona, tools, llms] = await Promise.all([get(`/v1/personas/${encodeURIComponent(id)}`), allTools(), allLlms()]);
    // A persona talks through a chat LLM; embedding entries are for knowledge search.
    llms = llms.filter((l) => l.kind !== 'embedding');
  } catch (e) { return failed(main, e); }
  document.title = `Build ${persona.name} · Hookline Lab`;
  const byId = new Map(tools.map((t) => [t.id, t]));
  let attached = (persona.tools || []).map((t) => t.id);

  const name = field('Name', h('input', { type: 'text', value: persona.name }), { field: 'name' });
  const desc = field('Description', h('input', { type: 'text', value: persona.description || '' }), { field: 'description' });
  const prompt = field('System prompt', h('textarea', { rows: 6, value: persona.systemPrompt || '' }), { field: 'systemPrompt' });
  prompt.input.after(counter(prompt.input, 100000));
  // The persona's LLM, from the organization's connections; none: tool calls by hand only.
  const llmSelect = h('select', {}, h('option', { value: '', text: 'None: run tool calls by hand in the Playground' }),
    llms.map((l) => h('option', { value: l.id, text: `${l.name} (${describeLlm(l)})` })));
  if (persona.llmId && !llms.some((l) => l.id === persona.llmId)) llmSelect.append(h('option', { value: persona.llmId, text: persona.llmId }));
  llmSelect.value = persona.llmId || '';
  const llm = field('LLM', llmSelect, { field: 'llmId' });
  llm.wrap.insertBefore(h('p', { class: 'hint' }, 'The connection the persona talks through. ',
    llms.length ? link('/lab/llms', 'Manage LLMs') : link('/lab/llms/new', 'Create one'), '.'), llm.error);

  const list = h('ol', { class: 'attached', id: 'attached-tools' });
  const listError = h('p', { class: 'field-error', hidden: true });
  const picker = h('div', { class: 'add-tool', hidden: true });
  const addBtn = h('button', { type: 'button', id: 'add-tool' }, 'Add Tool');
  const toolsSection = h('section', { class: 'field tools-section', dataset: { field: 'toolIds' }, 'aria-labelledby': 'tools-title' },
    h('h2', { id: 'tools-title', text: 'Tools' }),
    h('p', { class: 'hint', text: 'The tools this persona may call, in the order the LLM is given them.' }),
    list, listError, addBtn, picker);

  function renderList() {
    list.replaceChildren();
    if (!attached.length) list.append(h('li', { class: 'empty', text: 'No tools attached.' }));
    attached.forEach((tid, i) => {
      const t = byId.get(tid) || (persona.tools || []).find((x) => x.id === tid) || { name: tid, type: '?' };
      list.append(h('li', { class: 'field', dataset: { field: `toolIds[${i}]` } },
        h('span', { class: 'mono tool-name', text: t.name }), h('span', { class: 'badge', text: kindOf(t) }),
        h('span', { class: 'spacer' }),
        h('button', { type: 'button', class: 'link', disabled: i === 0, 'aria-label': `Move ${t.name} up`, onclick: () => move(i, -1) }, '↑ Up'),
        h('button', { type: 'button', class: 'link', disabled: i === attached.length - 1, 'aria-label': `Move ${t.name} down`, onclick: () => move(i, 1) }, '↓ Down'),
        h('button', { type: 'button', class: 'link danger', 'aria-label': `Remove ${t.name}`, onclick: () => { attached.splice(i, 1); dirty(); } }, 'Remove'),
        h('p', { class: 'field-error', hidden: true })));
    });
  }
  function move(i, by) {
    const [t] = attached.splice(i, 1);
    attached.splice(i + by, 0, t);
    dirty();
    const again = list.children[i + by]?.querySelector(`button[aria-label$="${by < 0 ? ' up' : ' down'}"]`);
    (again && !again.disabled ? again : list.children[i + by]?.querySelector('button:not([disabled])'))?.focus();
  }
  const unsaved = h('span', { class: 'hint', 'aria-live': 'polite' });
  function dirty() { renderList(); unsaved.textContent = 'Unsaved changes: save the persona to keep them.'; }
  for (const input of [name.input, desc.input, prompt.input, llm.input]) {
    input.addEventListener('input', () => { unsaved.textContent = 'Unsaved changes: save the persona to keep them.'; });
  }
  guardLeaving(() => (unsaved.isConnected && unsaved.textContent ? `${persona.name} has unsaved changes. Leave without saving them?` : null));

  addBtn.addEventListener('click', () => {
    const free = tools.filter((t) => !attached.includes(t.id));
    const select = h('select', { id: uid('pick') }, h('option', { value: '', text: free.length ? 'Choose a tool…' : 'Every tool is attached' }),
      free.map((t) => h('option', { value: t.id, text: `${t.name} (${kindOf(t)})` })));
    const ok = h('button', { type: 'button', id: 'add-tool-confirm' }, 'Add');
    ok.addEventListener('click', () => {
      if (!select.value) return select.focus();
      attached.push(select.value);
      picker.hidden = true;
      dirty();
      addBtn.focus();
    });
    mount(picker, h('label', { for: select.id, text: 'Tool to add' }), select, ok,
      h('button', { type: 'button', class: 'link', onclick: () => { picker.hidden = true; addBtn.focus(); } }, 'Cancel'),
      tools.length ? null : h('p', { class: 'hint' }, 'No tools yet: ', link('/lab/tools/new', 'create one'), '.'));
    picker.hidden = false;
    select.focus();
  });

  const form = h('form', { class: 'card build', novalidate: true },
    h('div', { class: 'form-errors', role: 'alert', hidden: true }),
    name.wrap, desc.wrap, prompt.wrap, llm.wrap, toolsSection,
    h('div', { class: 'actions sticky' }, h('button', { type: 'submit', class: 'primary', id: 'save-persona' }, 'Save persona'), unsaved,
      h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete persona')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    const body = {
      name: name.input.value,
      description: desc.input.value || null,
      systemPrompt: prompt.input.value || null,
      llmId: llm.input.value || null,
      toolIds: attached,
    };
    try {
      persona = await put(`/v1/personas/${persona.id}`, body);
      attached = persona.tools.map((t) => t.id);
      renderList();
      unsaved.textContent = '';
      flash(`Saved ${persona.name}.`, 'ok');
    } catch (err) { showProblem(form, err); }
  });
  async function remove() {
    if (!(await ask(`Delete the persona ${persona.name}?`, 'Delete'))) return;
    unsaved.textContent = '';
    try { await del(`/v1/personas/${persona.id}`); } catch (e) { return flash(`Could not delete: ${e.message}`, 'error'); }
    flash(`Deleted ${persona.name}.`, 'ok');
    navigate('/lab/personas');
  }
  renderList();
  mount(main, h('p', { class: 'crumbs' }, link('/lab/personas', '← Personas'), ' · ', link(`/lab/playground/${persona.id}`, 'Open in the Playground')),
    h('h1', {}, 'Build ', h('span', { text: persona.name })), form, mcpSection(persona));
}
