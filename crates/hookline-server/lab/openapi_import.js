// "Import from OpenAPI" on the Tools page: paste or read a document, preview its drafts (a dry
// run: each operation valid or refused with why), choose, then create them.
import { h, mount, field, uid } from './dom.js';
import { api } from './api.js';
import { flash, showProblem, clearProblem, counted } from './ui.js';
import { connectionPicker } from './connections.js';

/** The button that opens the import panel at the top of `main`; `done()` reloads the list. */
export function importButton(main, done) {
  const button = h('button', { type: 'button', id: 'import-openapi', 'aria-expanded': 'false' }, 'Import from OpenAPI');
  let panel = null;
  button.addEventListener('click', () => {
    if (panel) { panel.remove(); panel = null; button.setAttribute('aria-expanded', 'false'); return; }
    panel = importPanel(() => { panel?.remove(); panel = null; button.setAttribute('aria-expanded', 'false'); done(); });
    // Right under the page's heading, above the list.
    main.firstElementChild.after(panel);
    button.setAttribute('aria-expanded', 'true');
    panel.querySelector('textarea').focus();
  });
  return button;
}

function importPanel(finished) {
  const doc = field('OpenAPI document (3.0 or 3.1, JSON or YAML)', h('textarea', { rows: 10, class: 'mono', spellcheck: 'false', id: 'openapi-text' }), { field: 'openapi' });
  const file = h('input', { type: 'file', accept: '.json,.yaml,.yml,application/json,application/yaml', id: uid('file') });
  file.addEventListener('change', async () => { if (file.files[0]) doc.input.value = await file.files[0].text(); });
  const baseUrl = field('Base URL (optional)', h('input', { type: 'url', class: 'mono', spellcheck: 'false', placeholder: 'the document’s servers[0].url' }), { field: 'baseUrl' });
  const connection = connectionPicker(null);
  const preview = h('button', { type: 'submit', class: 'primary', id: 'import-preview' }, 'Preview drafts');
  const results = h('div', { class: 'import-results', 'aria-live': 'polite' });
  const form = h('form', { novalidate: true },
    h('div', { class: 'form-errors', role: 'alert', hidden: true }), doc.wrap,
    h('div', { class: 'row' }, h('label', { for: file.id, text: 'Read a file:' }), file),
    h('div', { class: 'row' }, baseUrl.wrap, connection.wrap),
    h('div', { class: 'actions' }, preview, h('button', { type: 'button', onclick: finished }, 'Close')));
  const body = (operations) => {
    const out = { openapi: doc.input.value };
    if (baseUrl.input.value.trim()) out.baseUrl = baseUrl.input.value.trim();
    if (connection.value()) out.connectionId = connection.value();
    if (operations) out.operations = operations;
    return out;
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    mount(results);
    preview.disabled = true;
    try {
      const report = await api('POST', '/v1/tools/import?dryRun=true', body());
      showDrafts(results, report, async (chosen, everything) => {
        try {
          const created = await api('POST', '/v1/tools/import', body(everything ? undefined : chosen));
          const refused = created.operations.filter((o) => o.status === 'refused');
          flash(`Created ${counted(created.created, 'tool')}${refused.length ? `; refused: ${refused.map((o) => `${o.name} (${o.errors.map((x) => x.message).join('; ')})`).join(', ')}` : ''}.`, refused.length ? 'info' : 'ok');
          finished();
        } catch (err) { showProblem(form, err); }
      });
    } catch (err) {
      showProblem(form, err);
    } finally {
      preview.disabled = false;
    }
  });
  return h('section', { class: 'card import-openapi', 'aria-labelledby': 'import-title' },
    h('h2', { id: 'import-title', text: 'Import from OpenAPI' }),
    h('p', { class: 'hint', text: 'Each operation becomes a webhook tool: its name from the operationId, the URL from the server and path, parameters from the path, query and JSON body. Nothing is created before you choose.' }),
    form, results);
}

/** The dry run's drafts, valid ones ready to choose; `create(ids, everything)` imports them. */
function showDrafts(el, report, create) {
  const boxes = [];
  const rows = report.operations.map((o) => {
    const ok = o.status === 'valid';
    // An operation is chosen by its operationId; one without is imported only with all of them.
    const box = h('input', { type: 'checkbox', checked: ok, disabled: !ok, 'aria-label': `Import ${o.name}` });
    if (ok) boxes.push({ box, id: o.operationId });
    const why = ok ? (o.notes || []) : o.errors.map((e) => `${e.field ? `${e.field}: ` : ''}${e.message}`);
    return h('tr', { class: ok ? 'valid' : 'refused' },
      h('td', {}, box),
      h('td', { class: 'mono', text: o.name || '' }),
      h('td', { class: 'mono', text: `${o.method} ${o.path}` }),
      h('td', { text: ok ? (o.draft?.description || '') : 'refused' }),
      h('td', {}, why.length ? h('ul', { class: 'plain hint' }, why.map((w) => h('li', { text: w }))) : null));
  });
  const go = h('button', { type: 'button', class: 'primary', id: 'import-create' }, '');
  const count = () => boxes.filter((b) => b.box.checked).length;
  const label = () => { go.textContent = `Create ${counted(count(), 'tool')}`; go.disabled = count() === 0; };
  for (const b of boxes) b.box.addEventListener('change', label);
  label();
  go.addEventListener('click', async () => {
    const chosen = boxes.filter((b) => b.box.checked);
    go.disabled = true;
    await create(chosen.map((b) => b.id).filter(Boolean), chosen.length === boxes.length);
    go.disabled = false;
  });
  mount(el, h('p', { text: `${report.valid} of ${counted(report.operations.length, 'operation')} can become tools; ${report.refused} refused.` }),
    h('div', { class: 'table-wrap' }, h('table', { class: 'list drafts' },
      h('thead', {}, h('tr', {}, ['', 'Name', 'Operation', 'Description', 'Notes / why refused'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows))),
    h('div', { class: 'actions' }, go));
}
