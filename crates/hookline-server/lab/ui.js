// Shared page pieces: navigation, the flash line, 422 errors next to their fields, pagers.
import { h, mount, uid } from './dom.js';
import { del } from './api.js';

/** Client-side navigation (the server answers the same page for every /lab/* path). */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState({}, '', path);
  else history.pushState({}, '', path);
  window.dispatchEvent(new Event('lab:navigate'));
}

export function flash(message, kind = 'info') {
  const el = document.getElementById('flash');
  mount(el, message ? h('p', { class: `flash ${kind}`, text: message }) : null);
}

/** A link that navigates inside the Lab. */
export function link(path, text, attrs = {}) {
  return h('a', { href: path, ...attrs }, text);
}

/**
 * Shows an API error on a form: each field error next to the visible field whose `data-field`
 * is the longest prefix of its path (`parameters.properties.orderId.type` lands on the orderId
 * row; on the JSON Schema tab, where that row is hidden, on the Parameters editor itself). The
 * summary at the top lists every error, each placed one with a link to its field; a field's
 * error goes away as soon as the field is edited. Returns how many were placed at a field.
 */
export function showProblem(form, error) {
  clearProblem(form);
  const summary = form.querySelector('.form-errors');
  const fields = [...form.querySelectorAll('[data-field]')].filter((f) => !f.closest('[hidden]'));
  const items = [];
  let placed = 0;
  for (const e of error.errors || []) {
    const path = e.field || '';
    const place = placeOf(e);
    const target = fields
      .filter((f) => {
        const p = f.dataset.field;
        return place === p || place.startsWith(`${p}.`) || place.startsWith(`${p}[`);
      })
      .sort((a, b) => b.dataset.field.length - a.dataset.field.length)[0];
    const slot = target?.querySelector(':scope > .field-error, :scope > td > .field-error');
    if (!slot) {
      items.push(h('li', { text: `${path || 'body'}: ${e.message}` }));
      continue;
    }
    const suffix = place === target.dataset.field ? '' : ` (${path})`;
    slot.append(h('span', { text: `${e.message}${suffix}` }));
    slot.hidden = false;
    target.classList.add('invalid');
    const input = visibleInput(target) ?? revealTab(target);
    input?.setAttribute('aria-invalid', 'true');
    const item = h('li', { dataset: { field: target.dataset.field } },
      h('a', { href: '#', class: 'to-field', onclick: (ev) => { ev.preventDefault(); input?.focus(); } }, path || 'body'),
      `: ${e.message}`);
    items.push(item);
    if (!target.fixListener) {
      target.fixListener = () => fixed(form, target);
      target.addEventListener('input', target.fixListener);
      target.addEventListener('change', target.fixListener);
    }
    placed += 1;
  }
  if (summary) {
    mount(summary, h('p', { text: error.message || 'The request was refused' }),
      items.length ? h('ul', {}, items) : null);
    summary.hidden = false;
  }
  const first = visibleInput(form.querySelector('.invalid'));
  if (first) first.focus();
  return placed;
}

/**
 * Where an error belongs: the validator of arguments says a missing property at the object that
 * lacks it (`arguments`: `"orderId" is a required property`), but the person's field is the
 * property's own (`arguments.orderId`), empty.
 */
function placeOf(e) {
  const path = e.field || '';
  const missing = /^"(.+)" is a required property$/.exec(e.message || '');
  return missing ? (path ? `${path}.${missing[1]}` : missing[1]) : path;
}

/**
 * The first input of `el` the person can see: the Parameters editor holds both tabs' inputs,
 * and focusing one on the hidden tab does nothing (its error's link would lead nowhere).
 */
function visibleInput(el) {
  return [...(el?.querySelectorAll('input, select, textarea') ?? [])].find((i) => !i.closest('[hidden]')) ?? null;
}

/**
 * A field whose inputs are all on a tab that is not open (a schema the Properties table cannot
 * show is edited on the JSON Schema tab): that tab is opened, and its first input answered.
 */
function revealTab(el) {
  for (const tab of el.querySelectorAll('[role=tab]')) {
    const panel = el.querySelector(`[role=tabpanel][aria-labelledby="${tab.id}"]`);
    if (panel?.hidden && panel.querySelector('input, select, textarea')) {
      tab.click();
      return visibleInput(el);
    }
  }
  return null;
}

/** A field edited after an error: its error (and its line in the summary) goes away. */
function fixed(form, target) {
  const slot = target.querySelector(':scope > .field-error, :scope > td > .field-error');
  if (!target.classList.contains('invalid')) return;
  target.classList.remove('invalid');
  target.querySelector('[aria-invalid]')?.removeAttribute('aria-invalid');
  if (slot) { slot.replaceChildren(); slot.hidden = true; }
  const summary = form.querySelector('.form-errors');
  if (!summary) return;
  for (const li of summary.querySelectorAll('li[data-field]')) if (li.dataset.field === target.dataset.field) li.remove();
  if (!summary.querySelector('li')) { summary.replaceChildren(); summary.hidden = true; }
}

export function clearProblem(form) {
  for (const slot of form.querySelectorAll('.field-error')) {
    slot.replaceChildren();
    slot.hidden = true;
  }
  for (const f of form.querySelectorAll('.invalid')) f.classList.remove('invalid');
  for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
  const summary = form.querySelector('.form-errors');
  if (summary) { summary.replaceChildren(); summary.hidden = true; }
}

