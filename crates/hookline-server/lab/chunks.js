// Knowledge search results as people read them: each chunk ranked, with where it came from
// (file, page, heading path, row or line) and its score, then its text. Used by the Knowledge
// page's search box and by a knowledge tool's card in the Playground and a session's page.
import { h } from './dom.js';

/** Where in its document a chunk is: `guide.md · Returns > Refunds`. */
export function sourceOf(result) {
  const s = result.source || {};
  const where = s.page != null ? `page ${s.page}` : s.heading ? s.heading : s.row != null ? `row ${s.row}` : s.line != null ? `line ${s.line}` : null;
  return where ? `${result.filename} · ${where}` : result.filename;
}

/** Whether `value` is a knowledge search's answer (`{"results": [{content, filename, ...}]}`). */
export function isSearchResult(value) {
  return !!value && Array.isArray(value.results) && value.results.every((r) => r && typeof r.content === 'string');
}

/** The ranked chunks of a search's answer, or a line saying none was found. */
export function chunkList(value) {
  if (!value.results.length) return h('p', { class: 'empty', text: 'No chunk matches.' });
  return h('ol', { class: 'chunks' }, value.results.map((r, i) => h('li', { class: 'chunk' },
    h('div', { class: 'chunk-head' },
      h('span', { class: 'rank', text: `#${i + 1}` }),
      h('span', { class: 'mono chunk-source', text: sourceOf(r) }),
      typeof r.score === 'number' ? h('span', { class: 'hint', text: `score ${r.score.toFixed(3)}` }) : null),
    h('p', { class: 'chunk-text', text: r.content }))));
}
