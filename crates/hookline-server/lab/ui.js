// Shared page pieces: navigation, the flash line, 422 errors next to their fields, pagers.
import { h, mount } from './dom.js';
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
    const target = fields
      .filter((f) => {
        const p = f.dataset.field;
        return path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`);
      })
      .sort((a, b) => b.dataset.field.length - a.dataset.field.length)[0];
    const slot = target?.querySelector(':scope > .field-error, :scope > td > .field-error');
    if (!slot) {
      items.push(h('li', { text: `${path || 'body'}: ${e.message}` }));
      continue;
    }
    const suffix = path === target.dataset.field ? '' : ` (${path})`;
    slot.append(h('span', { text: `${e.message}${suffix}` }));
    slot.hidden = false;
    target.classList.add('invalid');
    const input = target.querySelector('input, select, textarea');
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
  const first = form.querySelector('.invalid input, .invalid select, .invalid textarea');
  if (first) first.focus();
  return placed;
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

/** Shows a load failure in the page (a 401 has signed out already). */
export function failed(main, error) {
  if (error.status === 401) return;
  mount(main, h('p', { class: 'flash error', text: `Could not load: ${error.message}` }));
}

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
 * Deletes `path` once the person confirms; when personas use it (a 409 naming them), asks again
 * with `inUse(names)` and deletes with `?force=true`. Returns whether it is gone.
 */
export async function confirmDelete(path, what, inUse) {
  if (!confirm(`Delete the ${what}?`)) return false;
  try {
    await del(path);
  } catch (e) {
    if (e.status !== 409 || !Array.isArray(e.problem.personas)) {
      flash(`Could not delete: ${e.message}`, 'error');
      return false;
    }
    if (!confirm(inUse(e.problem.personas.map((p) => p.name).join(', ')))) return false;
    try { await del(`${path}?force=true`); } catch (e2) {
      flash(`Could not delete: ${e2.message}`, 'error');
      return false;
    }
  }
  return true;
}