/** "Page 2 of 5" with previous/next buttons, from a list's `meta`. */
export function pager(meta, go) {
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    h('button', { type: 'button', disabled: !meta.prev, onclick: () => go(meta.prev) }, 'Previous'),
    h('span', { text: `Page ${meta.currentPage} of ${Math.max(meta.lastPage, 1)} · ${meta.total} in all` }),
    h('button', { type: 'button', disabled: !meta.next, onclick: () => go(meta.next) }, 'Next'));
}

/** A page heading with optional actions on the right. */
export function heading(title, ...actions) {
  return h('div', { class: 'page-head' }, h('h1', { text: title }), h('div', { class: 'actions' }, actions));
}

/** The list page a page belongs to (`/lab/build/…` → `/lab/personas`): where "back" goes. */
function listOf(path) {
  const section = path.split('/')[2] || 'tools';
  return `/lab/${section === 'build' ? 'personas' : section}`;
}

/** Shows a load failure in the page, with a way on (a 401 has signed out already). */
export function failed(main, error) {
  if (error.status === 401) return;
  const here = location.pathname + location.search;
  const back = listOf(location.pathname);
  mount(main, h('p', { class: 'flash error', text: `Could not load: ${error.message}` }),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'retry', onclick: () => navigate(here, { replace: true }) }, 'Try again'),
      back !== location.pathname ? link(back, `← Back to ${back.split('/')[2]}`) : null));
}

/**
 * What leaving the page would lose, if anything: a page with unsaved changes sets a function
 * returning the question to ask (or null), and links inside the Lab ask it before they go.
 */
let leaveGuard = null;
let guardUnload = true;
/** `unload: false`: a reload or a closed tab goes without the browser's own prompt. */
export function guardLeaving(question, { unload = true } = {}) { leaveGuard = question; guardUnload = unload; }
export function leavingQuestion() { return leaveGuard ? leaveGuard() : null; }
window.addEventListener('lab:navigate', () => { leaveGuard = null; });
window.addEventListener('beforeunload', (e) => { if (guardUnload && leavingQuestion()) e.preventDefault(); });

/** A Copy button for `value()` (a key shown once, a signing secret). */
export function copyButton(value, label) {
  const button = h('button', { type: 'button', class: 'copy', 'aria-label': label }, 'Copy');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(value());
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Could not copy: select it and press Ctrl+C';
    }
  });
  return button;
}

/** `1 file`, `3 files`: a count with its noun, never `file(s)`. */
export const counted = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** What the API shows of a stored secret (a header value, an LLM's key): `••••` and its end. */
export const isPreview = (value) => String(value ?? '').startsWith('••••');

/**
 * An input for a secret with a Show/Hide button: typed text is hidden, a saved value's masked
 * preview (which the API sends instead of the secret) is shown as it is.
 */
export function secretInput(value, attrs = {}) {
  const input = h('input', { ...attrs, type: isPreview(value) ? 'text' : 'password', value: value ?? '', spellcheck: 'false', autocomplete: 'off' });
  const reveal = h('button', { type: 'button', class: 'link', 'aria-pressed': 'false' }, 'Show');
  // A saved value's preview is masked already: nothing to hide. Typing a new value hides it.
  reveal.hidden = isPreview(value);
  input.addEventListener('input', () => {
    if (!reveal.hidden || isPreview(input.value) || input.dataset.plain === 'true') return;
    input.type = 'password';
    reveal.hidden = false;
  });
  reveal.addEventListener('click', () => {
    const shown = input.type === 'text';
    input.type = shown ? 'password' : 'text';
    reveal.textContent = shown ? 'Show' : 'Hide';
    reveal.setAttribute('aria-pressed', String(!shown));
  });
  return { input, reveal };
}

/**
 * Asks in the page, at the top, whether to go on (not a native dialog, which names nothing and
 * blocks the page): resolves true for `yes`, false for Cancel. The safe choice has the focus.
 */
export function ask(question, yes) {
  return new Promise((resolve) => {
    const el = document.getElementById('flash');
    const text = h('p', { id: uid('ask'), text: question });
    const done = (answer) => { mount(el); resolve(answer); };
    const go = h('button', { type: 'button', class: 'danger', id: 'confirm-yes', onclick: () => done(true) }, yes);
    const cancel = h('button', { type: 'button', id: 'confirm-no', onclick: () => done(false) }, 'Cancel');
    mount(el, h('div', { class: 'flash confirm', role: 'alertdialog', 'aria-labelledby': text.id }, text, h('div', { class: 'actions' }, go, cancel)));
    // Leaving the page answers no.
    window.addEventListener('lab:navigate', () => resolve(false), { once: true });
    el.scrollIntoView({ block: 'nearest' });
    cancel.focus();
  });
}

/**
 * Deletes `path` once the person confirms in the page. `users()` names the personas that use it
 * (asked first, so the question names them); `effect` says what deleting does to them. If others
 * started using it meanwhile (a 409 naming them), it asks again with their names.
 */
export async function confirmDelete(path, what, users, effect) {
  let names = [];
  try { names = await users(); } catch { /* asked without names; a 409 names them */ }
  const question = (list) => (list.length ? `Delete the ${what}? It is used by ${list.join(', ')}: ${effect}.` : `Delete the ${what}?`);
  if (!(await ask(question(names), 'Delete'))) return false;
  try {
    await del(names.length ? `${path}?force=true` : path);
  } catch (e) {
    if (e.status !== 409 || !Array.isArray(e.problem.personas)) {
      flash(`Could not delete: ${e.message}`, 'error');
      return false;
    }
    if (!(await ask(question(e.problem.personas.map((p) => p.name)), 'Delete'))) return false;
    try { await del(`${path}?force=true`); } catch (e2) {
      flash(`Could not delete: ${e2.message}`, 'error');
      return false;
    }
  }
  return true;
}
