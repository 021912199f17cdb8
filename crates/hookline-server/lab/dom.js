// Building elements without HTML strings: every text an organization or an LLM wrote goes in
// through textContent (or a text node) and is never parsed as markup, so it can only ever be text.

/** h('button', {class: 'primary', onclick: fn}, 'Save', child...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the content of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix = 'f') {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A labelled input: returns {wrap, input, error}. `field` names the API field for 422s. */
export function field(label, input, { field: path, hint } = {}) {
  input.id = input.id || uid('in');
  const error = h('p', { class: 'field-error', id: `${input.id}-error`, hidden: true });
  const wrap = h('div', { class: 'field', dataset: path ? { field: path } : undefined },
    h('label', { for: input.id, text: label }), input,
    hint ? h('p', { class: 'hint', text: hint }) : null, error);
  input.setAttribute('aria-describedby', error.id);
  return { wrap, input, error };
}

/** JSON pretty-printed for a <pre>. */
export function pretty(value) {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

export function code(value, attrs = {}) {
  return h('pre', { class: 'code', ...attrs }, pretty(value));
}

/**
 * A "12 / 1024 characters" line under `input`, kept current as the person types, so a limit is
 * seen before saving (it turns red past `max`). Counts characters as the server does.
 */
export function counter(input, max) {
  const line = h('p', { class: 'hint counter', 'aria-live': 'polite' });
  const update = () => {
    const n = [...input.value].length;
    line.textContent = `${n.toLocaleString()} / ${max.toLocaleString()} characters${n > max ? `: ${(n - max).toLocaleString()} too many` : ''}`;
    line.classList.toggle('over', n > max);
  };
  input.addEventListener('input', update);
  update();
  return line;
}
