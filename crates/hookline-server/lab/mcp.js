// A persona's MCP section on its build page: the URL an MCP client (Claude Desktop, Cursor,
// Claude Code, an agent SDK) connects to, and configurations to copy. The API key is never put
// in them: each names the environment variable the user keeps it in (docs/mcp.md).
import { h, code } from './dom.js';

/** A name for the persona in a client's configuration: lower-case words joined by dashes. */
function slug(name) {
  return (name || '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'hookline';
}

/** The configurations of `url` for each client, as [label, text]. */
export function clientConfigs(name, url) {
  const server = slug(name);
  return [
    ['Cursor (~/.cursor/mcp.json)', JSON.stringify({
      mcpServers: { [server]: { url, headers: { Authorization: 'Bearer ${env:HOOKLINE_API_KEY}' } } },
    }, null, 2)],
    ['Claude Code', `claude mcp add --transport http ${server} ${url} --header "Authorization: Bearer $HOOKLINE_API_KEY"`],
    ['Claude Desktop (claude_desktop_config.json)', JSON.stringify({
      mcpServers: {
        [server]: {
          command: 'npx',
          args: ['mcp-remote', url, '--header', 'Authorization:${HOOKLINE_AUTH}'],
          env: { HOOKLINE_AUTH: 'Bearer hk_…' },
        },
      },
    }, null, 2)],
  ];
}

function copyButton(text, label) {
  const button = h('button', { type: 'button', class: 'link', 'aria-label': `Copy the ${label} configuration` }, 'Copy');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Select it and copy by hand';
    }
  });
  return button;
}

/** The section, for a saved persona. */
export function mcpSection(persona) {
  const url = `${location.origin}/v1/mcp/personas/${persona.id}`;
  return h('section', { class: 'card mcp-section', 'aria-labelledby': 'mcp-title' },
    h('h2', { id: 'mcp-title', text: 'MCP' }),
    h('p', { class: 'hint', text: 'Any MCP client can use this persona\'s webhook tools: each call runs as a session call, '
      + 'with the call log and events. Authenticate with an API key of your organization as a bearer token. '
      + 'A connected client is told when the persona\'s tools change (saved here or on the Tools page) and lists them again.' }),
    h('p', {}, h('span', { text: 'Server URL: ' }), h('code', { class: 'mono', id: 'mcp-url', text: url }), ' ',
      copyButton(url, 'server URL')),
    clientConfigs(persona.name, url).map(([label, text]) => h('div', { class: 'mcp-config' },
      h('h3', { text: label }), code(text), copyButton(text, label))));
}
