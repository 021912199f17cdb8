// Sessions: the organization's sessions from `GET /v1/sessions` (newest first, in pages, by
// persona and status), each with how long it lasted, its turns, tool calls and errors, and a link
// to its own page (session_page.js); any other by its id.
import { h, mount, field, uid } from './dom.js';
import { get, query } from './api.js';
import { pager, heading, clearProblem, failed, link, navigate } from './ui.js';
import { lasted } from './session_page.js';

const STATUSES = ['active', 'ended', 'expired'];

export async function sessionsPage(main) {
  document.title = 'Sessions · Hookline Lab';
  // Persona names for the filter and the rows; a session keeps the id of a persona since deleted.
  let personas;
  try { personas = (await get(`/v1/personas${query({ perPage: 100 })}`)).data; } catch (e) { return failed(main, e); }
  const names = new Map(personas.map((p) => [p.id, p.name]));
  const personaIn = h('select', { id: uid('persona'), name: 'personaId' }, h('option', { value: '', text: 'All personas' }),
    personas.map((p) => h('option', { value: p.id, text: p.name })));
  const statusIn = h('select', { id: uid('status'), name: 'status' }, h('option', { value: '', text: 'Any status' }),
    STATUSES.map((s) => h('option', { value: s, text: s })));
  const filters = h('form', { class: 'search', 'aria-label': 'Filter sessions' },
    h('label', { for: personaIn.id, text: 'Persona' }), personaIn,
    h('label', { for: statusIn.id, text: 'Status' }), statusIn);
  filters.addEventListener('submit', (e) => { e.preventDefault(); load(1); });
  personaIn.addEventListener('change', () => load(1));
  statusIn.addEventListener('change', () => load(1));
  const results = h('div', { class: 'results', id: 'sessions-list', 'aria-live': 'polite' });

  const idIn = field('Session id', h('input', { type: 'text', spellcheck: 'false', class: 'mono' }), { field: 'id' });
  const form = h('form', { class: 'card inline-form', novalidate: true }, h('div', { class: 'form-errors', role: 'alert', hidden: true }),
    idIn.wrap, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Open')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearProblem(form);
    const id = idIn.input.value.trim();
    if (id) navigate(`/lab/sessions/${encodeURIComponent(id)}`);
  });

  // Only the newest load shows: the first page's answer may come after a filter's.
  let loads = 0;
  async function load(p) {
    loads += 1;
    const mine = loads;
    let list;
    try {
      list = await get(`/v1/sessions${query({ page: p, perPage: 10, personaId: personaIn.value, status: statusIn.value })}`);
    } catch (e) { return failed(results, e); }
    if (mine !== loads) return;
    if (!list.data.length) {
      mount(results, h('p', { class: 'empty', text: personaIn.value || statusIn.value ? 'No session matches.' : 'No sessions yet: start one in the Playground.' }));
      return;
    }
    mount(results,
      h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
        h('thead', {}, h('tr', {}, ['Session', 'Persona', 'Status', 'Started', 'Lasted', 'Turns', 'Tool calls', 'Errors', 'Label'].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, list.data.map((s) => {
          const counts = [h('td', { class: 'num', 'data-label': 'Turns' }), h('td', { class: 'num', 'data-label': 'Tool calls' }), h('td', { class: 'num', 'data-label': 'Errors' })];
          countsOf(s, counts);
          return h('tr', {},
            h('td', {}, link(`/lab/sessions/${s.id}`, s.id, { class: 'mono', dataset: { session: s.id }, 'aria-label': `Open session ${s.id}` })),
            h('td', { 'data-label': 'Persona', text: personaName(s) }),
            h('td', {}, h('span', { class: 'badge', text: s.status }), expiry(s)),
            h('td', { 'data-label': 'Started', text: new Date(s.createdAt).toLocaleString() }),
            h('td', { 'data-label': 'Lasted', text: lasted(s) }),
            counts,
            h('td', { 'data-label': 'Label', text: s.clientLabel || '' }));
        })))),
      pager(list.meta, load));
  }

  // Turns (the person's messages), tool calls and errors (failed calls) of a row, read
  // after the list is shown: a session's counts are not part of the list.
  async function countsOf(s, [turns, calls, errors]) {
    const base = `/v1/sessions/${s.id}`;
    try {
      const [messages, log] = await Promise.all([get(`${base}/messages?perPage=100`).catch(() => ({ data: [] })), get(`${base}/tool-calls?perPage=100`)]);
      turns.textContent = String(messages.data.filter((m) => m.role === 'user').length);
      calls.textContent = String(log.meta.total);
      errors.textContent = String(log.data.filter((c) => c.status === 'failed').length);
    } catch { /* The row stays without counts. */ }
  }

  // A session nobody ended stays active until it expires: say when.
  function expiry(s) {
    if (s.status !== 'active' || !s.expiresAt) return null;
    return h('span', { class: 'hint expires', text: ` until ${new Date(s.expiresAt).toLocaleString()}, when it expires` });
  }

  function personaName(s) {
    if (!s.personaId) return 'ephemeral persona';
    return names.get(s.personaId) ?? `deleted persona ${s.personaId}`;
  }

  mount(main, heading('Sessions'), filters, results,
    h('details', { class: 'by-id' }, h('summary', { text: 'Open a session by its id' }), form));
  await load(1);
}
