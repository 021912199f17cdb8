// Getting started: until the organization's first session, the Tools page shows the four steps
// to a first conversation (a tool, an LLM, a persona using both, the Playground), each done or
// not, with a link to the next one. Read from the API's lists; nothing is stored.
import { h, mount } from './dom.js';
import { get } from './api.js';
import { link } from './ui.js';

/** Fills `slot` with the checklist, or leaves it empty once a session exists. */
export async function gettingStarted(slot) {
  let tools; let llms; let personas; let sessions;
  try {
    [tools, personas, sessions] = await Promise.all([get('/v1/tools?perPage=1'), get('/v1/personas?perPage=100'), get('/v1/sessions?perPage=1')]);
    // A server without the conversation runtime has no /v1/llms: that step is then left out.
    llms = await get('/v1/llms?perPage=1').catch(() => null);
  } catch {
    return; // The page's own list says what failed.
  }
  if (sessions.meta.total > 0) return;
  const talking = personas.data.find((p) => p.llmId && p.toolIds?.length);
  const someone = talking || personas.data.find((p) => p.toolIds?.length) || personas.data[0];
  const steps = [
    { done: tools.meta.total > 0, text: 'Create a tool (or start from a template)', to: '/lab/tools/new' },
    llms && { done: llms.meta.total > 0, text: 'Connect an LLM (the stand-in will do: examples/standin_llm.py)', to: '/lab/llms/new' },
    { done: !!(llms ? talking : someone?.toolIds?.length), text: llms ? 'Make a persona with that LLM and tool' : 'Make a persona with that tool', to: someone ? `/lab/build/${someone.id}` : '/lab/personas' },
    { done: false, text: 'Talk to it in the Playground', to: someone ? `/lab/playground/${someone.id}` : '/lab/playground' },
  ].filter(Boolean);
  const next = steps.findIndex((s) => !s.done);
  mount(slot, h('section', { class: 'card getting-started', id: 'getting-started', 'aria-labelledby': 'getting-started-title' },
    h('h2', { id: 'getting-started-title', text: 'Getting started' }),
    h('ol', { class: 'checklist' }, steps.map((s, i) => h('li', { class: s.done ? 'done' : i === next ? 'next' : 'later', dataset: { step: String(i + 1) } },
      h('span', { class: 'badge', text: s.done ? 'done' : i === next ? 'next' : 'to do' }), ' ',
      i === next ? link(s.to, s.text) : h('span', { text: s.text })))),
    h('p', { class: 'hint', text: 'This goes away once a first session has started.' })));
}
