// The Lab's entry: routing, the sign-in page and the shell.
import { h, mount, field } from './dom.js';
import { api, auth, ApiError } from './api.js';
import { navigate, flash, showProblem, ask, leavingQuestion } from './ui.js';
import { toolsPage, toolEditor } from './tools.js';
import { toolTestPage } from './tool_trial.js';
import { personasPage, buildPage } from './personas.js';
import { settingsPage } from './settings.js';
import { playgroundPage } from './playground.js';
import { sessionsPage } from './sessions.js';
import { sessionPage } from './session_page.js';
import { llmsPage, llmEditor } from './llms.js';
import { knowledgePage, folderPage } from './knowledge.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const development = document.querySelector('meta[name="hookline-mode"]')?.content === 'development';

const routes = [
  [/^\/lab\/tools\/?$/, () => toolsPage(main)],
  [/^\/lab\/tools\/new$/, () => toolEditor(main, null)],
  [/^\/lab\/tools\/([^/]+)\/test$/, (id) => toolTestPage(main, id)],
  [/^\/lab\/tools\/([^/]+)$/, (id) => toolEditor(main, id)],
  [/^\/lab\/personas\/?$/, () => personasPage(main)],
  [/^\/lab\/build\/([^/]+)$/, (id) => buildPage(main, id)],
  [/^\/lab\/playground\/?$/, () => playgroundPage(main, null)],
  [/^\/lab\/playground\/([^/]+)$/, (id) => playgroundPage(main, id)],
  [/^\/lab\/sessions\/?$/, () => sessionsPage(main)],
  [/^\/lab\/sessions\/([^/]+)$/, (id) => sessionPage(main, id)],
  [/^\/lab\/llms\/?$/, () => llmsPage(main)],
  [/^\/lab\/llms\/new$/, () => llmEditor(main, null)],
  [/^\/lab\/llms\/([^/]+)$/, (id) => llmEditor(main, id)],
  [/^\/lab\/knowledge\/?$/, () => knowledgePage(main)],
  [/^\/lab\/knowledge\/([^/]+)$/, (id) => folderPage(main, id)],
  [/^\/lab\/settings\/?$/, () => settingsPage(main)],
];

function route() {
  const path = location.pathname;
  nav.hidden = !auth.key();
  for (const a of nav.querySelectorAll('a')) {
    if (path.startsWith(a.getAttribute('href'))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!auth.key()) {
    if (path !== '/lab/sign-in') history.replaceState({ after: path }, '', '/lab/sign-in');
    return signIn();
  }
  if (path === '/lab' || path === '/lab/' || path === '/lab/sign-in') return navigate('/lab/tools', { replace: true });
  for (const [pattern, render] of routes) {
    const m = path.match(pattern);
    if (m) return render(...m.slice(1).map(decodeURIComponent));
  }
  mount(main, h('h1', { text: 'Not found' }), h('p', { text: 'There is no Lab page here.' }));
}

function signIn() {
  document.title = 'Sign in · Hookline Lab';
  const key = field('API key', h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', required: true }),
    { field: 'key', hint: 'An organization API key (hk_…). It stays in this tab only and is forgotten when the tab closes.' });
  const form = h('form', { class: 'card narrow', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title', text: 'Sign in to the Lab' }),
    h('div', { class: 'form-errors', role: 'alert', hidden: true }),
    key.wrap,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await tryKey(form, key.input.value.trim());
  });
  const parts = [form];
  if (development) {
    const create = h('button', { type: 'button', id: 'dev-sign-in' }, 'Create a local organization and key');
    create.addEventListener('click', async () => {
      create.disabled = true;
      try {
        const response = await fetch('/lab/dev/organization', {
          method: 'POST', headers: { 'X-Hookline-Lab': '1' }, credentials: 'omit',
        });
        const body = await response.json();
        if (!response.ok) throw new ApiError(response.status, body);
        await tryKey(form, body.key, `Signed in to “${body.organization.name}” with a new key (${body.keyPrefix}…).`);
      } catch (e) {
        showProblem(form, e);
      } finally {
        create.disabled = false;
      }
    });
    parts.push(h('section', { class: 'card narrow dev' },
      h('h2', { text: 'Development mode' }),
      h('p', { text: 'This server runs with --dev: one click makes an organization for this machine and signs you in with a new key.' }),
      create));
  } else {
    parts.push(h('p', { class: 'hint narrow', text: 'No key yet? Run: hookline api-keys create --org NAME' }));
  }
  mount(main, ...parts);
  key.input.focus();
}

/** Checks a key with a cheap call before keeping it. */
async function tryKey(form, key, message) {
  if (!key) {
    showProblem(form, new ApiError(422, { detail: 'Paste an API key', errors: [{ field: 'key', message: 'is required' }] }));
    return;
  }
  try {
    await api('GET', '/v1/tools?perPage=1', undefined, { key });
  } catch (e) {
    const refused = e.status === 401 ? { detail: 'This key was refused', errors: [{ field: 'key', message: 'is not an active API key' }] } : e.problem;
    showProblem(form, new ApiError(e.status, refused));
    return;
  }
  auth.set(key);
  flash(message || 'Signed in.', 'ok');
  const after = history.state?.after;
  navigate(after && after.startsWith('/lab/') && after !== '/lab/sign-in' ? after : '/lab/tools', { replace: true });
}

document.getElementById('sign-out').addEventListener('click', () => {
  auth.clear();
  flash('Signed out.');
  navigate('/lab/sign-in');
});

window.addEventListener('lab:signed-out', (event) => {
  flash(event.detail, 'error');
  navigate('/lab/sign-in', { replace: true });
});

// Links inside the Lab navigate without a reload; others behave as links do.
document.addEventListener('click', (event) => {
  const a = event.target.closest('a[href]');
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const href = a.getAttribute('href');
  if (!href.startsWith('/lab') || a.hasAttribute('download')) return;
  event.preventDefault();
  const question = href !== location.pathname && leavingQuestion();
  if (question) {
    ask(question, 'Leave').then((leave) => { if (leave) navigate(href); });
    return;
  }
  if (href !== location.pathname) flash('');
  navigate(href);
});

window.addEventListener('popstate', route);
window.addEventListener('lab:navigate', () => {
  route();
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
});
route();
