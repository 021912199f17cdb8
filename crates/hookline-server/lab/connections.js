// Connections (OAuth2 client credentials) on the Settings page: the list with each secret
// masked, a form to add one, delete; and the picker a webhook tool's form uses.
import { h, mount, field, uid } from './dom.js';
import { post, del, all } from './api.js';
import { flash, showProblem, clearProblem, failed, secretInput, ask, counted } from './ui.js';

export async function renderConnections(section) {
  let list;
  try { list = await all('/v1/connections'); } catch (e) { return failed(section, e); }
  const name = field('Name', h('input', { type: 'text', autocomplete: 'off', placeholder: 'crm' }), { field: 'name' });
  const tokenUrl = field('Token URL', h('input', { type: 'url', class: 'mono', spellcheck: 'false', placeholder: 'https://auth.example.com/oauth/token' }), { field: 'tokenUrl' });
  const clientId = field('Client id', h('input', { type: 'text', class: 'mono', autocomplete: 'off', spellcheck: 'false' }), { field: 'clientId' });
  const { input: secretIn, reveal } = secretInput('', { class: 'mono', placeholder: 'the client secret' });
  const secret = field('Client secret', secretIn, { field: 'clientSecret', hint: 'Stored encrypted; shown only as •••• and its last 4 characters.' });
  secretIn.after(reveal);
  const scope = field('Scope (optional)', h('input', { type: 'text', class: 'mono', autocomplete: 'off', placeholder: 'orders:read' }), { field: 'scope' });
  const audience = field('Audience (optional)', h('input', { type: 'text', class: 'mono', autocomplete: 'off' }), { field: 'audience' });
  const form = h('form', { class: 'connection-form', novalidate: true },
    h('div', { class: 'form-errors', role: 'alert', hidden: true }),
    h('div', { class: 'row' }, name.wrap, tokenUrl.wrap),
    h('div', { class: 'row' }, clientId.wrap, secret.wrap),
    h('div', { class: 'row' }, scope.wrap, audience.wrap),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'create-connection' }, 'Add connection')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    const body = {
      name: name.input.value.trim(), type: 'oauth2_client_credentials', tokenUrl: tokenUrl.input.value.trim(),
      clientId: clientId.input.value.trim(), clientSecret: secretIn.value,
    };
    if (scope.input.value.trim()) body.scope = scope.input.value.trim();
    if (audience.input.value.trim()) body.audience = audience.input.value.trim();
    try {
      const created = await post('/v1/connections', body);
      flash(`Added the connection ${created.name}.`, 'ok');
      await renderConnections(section);
    } catch (err) { showProblem(form, err); }
  });
  const rows = list.map((c) => h('tr', {},
    h('td', { text: c.name }),
    h('td', { class: 'mono desc', text: c.tokenUrl }),
    h('td', { class: 'mono', 'data-label': 'Client id', text: c.clientId }),
    h('td', { class: 'mono', 'data-label': 'Secret', text: c.clientSecret }),
    h('td', { class: 'num', 'data-label': 'Tools', text: String(c.usageCount) }),
    h('td', {}, h('button', { type: 'button', class: 'danger', 'aria-label': `Delete the connection ${c.name}`, onclick: () => remove(c) }, 'Delete'))));
  async function remove(c) {
    const users = c.usageCount ? ` ${counted(c.usageCount, 'tool')} ${c.usageCount === 1 ? 'uses' : 'use'} it: their calls will fail until they name another connection.` : '';
    if (!(await ask(`Delete the connection ${c.name}?${users}`, 'Delete'))) return;
    try {
      await del(`/v1/connections/${c.id}${c.usageCount ? '?force=true' : ''}`);
      flash(`Deleted the connection ${c.name}.`, 'ok');
      await renderConnections(section);
    } catch (e) {
      if (e.status === 409 && Array.isArray(e.problem.tools)) {
        flash(`The connection ${c.name} is now used by ${e.problem.tools.map((t) => t.name).join(', ')}; delete again to go on.`, 'error');
        await renderConnections(section);
      } else flash(`Could not delete: ${e.message}`, 'error');
    }
  }
  mount(section, h('h2', { id: 'connections-title', text: 'Connections' }),
    h('p', { class: 'hint', text: 'OAuth2 client credentials a webhook tool can authenticate with: Hookline asks the token URL for an access token, keeps it until shortly before it expires, and sends it as Authorization: Bearer.' }),
    list.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'list connections' },
      h('thead', {}, h('tr', {}, ['Name', 'Token URL', 'Client id', 'Secret', 'Tools', ''].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows))) : h('p', { class: 'empty', text: 'No connections yet.' }),
    form);
}

/** A select of the organization's connections for a webhook tool (`connectionId`), filled as they load. */
export function connectionPicker(selected) {
  const select = h('select', { id: uid('conn') }, h('option', { value: '', text: 'None (headers only)' }));
  if (selected) select.append(h('option', { value: selected, text: selected }));
  select.value = selected || '';
  all('/v1/connections').then((list) => {
    const keep = select.value;
    mount(select, h('option', { value: '', text: 'None (headers only)' }),
      list.map((c) => h('option', { value: c.id, text: `${c.name} (${c.tokenUrl})` })));
    select.value = keep;
  }).catch(() => {});
  const picked = field('Connection', select, { field: 'connectionId', hint: 'Send an OAuth2 access token of this connection as Authorization: Bearer (add connections in Settings).' });
  return { wrap: picked.wrap, value: () => select.value || null };
}

