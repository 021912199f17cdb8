// Knowledge: folders of documents (list, create, delete), a folder's documents (upload with
// progress, live status and chunk counts, delete) and a search box showing ranked chunks.
import { h, mount, field, uid } from './dom.js';
import { get, post, del, query, all, auth, ApiError } from './api.js';
import { navigate, flash, link, pager, heading, showProblem, clearProblem, failed, ask, counted } from './ui.js';
import { chunkList } from './chunks.js';

/** While documents are processing, their folder's page asks again this often. */
const POLL_MS = 1000;

export async function knowledgePage(main) {
  document.title = 'Knowledge · Hookline Lab';
  const results = h('div', { class: 'results', id: 'folders', 'aria-live': 'polite' });
  const searchBox = h('div');
  mount(main, heading('Knowledge'),
    h('p', { class: 'hint', text: 'Folders of documents a knowledge tool searches. Create a folder, upload its files (.txt, .md, .pdf, .docx, .csv, .json, .log), then point a knowledge tool at it.' }),
    createForm(), results, searchBox);

  async function load(p) {
    let list;
    try { list = await get(`/v1/knowledge/folders${query({ page: p, perPage: 20 })}`); } catch (e) { return failed(results, e); }
    if (!list.data.length) return void mount(results, h('p', { class: 'empty', text: 'No folders yet.' }));
    mount(results,
      h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
        h('thead', {}, h('tr', {}, ['Name', 'Description', 'Documents', ''].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, list.data.map((f) => h('tr', {},
          h('td', {}, link(`/lab/knowledge/${f.id}`, f.name)),
          h('td', { class: 'desc', text: f.description || '' }),
          h('td', { class: 'num', 'data-label': 'Documents', text: String(f.documentCount) }),
          h('td', {}, h('button', { type: 'button', class: 'link danger', 'aria-label': `Delete ${f.name}`, onclick: () => removeFolder(f, () => load(p)) }, 'Delete'))))))),
      pager(list.meta, load));
  }

  function createForm() {
    const name = field('Folder name', h('input', { type: 'text', autocomplete: 'off', placeholder: 'Help center' }), { field: 'name' });
    const description = field('Description (optional)', h('input', { type: 'text', autocomplete: 'off' }), { field: 'description' });
    const form = h('form', { class: 'card', id: 'new-folder' }, h('h2', { text: 'New folder' }),
      h('div', { class: 'form-errors', role: 'alert', hidden: true }),
      h('div', { class: 'row' }, name.wrap, description.wrap),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create folder')));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearProblem(form);
      const body = { name: name.input.value };
      if (description.input.value.trim()) body.description = description.input.value;
      try {
        const made = await post('/v1/knowledge/folders', body);
        flash(`Created ${made.name}.`, 'ok');
        navigate(`/lab/knowledge/${made.id}`);
      } catch (e) { showProblem(form, e); }
    });
    return form;
  }

  await load(1);
  mount(searchBox, await searchForm());
}

