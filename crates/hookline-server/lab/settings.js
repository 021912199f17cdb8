// Settings: API keys (a new key is shown once; revoke), signing secrets (show, rotate) and
// connections (OAuth2 client credentials of webhook tools).
import { h, mount, field } from './dom.js';
import { get, post, del, auth } from './api.js';
import { flash, heading, showProblem, clearProblem, failed, copyButton } from './ui.js';
import { renderConnections } from './connections.js';

export async function settingsPage(main) {
  document.title = 'Settings · Hookline Lab';
  const keys = h('section', { class: 'card', 'aria-labelledby': 'keys-title' });
  const secrets = h('section', { class: 'card', 'aria-labelledby': 'secrets-title' });
  const connections = h('section', { class: 'card', id: 'connections', 'aria-labelledby': 'connections-title' });
  mount(main, heading('Settings'), keys, secrets, connections);
  await Promise.all([renderKeys(keys), renderSecrets(secrets), renderConnections(connections)]);
}

async function renderKeys(section) {
  let list;
  try { list = await get('/v1/api-keys?perPage=100'); } catch (e) { return failed(section, e); }
  const current = auth.key() || '';
  const name = field('Name of the new key', h('input', { type: 'text', autocomplete: 'off', placeholder: 'ci' }), { field: 'name' });
  const shown = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'inline-form', novalidate: true },
    h('div', { class: 'form-errors', role: 'alert', hidden: true }), name.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create key')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    try {
      const created = await post('/v1/api-keys', { name: name.input.value });
      await renderKeys(section);
      const box = section.querySelector('.new-key');
      const input = h('input', { type: 'text', readonly: true, value: created.key, id: 'new-key-value', class: 'mono' });
      mount(box, h('p', { text: `The key ${created.name} is shown this once: copy it now.` }),
        h('label', { for: input.id, text: 'New API key' }), h('div', { class: 'copy-row' }, input, copyButton(() => created.key, 'Copy the new API key')));
      input.select();
    } catch (err) { showProblem(form, err); }
  });
  const rows = list.data.map((k) => {
    const mine = current.startsWith(k.keyPrefix);
    return h('tr', {},
      h('td', { text: k.name }), h('td', { class: 'mono', text: `${k.keyPrefix}…` }),
      h('td', { 'data-label': 'Created', text: new Date(k.createdAt).toLocaleString() }),
      h('td', { 'data-label': 'Last used', text: k.lastUsedAt ? new Date(k.lastUsedAt).toLocaleString() : 'never' }),
      h('td', {}, mine ? h('span', { class: 'badge', text: 'this tab' }) : null),
      h('td', {}, h('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${k.name} (${k.keyPrefix})`, onclick: () => revoke(k, mine) }, 'Revoke')));
  });
  async function revoke(k, mine) {
    const warning = mine ? ' This tab signs in with it: the Lab will sign out.' : '';
    if (!confirm(`Revoke the key ${k.name} (${k.keyPrefix}…)? Whoever uses it is refused at once.${warning}`)) return;
    try {
      await del(`/v1/api-keys/${k.id}`);
      flash(`Revoked ${k.name}.`, 'ok');
      await renderKeys(section);
    } catch (e) { if (e.status !== 401) flash(`Could not revoke: ${e.message}`, 'error'); }
  }
  mount(section, h('h2', { id: 'keys-title', text: 'API keys' }),
    h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Name', 'Key', 'Created', 'Last used', '', ''].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows))),
    h('div', { class: 'new-key' }), shown, form);
}

async function renderSecrets(section) {
  let list;
  try { list = await get('/v1/signing-secrets'); } catch (e) { return failed(section, e); }
  const rotate = h('button', { type: 'button' }, 'Rotate');
  rotate.addEventListener('click', async () => {
    if (!confirm('Add a new signing secret? For 24 hours both sign every request, then the old one retires.')) return;
    try { await post('/v1/signing-secrets/rotate', {}); flash('A new signing secret was added.', 'ok'); } catch (e) { return flash(`Could not rotate: ${e.message}`, 'error'); }
    await renderSecrets(section);
  });
  mount(section, h('h2', { id: 'secrets-title', text: 'Signing secrets' }),
    h('p', { class: 'hint', text: 'Every webhook request is signed (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature); your endpoint checks it with these.' }),
    h('ul', { class: 'secrets' }, list.data.map((s) => {
      const value = h('code', { class: 'mono', text: '••••••••' });
      const show = h('button', { type: 'button', class: 'link', 'aria-pressed': 'false' }, 'Show');
      show.addEventListener('click', () => {
        const hidden = show.getAttribute('aria-pressed') === 'false';
        value.textContent = hidden ? s.secret : '••••••••';
        show.textContent = hidden ? 'Hide' : 'Show';
        show.setAttribute('aria-pressed', String(hidden));
      });
      return h('li', {}, value, ' ', show, ' ', copyButton(() => s.secret, 'Copy the signing secret'),
        h('span', { class: 'hint', text: ` created ${new Date(s.createdAt).toLocaleString()}${s.expiresAt ? `, retires ${new Date(s.expiresAt).toLocaleString()}` : ''}` }));
    })),
    rotate);
}
