// The Playground's conversation: messages go to the runtime (`POST /v1/sessions/{id}/messages`,
// with the session's client secret, as a browser talks to its own session) and the persona's
// reply streams in from the session's `messageStreamEvent`s. Tool call cards are placed in the
// transcript where they happen. Sending while the persona answers interrupts it (the server
// does that; the page only shows it).
import { h, field } from './dom.js';
import { api } from './api.js';
import { showProblem, clearProblem } from './ui.js';

/**
 * The conversation with `persona` in session `s`: `{el, place(card), follow(eventSource)}`.
 * `cardOf(toolCallId)` is the card of a call, if there is one.
 */
export function chat(s, persona, cardOf) {
  const transcript = h('ol', { class: 'transcript', id: 'conversation', 'aria-label': 'Conversation', 'aria-live': 'polite' },
    h('li', { class: 'empty', text: `Say something to ${persona.name}.` }));
  const bubbles = new Map();
  const status = h('p', { class: 'hint', id: 'turn-status', 'aria-live': 'polite' });
  const message = field('Message', h('textarea', { rows: 2, id: 'message', placeholder: 'What is the status of my order ORD-12345?' }),
    { field: 'content', hint: 'Enter sends, Shift+Enter starts a new line. Sending while the persona answers interrupts it.' });
  const send = h('button', { type: 'submit', class: 'primary', id: 'send-message' }, 'Send');
  const form = h('form', { class: 'card chat-form', novalidate: true },
    h('div', { class: 'form-errors', role: 'alert', hidden: true }), message.wrap,
    h('div', { class: 'actions' }, send, status));

  message.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    const content = message.input.value;
    try {
      const posted = await api('POST', `/v1/sessions/${s.sessionId}/messages`, { content }, { key: s.clientSecret });
      following = true;
      say(posted.id, 'user', content, true, posted.turnId);
      newer(posted.turnId);
      message.input.value = '';
      // (The events may have told the whole turn before this answer came.)
      if (!ended.has(posted.turnId)) turnStatus(posted.turnId, `${persona.name} is thinking…`);
    } catch (err) {
      showProblem(form, err);
    }
    message.input.focus();
  });

  // The status line follows the newest turn only: the end of a turn cut off by a newer message
  // may arrive after the newer turn has begun (or ended). Turn ids are UUIDv7: newer sorts later.
  let latest = '';
  const ended = new Set();
  function newer(turnId) {
    if (turnId && turnId > latest) latest = turnId;
  }
  function turnStatus(turnId, text) {
    if (turnId === latest) status.textContent = text;
  }

  function place(node) {
    transcript.querySelector(':scope > .empty')?.remove();
    transcript.append(node);
    // After a tool card, a reply goes on in a new bubble below it, so the transcript reads in
    // the order things happened. (A message posted meanwhile does not split a reply: the last
    // words of an interrupted one stay with the rest.)
    if (node.classList.contains('tool-card')) for (const li of bubbles.values()) li.dataset.closed = 'true';
  }

  function bubble(id, role, turnId) {
    const last = bubbles.get(id);
    if (last && (role === 'user' || !last.dataset.closed)) return last;
    const li = newBubble(id, role, turnId);
    bubbles.set(id, li);
    place(li);
    return li;
  }

  function newBubble(id, role, turnId) {
    return h('li', { class: `msg ${role}`, dataset: { messageId: id, turnId } },
      h('span', { class: 'who', text: role === 'user' ? 'You' : persona.name }), h('p', { class: 'text' }));
  }

  function markInterrupted(li) {
    li.classList.add('interrupted');
    li.append(h('span', { class: 'badge', text: 'interrupted' }));
  }

  function say(id, role, content, whole, turnId) {
    const li = bubble(id, role, turnId);
    const text = li.querySelector('.text');
    if (whole) text.textContent = content;
    else text.append(content);
    return li;
  }

  function follow(live) {
    live.addEventListener('messageStreamEvent', (m) => {
      const d = JSON.parse(m.data);
      if (d.role === 'user') {
        newer(d.turnId);
        if (!ended.has(d.turnId)) turnStatus(d.turnId, `${persona.name} is thinking…`);
        return void say(d.id, 'user', d.content, true, d.turnId);
      }
      if (d.content) {
        say(d.id, 'persona', d.content, false, d.turnId).classList.add('streaming');
        turnStatus(d.turnId, `${persona.name} is answering… (sending now interrupts)`);
      }
      // A reply ends with endOfSpeech, or is cut off by a newer message: interrupted (then
      // endOfSpeech is false, since the persona did not finish).
      if (!d.endOfSpeech && !d.interrupted) return;
      for (const li of transcript.querySelectorAll('li.msg.persona')) if (li.dataset.messageId === d.id) li.classList.remove('streaming');
      const last = bubbles.get(d.id);
      if (d.interrupted && last) markInterrupted(last);
      ended.add(d.turnId);
      turnStatus(d.turnId, '');
      reconcile(d.turnId);
    });
    live.addEventListener('turnFailed', (m) => {
      const d = JSON.parse(m.data);
      place(h('li', { class: 'msg failed', role: 'alert' },
        h('span', { class: 'who', text: 'The turn failed' }), h('p', { class: 'text', text: `${d.error?.kind}: ${d.error?.message}` })));
      ended.add(d.turnId);
      turnStatus(d.turnId, '');
    });
    // A follow-up the persona scheduled: a line that counts down to it, then says it began.
    const followUps = new Map();
    live.addEventListener('followUpScheduled', (m) => {
      const d = JSON.parse(m.data);
      const when = h('span', { class: 'hint countdown' });
      const li = h('li', { class: 'msg follow-up', dataset: { followUpId: d.followUpId } },
        h('span', { class: 'who', text: 'Follow-up' }), h('p', { class: 'text', text: d.note }), when);
      const due = new Date(d.at);
      const tick = () => {
        const left = Math.max(0, Math.round((due - Date.now()) / 1000));
        when.textContent = left > 0 ? `due in ${left} s (at ${due.toLocaleTimeString()})` : 'due now';
      };
      tick();
      followUps.set(d.followUpId, { li, when, timer: setInterval(tick, 1000) });
      place(li);
    });
    live.addEventListener('followUpStarted', (m) => {
      const d = JSON.parse(m.data);
      const known = followUps.get(d.followUpId);
      if (!known) return;
      clearInterval(known.timer);
      known.when.textContent = 'started: the persona checks back now';
      // The line stays where the follow-up's own turn begins when the conversation is laid out again.
      known.li.dataset.turnId = d.turnId;
    });
    live.addEventListener('sessionEnded', () => {
      for (const { when, timer } of followUps.values()) {
        if (timer) clearInterval(timer);
        if (when.textContent.startsWith('due')) when.textContent = 'cancelled: the session ended';
      }
      // The Playground's status line says it ended; this one (the turn's) goes quiet.
      status.textContent = '';
      message.input.disabled = true;
      send.disabled = true;
    });
  }

  // The stream's order is not quite the conversation's: tool call events are written by the
  // engine's call log, off the turn's path, so the first words after a call can arrive before
  // its card. When a turn's reply is over, the conversation up to that turn is laid out again
  // from the stored messages (each persona message, then the cards of the calls it asked for).
  let reconciling = 0;
  async function reconcile(turnId) {
    reconciling += 1;
    const mine = reconciling;
    let list;
    try { list = await api('GET', `/v1/sessions/${s.sessionId}/messages?perPage=100`, undefined, { key: s.clientSecret }); } catch { return; }
    // Only the newest layout counts: an older answer arriving late would undo it.
    if (mine !== reconciling) return;
    if (list.meta?.next) return; // A long conversation keeps the order it streamed in.
    const end = list.data.findLastIndex((m) => m.turnId === turnId);
    if (end < 0) return;
    const done = list.data.slice(0, end + 1);
    const turns = new Set(done.map((m) => m.turnId));
    const nodes = [];
    const followUps = new Map([...transcript.querySelectorAll('li.follow-up[data-turn-id]')].map((li) => [li.dataset.turnId, li]));
    for (const m of done) {
      const began = followUps.get(m.turnId);
      if (began && !nodes.includes(began)) nodes.push(began);
      if (m.role === 'tool') continue;
      if (m.content) {
        const li = newBubble(m.id, m.role, m.turnId);
        li.dataset.closed = 'true';
        li.querySelector('.text').textContent = m.content;
        if (m.interrupted) markInterrupted(li);
        bubbles.set(m.id, li);
        nodes.push(li);
      }
      for (const c of m.toolCalls || []) {
        const card = cardOf(c.toolCallId);
        if (card) nodes.push(card);
      }
    }
    const spoken = (li) => (li.classList.contains('user') || li.classList.contains('persona')) && turns.has(li.dataset.turnId);
    const rest = [...transcript.children].filter((li) => !nodes.includes(li) && !spoken(li));
    for (const li of bubbles.values()) if (spoken(li)) li.dataset.closed = 'true';
    transcript.replaceChildren(...nodes, ...rest);
  }

  const el = h('section', { class: 'chat', 'aria-labelledby': 'chat-title' },
    h('h2', { id: 'chat-title', text: `Talk to ${persona.name}` }), transcript, form);

  // The newest message or card stays in view, just above the message box, while the person is
  // at the end of the page; not once they scrolled up to read (sending brings them back). Every
  // change of the transcript's size (a word, a card, a card's result) scrolls to the end.
  let following = true;
  let ownScroll = -1;
  const atEnd = () => window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 48;
  function onScroll() {
    if (!el.isConnected) return void window.removeEventListener('scroll', onScroll);
    if (Math.abs(window.scrollY - ownScroll) < 2) return;
    following = atEnd();
  }
  window.addEventListener('scroll', onScroll, { passive: true });
  new ResizeObserver(() => {
    if (!following || !el.isConnected) return;
    window.scrollTo(0, document.documentElement.scrollHeight);
    ownScroll = window.scrollY;
  }).observe(transcript);
  return { el, place, follow, focus: () => message.input.focus() };
}
