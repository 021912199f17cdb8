// The parameters editor: a table of properties (name, type, description, enum, required) for
// the common case, and a raw JSON Schema tab for the rest. The schema object is the truth; the
// table is a view of it that keeps any keyword it does not show (items, format, ...).
import { h, mount, uid } from './dom.js';

const TYPES = ['string', 'number', 'integer', 'boolean', 'array', 'object'];
const SHOWN = new Set(['type', 'description', 'enum']);

/** Whether the table can show `schema` without losing anything at the root. */
function tabular(schema) {
  if (!schema || typeof schema !== 'object' || schema.type !== 'object') return false;
  const extra = Object.keys(schema).filter((k) => !['type', 'properties', 'required', 'additionalProperties'].includes(k));
  if (extra.length) return false;
  return Object.values(schema.properties || {}).every((p) => p && typeof p === 'object' && (p.type === undefined || TYPES.includes(p.type)));
}

/**
 * A parameters editor for the field `path` (`parameters` or `queryParameters`).
 * Returns {el, value() (the schema or null, throws on bad JSON), set(schema)}.
 */
export function schemaEditor(label, path, initial, { optional = false } = {}) {
  let schema = initial ?? (optional ? null : { type: 'object', properties: {}, required: [] });
  let tab = 'table';
  const rows = h('tbody');
  const raw = h('textarea', { id: uid('schema'), rows: 12, spellcheck: 'false', class: 'mono' });
  const rawError = h('p', { class: 'field-error', hidden: true });
  const tableTab = h('button', { type: 'button', role: 'tab', id: uid('tab') }, 'Properties');
  const rawTab = h('button', { type: 'button', role: 'tab', id: uid('tab') }, 'JSON Schema');
  const tablePanel = h('div', { role: 'tabpanel', 'aria-labelledby': tableTab.id });
  const rawPanel = h('div', { role: 'tabpanel', 'aria-labelledby': rawTab.id },
    h('label', { for: raw.id, text: `${label} as JSON Schema` }), raw, rawError);
  const error = h('p', { class: 'field-error', hidden: true });
  const el = h('fieldset', { class: 'schema-editor field', dataset: { field: path } },
    h('legend', { text: label }),
    h('div', { role: 'tablist', 'aria-label': `${label} editor` }, tableTab, rawTab),
    tablePanel, rawPanel, error);

  function propertyRow(name, prop, required) {
    const nameIn = h('input', { value: name, 'aria-label': 'Property name', spellcheck: 'false', class: 'mono' });
    const typeIn = h('select', { 'aria-label': 'Type' }, TYPES.map((t) => h('option', { value: t, text: t })));
    typeIn.value = prop.type || 'string';
    const descIn = h('input', { value: prop.description || '', 'aria-label': 'Description' });
    const enumIn = h('input', { value: Array.isArray(prop.enum) ? prop.enum.join(', ') : '', 'aria-label': 'Allowed values (comma-separated)', placeholder: 'a, b, c' });
    const reqIn = h('input', { type: 'checkbox', checked: required, 'aria-label': 'Required' });
    const row = h('tr', { class: 'field', dataset: { field: `${path}.properties.${name}` } },
      h('td', {}, nameIn), h('td', {}, typeIn), h('td', {}, descIn), h('td', {}, enumIn),
      h('td', { class: 'center' }, reqIn),
      h('td', {}, h('button', { type: 'button', class: 'link danger', 'aria-label': `Remove property ${name || ''}`.trim(), onclick: () => { row.remove(); sync(); } }, 'Remove')),
      h('td', { class: 'field-error-cell' }, h('p', { class: 'field-error', hidden: true })));
    row.extra = Object.fromEntries(Object.entries(prop).filter(([k]) => !SHOWN.has(k)));
    row.read = () => {
      const out = { type: typeIn.value, ...row.extra };
      if (descIn.value.trim()) out.description = descIn.value;
      const values = enumIn.value.split(',').map((v) => v.trim()).filter(Boolean);
      const numeric = (typeIn.value === 'number' || typeIn.value === 'integer') && values.every((v) => Number.isFinite(Number(v)));
      // Values that are not numbers are sent as typed, so the server can name the mistake.
      if (values.length) out.enum = numeric ? values.map(Number) : values;
      return { name: nameIn.value.trim(), prop: out, required: reqIn.checked };
    };
    for (const i of [nameIn, typeIn, descIn, enumIn, reqIn]) i.addEventListener('change', () => { row.dataset.field = `${path}.properties.${nameIn.value.trim()}`; sync(); });
    return row;
  }

  function sync() {
    const next = { ...(schema && typeof schema === 'object' ? schema : {}), type: 'object', properties: {} };
    const required = [];
    for (const row of rows.children) {
      const { name, prop, required: r } = row.read();
      if (!name) continue;
      next.properties[name] = prop;
      if (r) required.push(name);
    }
    if (required.length) next.required = required; else delete next.required;
    schema = next;
  }

  function renderTable() {
    const header = h('thead', {}, h('tr', {}, ['Name', 'Type', 'Description', 'Enum', 'Required', ''].map((t) => h('th', { scope: 'col', text: t }))));
    if (schema === null) {
      mount(tablePanel, h('p', { class: 'hint', text: 'None.' }),
        h('button', { type: 'button', onclick: () => { schema = { type: 'object', properties: {} }; renderTable(); } }, `Add ${label.toLowerCase()}`));
      return;
    }
    if (!tabular(schema)) {
      mount(tablePanel, h('p', { class: 'hint', text: 'This schema uses more than the properties table shows: edit it in the JSON Schema tab.' }));
      return;
    }
    rows.replaceChildren();
    const req = new Set(schema.required || []);
    for (const [name, prop] of Object.entries(schema.properties || {})) rows.append(propertyRow(name, prop, req.has(name)));
    const add = h('button', { type: 'button', class: 'add-property' }, 'Add property');
    add.addEventListener('click', () => {
      const row = propertyRow('', { type: 'string' }, false);
      rows.append(row);
      row.querySelector('input').focus();
    });
    mount(tablePanel, h('div', { class: 'table-wrap' }, h('table', { class: 'properties' }, header, rows)), add,
      optional ? h('button', { type: 'button', class: 'link', onclick: () => { schema = null; renderTable(); } }, `Remove ${label.toLowerCase()}`) : null);
  }

  function show(which) {
    if (which === 'raw' && tab === 'table') raw.value = schema === null ? '' : JSON.stringify(schema, null, 2);
    if (which === 'table' && tab === 'raw' && !readRaw()) return;
    tab = which;
    tableTab.setAttribute('aria-selected', String(which === 'table'));
    rawTab.setAttribute('aria-selected', String(which === 'raw'));
    tablePanel.hidden = which !== 'table';
    rawPanel.hidden = which !== 'raw';
    if (which === 'table') renderTable();
  }

  function readRaw() {
    rawError.hidden = true;
    const text = raw.value.trim();
    if (!text) { schema = optional ? null : { type: 'object', properties: {} }; return true; }
    try {
      schema = JSON.parse(text);
      return true;
    } catch (e) {
      rawError.textContent = `Not valid JSON: ${e.message}`;
      rawError.hidden = false;
      return false;
    }
  }

  tableTab.addEventListener('click', () => show('table'));
  rawTab.addEventListener('click', () => show('raw'));
  show('table');

  return {
    el,
    value() {
      if (tab === 'raw' && !readRaw()) throw new Error(`${label}: not valid JSON`);
      if (tab === 'table' && tabular(schema)) sync();
      return schema;
    },
    set(next) {
      schema = next ?? (optional ? null : { type: 'object', properties: {} });
      tab = 'table';
      show('table');
    },
  };
}

