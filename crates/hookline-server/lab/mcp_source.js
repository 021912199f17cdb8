// An MCP server as a tool source, in the tool editor: "List tools" asks the server (through
// Hookline, under the outbound rules: POST /v1/tools/mcp/list) for its tools before anything is
// saved; each listed tool has an Allowed switch (what `allowedTools` holds) and a Test button
// that calls it with arguments the person writes (POST /v1/tools/mcp/call).
import { h, mount, uid, code } from './dom.js';
import { post } from './api.js';
import { exchange } from './tool_trial.js';

/** Arguments to start a test from: each property of the tool's input schema, empty. */
function skeleton(schema) {
  const out = {};
  for (const [name, prop] of Object.entries(schema?.properties || {})) {
    const type = Array.isArray(prop?.type) ? prop.type[0] : prop?.type;
    out[name] = type === 'number' || type === 'integer' ? 0 : type === 'boolean' ? false
      : type === 'object' ? {} : type === 'array' ? [] : '';
  }
  return out;
}

/**
 * The listing part of the MCP form. `target()` answers `{url, headers, toolId?}` as the form holds
 * them now; `allowed` is the stored `allowedTools` (null: all). Returns {el, allowedTools()}:
 * the names switched on, or null when all are (or when the server was never listed here).
 */
export function mcpTools(target, allowed) {
  let listed = null;
  const status = h('p', { class: 'hint', 'aria-live': 'polite', id: uid('mcp-status'),
    text: allowed ? `Allowed: ${allowed.join(', ')}. List the server's tools to change which.` : 'Every tool the server lists is offered. List them to see them, test one, or allow only some.' });
  const results = h('div', { class: 'mcp-tools' });
  const button = h('button', { type: 'button', class: 'list-tools' }, 'List tools');
  button.addEventListener('click', async () => {
    button.disabled = true;
    mount(status, 'Listing…');
    try {
      const answer = await post('/v1/tools/mcp/list', target());
      if (answer.error) {
        listed = null;
        mount(status, h('span', { class: 'flash error', text: `Could not list the server's tools: ${answer.error.message} (${answer.error.kind})` }));
        mount(results);
        return;
      }
      listed = answer.response.body.tools;
      mount(status, `${listed.length} tool${listed.length === 1 ? '' : 's'} listed in ${answer.executionTime} ms. Switch off those the LLM may not use.`);
      mount(results, table(listed));
    } catch (e) {
      listed = null;
      mount(status, h('span', { class: 'flash error', text: e.errors?.length ? `${e.message}: ${e.errors.map((x) => `${x.field}: ${x.message}`).join('; ')}` : e.message }));
    } finally {
      button.disabled = false;
    }
  });

  const switches = new Map();
  function table(tools) {
    switches.clear();
    if (!tools.length) return h('p', { class: 'empty', text: 'The server lists no tools.' });
    const rows = tools.map((t) => {
      const on = h('input', { type: 'checkbox', checked: !allowed || allowed.includes(t.name), 'aria-label': `Allow ${t.name}` });
      switches.set(t.name, on);
      const panel = h('tr', { class: 'mcp-test', hidden: true }, h('td', { colspan: 4 }, testPanel(t)));
      const test = h('button', { type: 'button', class: 'link', 'aria-label': `Test ${t.name}`, 'aria-expanded': 'false' }, 'Test');
      test.addEventListener('click', () => {
        panel.hidden = !panel.hidden;
        test.setAttribute('aria-expanded', String(!panel.hidden));
        if (!panel.hidden) panel.querySelector('textarea').focus();
      });
      return [h('tr', { dataset: { tool: t.name } },
        h('td', { class: 'center', 'data-label': 'Allowed' }, on),
        h('td', { class: 'mono', text: t.name }),
        h('td', { class: 'desc', text: t.description || '' }),
        h('td', {}, test)), panel];
    });
    return h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Allowed', 'Tool', 'Description', ''].map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, rows)));
  }

  function testPanel(tool) {
    const area = h('textarea', { id: uid('mcp-args'), rows: 5, spellcheck: 'false', class: 'mono', value: JSON.stringify(skeleton(tool.inputSchema), null, 2) });
    const out = h('div', { class: 'mcp-test-result', 'aria-live': 'polite' });
    const run = h('button', { type: 'button', class: 'primary' }, `Call ${tool.name}`);
    run.addEventListener('click', async () => {
      let args;
      try { args = JSON.parse(area.value || '{}'); } catch (e) { return void mount(out, h('p', { class: 'flash error', text: `The arguments are not JSON: ${e.message}` })); }
      run.disabled = true;
      mount(out, h('p', { class: 'hint', text: 'Calling…' }));
      try {
        const answer = await post('/v1/tools/mcp/call', { ...target(), tool: tool.name, arguments: args });
        mount(out, exchange(answer));
      } catch (e) {
        mount(out, h('p', { class: 'flash error', text: e.message }));
      } finally {
        run.disabled = false;
      }
    });
    return h('div', {},
      h('label', { for: area.id, text: `Arguments for ${tool.name} (JSON), sent as they are` }), area,
      tool.inputSchema ? h('details', {}, h('summary', { text: 'Input schema' }), code(tool.inputSchema)) : null,
      h('div', { class: 'actions' }, run), out);
  }

  const el = h('div', { class: 'field mcp-listing', dataset: { field: 'allowedTools' } },
    h('div', { class: 'row' }, button, status), results, h('p', { class: 'field-error', hidden: true }));
  return {
    el,
    allowedTools() {
      if (!listed) return allowed;
      const on = listed.filter((t) => switches.get(t.name)?.checked).map((t) => t.name);
      return on.length === listed.length ? null : on;
    },
  };
}