/** The search box: a query over the chosen folders, the ranked chunks under it. */
async function searchForm(only) {
  let folders = [];
  try { folders = await all('/v1/knowledge/folders'); } catch { /* the list above says why */ }
  if (only) folders = folders.filter((f) => f.id === only);
  const q = field('Query', h('input', { type: 'search', autocomplete: 'off', placeholder: 'how long do refunds take' }), { field: 'query' });
  const picks = folders.map((f) => {
    const input = h('input', { type: 'checkbox', id: uid('kf'), checked: true, value: f.id });
    return { input, el: h('label', { for: input.id, class: 'pick' }, input, ` ${f.name}`) };
  });
  const out = h('div', { class: 'search-results', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', id: 'knowledge-search', role: 'search' }, h('h2', { text: 'Search' }),
    h('div', { class: 'form-errors', role: 'alert', hidden: true }),
    q.wrap,
    only ? null : h('fieldset', { class: 'field folder-picks', dataset: { field: 'folderIds' } }, h('legend', { text: 'In folders' }),
      picks.length ? picks.map((p) => p.el) : h('p', { class: 'hint', text: 'No folders yet.' }), h('p', { class: 'field-error', hidden: true })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Search')), out);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearProblem(form);
    const folderIds = only ? [only] : picks.filter((p) => p.input.checked).map((p) => p.input.value);
    try {
      const found = await post('/v1/knowledge/search', { query: q.input.value, folderIds });
      mount(out, chunkList(found));
    } catch (e) { mount(out); showProblem(form, e); }
  });
  return form;
}

async function removeFolder(folder, after) {
  if (!(await ask(`Delete the folder ${folder.name} and its documents?`, 'Delete'))) return;
  const path = `/v1/knowledge/folders/${folder.id}`;
  try {
    await del(path);
  } catch (e) {
    if (e.status !== 409 || !Array.isArray(e.problem.tools)) return void flash(`Could not delete: ${e.message}`, 'error');
    const names = e.problem.tools.map((t) => t.name).join(', ');
    if (!(await ask(`The knowledge tools ${names} search ${folder.name}: their calls will fail until they name another folder. Delete it anyway?`, 'Delete'))) return;
    try { await del(`${path}?force=true`); } catch (e2) { return void flash(`Could not delete: ${e2.message}`, 'error'); }
  }
  flash(`Deleted ${folder.name}.`, 'ok');
  after();
}

export async function folderPage(main, id) {
  let folder;
  try { folder = await get(`/v1/knowledge/folders/${encodeURIComponent(id)}`); } catch (e) { return failed(main, e); }
  document.title = `${folder.name} · Knowledge · Hookline Lab`;
  const docs = h('div', { class: 'results', id: 'documents', 'aria-live': 'polite' });
  const progress = h('p', { class: 'hint upload-progress', 'aria-live': 'polite' });
  const files = h('input', { type: 'file', multiple: true, id: uid('upload'), accept: '.txt,.md,.pdf,.docx,.csv,.json,.log' });
  const drop = h('div', { class: 'card drop-zone', id: 'drop-zone' },
    h('label', { for: files.id, text: 'Upload documents' }), files,
    h('p', { class: 'hint', text: 'Or drop files here. At most 50 MiB a file; .txt, .md, .pdf, .docx, .csv, .json, .log.' }), progress);
  files.addEventListener('change', () => { if (files.files.length) upload([...files.files]); });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files.length) upload([...e.dataTransfer.files]); });
  const remove = h('button', { type: 'button', class: 'danger' }, 'Delete folder');
  remove.addEventListener('click', () => removeFolder(folder, () => navigate('/lab/knowledge')));
  mount(main, h('p', { class: 'crumbs' }, link('/lab/knowledge', '← Knowledge')),
    heading(folder.name, remove),
    folder.description ? h('p', { text: folder.description }) : null,
    drop, docs, await searchForm(folder.id));

  let timer = null;
  const here = location.pathname;
  async function load() {
    clearTimeout(timer);
    if (location.pathname !== here) return;
    let list;
    try { list = await all(`/v1/knowledge/folders/${folder.id}/documents`); } catch (e) { return failed(docs, e); }
    if (!list.length) mount(docs, h('p', { class: 'empty', text: 'No documents yet.' }));
    else {
      mount(docs, h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
        h('thead', {}, h('tr', {}, ['Document', 'Size', 'Status', 'Chunks', ''].map((t) => h('th', { scope: 'col', text: t })))),
        h('tbody', {}, list.map((d) => h('tr', { dataset: { document: d.filename } },
          h('td', { class: 'mono', text: d.filename }),
          h('td', { class: 'num', 'data-label': 'Size', text: size(d.size) }),
          h('td', { 'data-label': 'Status' },
            h('span', { class: `badge ${d.status === 'ready' ? 'ok' : d.status === 'failed' ? 'bad' : ''}`, text: d.status }),
            d.error ? h('p', { class: 'field-error', text: d.error }) : null),
          h('td', { class: 'num', 'data-label': 'Chunks', text: d.chunkCount != null ? String(d.chunkCount) : '' }),
          h('td', {}, h('button', { type: 'button', class: 'link danger', 'aria-label': `Delete ${d.filename}`, onclick: () => removeDocument(d) }, 'Delete'))))))));
    }
    if (list.some((d) => d.status === 'processing')) timer = setTimeout(load, POLL_MS);
  }

  async function removeDocument(d) {
    if (!(await ask(`Delete the document ${d.filename}?`, 'Delete'))) return;
    try { await del(`/v1/knowledge/documents/${d.id}`); flash(`Deleted ${d.filename}.`, 'ok'); } catch (e) { flash(`Could not delete: ${e.message}`, 'error'); }
    load();
  }

  // XMLHttpRequest, not fetch: it reports the upload's progress.
  function upload(list) {
    const form = new FormData();
    for (const f of list) form.append('file', f, f.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/v1/knowledge/folders/${folder.id}/documents`);
    xhr.setRequestHeader('Authorization', `Bearer ${auth.key()}`);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) progress.textContent = `Uploading ${counted(list.length, 'file')}: ${Math.round((100 * e.loaded) / e.total)}%`;
    });
    xhr.addEventListener('load', () => {
      files.value = '';
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 202) {
        progress.textContent = `Uploaded ${counted(list.length, 'file')}; each shows ready below once processed.`;
        load();
      } else {
        progress.textContent = '';
        const e = new ApiError(xhr.status, body);
        flash(`Upload refused: ${e.message}${body?.filename ? ` (${body.filename})` : ''}`, 'error');
      }
    });
    xhr.addEventListener('error', () => { progress.textContent = ''; flash('Upload failed: the server could not be reached.', 'error'); });
    progress.textContent = `Uploading ${counted(list.length, 'file')}…`;
    xhr.send(form);
  }

  await load();
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