/**
 * An arguments form generated from a tool's schema: one labelled input per property.
 * Returns {el, value()} where value() gives the arguments object (throws naming a bad field).
 */
export function argumentsForm(schema) {
  const props = Object.entries(schema?.properties || {});
  const required = new Set(schema?.required || []);
  const readers = [];
  const el = h('div', { class: 'arguments' });
  if (!props.length) el.append(h('p', { class: 'hint', text: 'This tool takes no arguments.' }));
  for (const [name, prop] of props) {
    const id = uid('arg');
    let input;
    let read;
    if (Array.isArray(prop.enum)) {
      input = h('select', { id }, h('option', { value: '', text: '(none)' }), prop.enum.map((v) => h('option', { value: JSON.stringify(v), text: String(v) })));
      read = () => (input.value === '' ? undefined : JSON.parse(input.value));
    } else if (prop.type === 'boolean') {
      input = h('select', { id }, h('option', { value: '', text: '(none)' }), h('option', { value: 'true', text: 'true' }), h('option', { value: 'false', text: 'false' }));
      read = () => (input.value === '' ? undefined : input.value === 'true');
    } else if (prop.type === 'number' || prop.type === 'integer') {
      input = h('input', { id, type: 'number', step: prop.type === 'integer' ? '1' : 'any' });
      read = () => (input.value === '' ? undefined : Number(input.value));
    } else if (prop.type === 'array' || prop.type === 'object') {
      input = h('textarea', { id, rows: 3, class: 'mono', placeholder: prop.type === 'array' ? '["a", "b"]' : '{"key": "value"}' });
      read = () => {
        if (!input.value.trim()) return undefined;
        try { return JSON.parse(input.value); } catch { throw new Error(`${name}: not valid JSON`); }
      };
    } else {
      input = h('input', { id, type: 'text', spellcheck: 'false' });
      read = () => (input.value === '' ? undefined : input.value);
    }
    input.name = name;
    el.append(h('div', { class: 'field', dataset: { field: `arguments.${name}` } },
      h('label', { for: id }, name, required.has(name) ? h('span', { class: 'req', text: ' (required)' }) : null,
        prop.type ? h('span', { class: 'type', text: ` ${prop.type}` }) : null),
      input,
      prop.description ? h('p', { class: 'hint', text: prop.description }) : null,
      h('p', { class: 'field-error', hidden: true })));
    readers.push([name, read]);
  }
  return {
    el,
    value() {
      const out = {};
      for (const [name, read] of readers) {
        const v = read();
        if (v !== undefined) out[name] = v;
      }
      return out;
    },
  };
}
