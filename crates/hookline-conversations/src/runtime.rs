//! Turns: a user message in, the persona's answer out. One turn runs at a time per session on
//! every instance sharing the database (a lease on the session's turn, `session_turns`), and a
//! newer user message interrupts the running turn wherever it was posted (the event hub's
//! announcement of a posted message wakes the turn, which then sees the newer message in the
//! table).
//!
//! A turn reads the conversation once, when it starts, and keeps it for its later rounds (adding
//! what it stores); its own writes go through a [`TurnWriter`] so that nothing on the way from
//! the LLM's stream to a tool call or the next delta waits for a commit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::StreamExt;
use serde_json::{json, Value};
use sqlx::PgPool;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use hookline_core::http::CoreState;
use hookline_core::hub::{self, Note};
use hookline_core::repo::events as stored_events;
use hookline_core::repo::llms::{self, StoredLlm};
use hookline_core::repo::messages::{self, Message, ROLE_PERSONA, ROLE_TOOL, ROLE_USER};
use hookline_core::repo::sessions::Session;
use hookline_core::session_end;
use hookline_core::StoreError;
use hookline_engine::{CallRequest, Engine};
use hookline_schema::definition::{SystemToolName, ToolDefinition};
use hookline_schema::{ExportFormat, Provider};

use crate::events::{self, Speech, MESSAGE_STREAM_EVENT, TOOL_CALL_REFUSED};
use crate::llm::{self, LlmFailure, ReadBounds, Target};
use crate::message_rate::MessageRate;
use crate::provider::{AskedCall, Delta, Msg, Refusal, RequestParts};
use crate::results::{self, CallEnd};
use crate::turn_lease::{Leases, TurnLease};
use crate::views::{ReplyView, TurnCall, TurnError};
use crate::writer::{Row, TurnWriter};

/// Rounds of LLM requests in one turn (each round may run tools).
pub const MAX_ROUNDS: usize = 8;
/// How many of the most recent messages the LLM is sent.
pub const HISTORY_WINDOW: i64 = 100;

/// The conversation runtime of this instance.
pub struct Conversations {
    pub(crate) core: CoreState,
    pub(crate) engine: Arc<Engine>,
    /// The newest user message's seq per session, for turns running here to notice at once.
    latest: Mutex<HashMap<Uuid, watch::Sender<i64>>>,
    /// Writes a turn makes (the persona's messages, tool results, speech) commit without waiting
    /// for the disk, as the engine's call log does: a crash may lose the last moments of a
    /// conversation, never their order. The user's message is written durably.
    pub(crate) fast: PgPool,
    /// The sessions' turns running here, given back at once when the instance begins to stop.
    pub(crate) leases: Leases,
    /// How fast each session may post messages (here).
    pub(crate) message_rate: MessageRate,
}

/// How a turn ended, as `?wait=true` reports it.
#[derive(Debug, Clone, Default)]
pub struct TurnReport {
    pub reply: Option<ReplyView>,
    pub tool_calls: Vec<TurnCall>,
    pub session_ended: bool,
    pub error: Option<TurnError>,
}

impl TurnReport {
    /// A newer user message came before this turn could begin: its own turn answers.
    pub(crate) fn overtaken(&self) -> bool {
        self.reply.is_none()
            && self.tool_calls.is_empty()
            && self.error.as_ref().is_some_and(|e| e.message == OVERTAKEN)
    }
}

/// A user message accepted for a turn.
pub struct Accepted {
    pub message_id: Uuid,
    pub turn_id: Uuid,
    pub seq: i64,
}

impl Conversations {
    pub fn new(core: CoreState, engine: Arc<Engine>) -> Arc<Self> {
        let fast = hookline_core::db::fast_pool(&core.pool, core.settings.database.fast_pool_size);
        let turns = &core.settings.turns;
        let message_rate = MessageRate::new(turns.messages_per_second, turns.message_burst);
        Arc::new(Self {
            message_rate,
            core,
            engine,
            latest: Mutex::default(),
            fast,
            leases: Leases::default(),
        })
    }

    /// Gives back the sessions' turns running here, for a process that is stopping: their next
    /// turns (on another instance) need not wait for the leases to run out. The turns themselves
    /// run on until the process ends.
    pub async fn give_back_turns(&self) {
        self.leases.give_back_all(&self.fast).await;
    }

    fn pool(&self) -> &PgPool {
        &self.core.pool
    }

    /// Stores the user's message with its two events (`messageStreamEvent`, then
    /// `messageHistoryUpdated`) in one durable statement, tells turns running here at once, and
    /// announces it as a posted message (which interrupts a turn running on any instance).
    /// `None` when the session is no longer active: nothing was stored.
    pub async fn accept(
        &self,
        session_id: Uuid,
        content: &str,
    ) -> Result<Option<Accepted>, StoreError> {
        let message_id = Uuid::now_v7();
        let turn_id = Uuid::now_v7();
        let speech = Speech {
            id: message_id,
            role: ROLE_USER,
            content,
            end_of_speech: true,
            interrupted: false,
            turn_id,
        };
        let timestamp = serde_json::to_value(chrono::Utc::now()).unwrap_or_default();
        let Some(stored) = messages::accept_user(
            self.pool(),
            &messages::UserMessage {
                id: message_id,
                session_id,
                turn_id,
                content,
                stream_event: &events::stream_data(&speech).to_string(),
                timestamp: timestamp.as_str().unwrap_or_default(),
            },
        )
        .await?
        else {
            return Ok(None);
        };
        self.note_latest(session_id, stored.seq);
        // Announced after the durable commit (Postgres serialises the commits of notifying
        // transactions, which would queue every such commit behind the disk), and off the
        // turn's path: the turn here was told above; streams and turns elsewhere hear it a
        // round trip later.
        let pool = self.pool().clone();
        let notes = hub::mark_posted(&[format!("{session_id}:{}", stored.last_event)]);
        tokio::spawn(async move {
            if let Err(e) = stored_events::notify(&pool, &notes).await {
                // Streams still find the events on their next look at the table; a turn
                // running on another instance misses this interruption.
                tracing::warn!(error = %e, "could not announce a user message");
            }
        });
        Ok(Some(Accepted {
            message_id,
            turn_id,
            seq: stored.seq,
        }))
    }

    fn note_latest(&self, session_id: Uuid, seq: i64) {
        let mut map = self.latest.lock().expect("never poisoned");
        let sender = map.entry(session_id).or_insert_with(|| watch::channel(0).0);
        sender.send_if_modified(|current| {
            let newer = seq > *current;
            if newer {
                *current = seq;
            }
            newer
        });
    }

    pub(crate) fn watch_latest(&self, session_id: Uuid) -> watch::Receiver<i64> {
        let mut map = self.latest.lock().expect("never poisoned");
        map.entry(session_id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    fn forget(&self, session_id: Uuid) {
        let mut map = self.latest.lock().expect("never poisoned");
        if map
            .get(&session_id)
            .is_some_and(|s| s.receiver_count() == 0)
        {
            map.remove(&session_id);
        }
    }

    /// Runs the turn of the user message `accepted`: waits for the session's running turn to end,
    /// then answers, unless a newer message has come meanwhile (its own turn answers both).
    pub async fn run_turn(
        self: Arc<Self>,
        session: Session,
        llm: StoredLlm,
        accepted: Accepted,
    ) -> TurnReport {
        let session_id = session.id;
        let latest = self.watch_latest(session_id);
        // Subscribed before the lock is tried: a message posted on another instance once the
        // lock's look at the table is done still reaches the turn.
        let notes = self.core.hub.subscribe();
        let taken = TurnLease::take(
            &self.fast,
            &self.leases,
            session_id,
            accepted.seq,
            latest,
            None,
        );
        let report = match taken.await {
            Ok(Some(lease)) => {
                let report = self
                    .turn(&session, llm, &accepted, notes, lease.lost(), None)
                    .await;
                lease.give_back().await;
                report
            }
            Ok(None) => overtaken(),
            Err(e) => {
                tracing::error!(error = %e, %session_id, "could not take the session's turn");
                internal_failure()
            }
        };
        self.after_turn(session_id, accepted.turn_id, &report).await;
        report
    }

    /// What follows every turn: a failure other than an interruption is told on the stream
    /// (an overtaken message is answered by the newer message's turn: nothing failed).
    pub(crate) async fn after_turn(&self, session_id: Uuid, turn_id: Uuid, report: &TurnReport) {
        if let Some(TurnError { kind, message }) =
            report.error.as_ref().filter(|e| e.kind != "interrupted")
        {
            if let Err(e) =
                events::turn_failed(&self.fast, session_id, turn_id, kind, message).await
            {
                tracing::warn!(error = %e, "could not record turnFailed");
            }
        }
        self.forget(session_id);
    }

    /// Runs a turn under a taken lease: for the user message `accepted`, or for a due follow-up
    /// (`follow_up`: its note; `accepted` then names the newest user message, none new).
    pub(crate) async fn turn(
        &self,
        session: &Session,
        llm: StoredLlm,
        accepted: &Accepted,
        notes: broadcast::Receiver<Note>,
        lease_lost: watch::Receiver<bool>,
        follow_up: Option<&str>,
    ) -> TurnReport {
        // Watched before the conversation is read: a newer message stored after the read is
        // noticed by the watch, one stored before it is in what is read.
        let watch = Interrupts {
            pool: self.core.pool.clone(),
            session_id: session.id,
            mine: accepted.seq,
            uninterruptible: false,
            latest: self.watch_latest(session.id),
            notes,
            look: None,
            lease_lost,
        };
        let history = match messages::recent(&self.fast, session.id, HISTORY_WINDOW).await {
            Ok(mut history) => {
                let newest = history.len().saturating_sub(1);
                trim_to_bytes(&mut history, self.core.settings.turns.history_bytes, newest);
                history
            }
            Err(e) => {
                tracing::error!(error = %e, "could not read the conversation");
                return internal_failure();
            }
        };
        // Overtaken while waiting for the lock: the newer message's turn answers.
        if history
            .iter()
            .any(|m| m.role == ROLE_USER && m.seq > accepted.seq)
        {
            return overtaken();
        }
        let api_key = match llm.open_key(&self.core.settings.secrets) {
            Ok(key) => key,
            Err(e) => {
                tracing::error!(error = %e, llm_id = %llm.id, "an LLM key did not open");
                return internal_failure();
            }
        };
        let mut turn = Turn {
            runtime: self,
            session,
            target: Target { llm, api_key },
            accepted,
            history,
            writer: TurnWriter::start(self.fast.clone(), session.id),
            reply_id: Uuid::now_v7(),
            reply_text: String::new(),
            report: TurnReport::default(),
            end_call: false,
            calls_asked: 0,
            reply_chars: 0,
            follow_up,
            watch,
        };
        turn.run().await;
        turn.report
    }
}

const OVERTAKEN: &str = "a newer message was posted";

fn overtaken() -> TurnReport {
    TurnReport {
        error: Some(TurnError::new("interrupted", OVERTAKEN)),
        ..TurnReport::default()
    }
}

fn internal_failure() -> TurnReport {
    TurnReport {
        error: Some(TurnError::new(
            "internal",
            "the turn could not run on our side; it has been logged",
        )),
        ..TurnReport::default()
    }
}

/// A running turn's state.
struct Turn<'a> {
    runtime: &'a Conversations,
    session: &'a Session,
    target: Target,
    accepted: &'a Accepted,
    /// The conversation as the LLM is shown it: read when the turn starts, then extended with
    /// what each round stores (its last [`HISTORY_WINDOW`] messages).
    history: Vec<Message>,
    /// The turn's writes, in order, committed off the turn's path.
    writer: TurnWriter,
    /// The persona's reply: every text delta of the turn carries this id.
    reply_id: Uuid,
    reply_text: String,
    report: TurnReport,
    /// `end_call` ran: the session ends once the reply is complete.
    end_call: bool,
    /// Calls the LLM asked for in this turn so far (run or refused).
    calls_asked: usize,
    /// Characters of `reply_text`.
    reply_chars: usize,
    /// The note of the follow-up this turn runs for (no user message began it), told to the LLM
    /// where the turn begins.
    follow_up: Option<&'a str>,
    watch: Interrupts,
}

/// Word of newer user messages, here or on another instance.
struct Interrupts {
    pool: PgPool,
    session_id: Uuid,
    /// The seq of the message this turn answers.
    mine: i64,
    /// A tool with `disableInterruptions` ran: a newer message waits for this turn to end.
    uninterruptible: bool,
    latest: watch::Receiver<i64>,
    notes: broadcast::Receiver<Note>,
    /// A look at the table a note asked for, kept across calls: [`Self::interrupted`] is raced
    /// against the LLM's stream and dropped at its next word, the note already taken.
    look: Option<BoxFuture<'static, i64>>,
    /// The session's turn was taken over (this turn's lease ran out): stop.
    lease_lost: watch::Receiver<bool>,
}

/// How one round's stream ended.
enum RoundEnd {
    Done,
    Interrupted,
    Failed(LlmFailure),
    /// The reply passed a bound of the turn (its text, or its events): what was said is kept.
    TooLong(String),
}

impl Turn<'_> {
    async fn run(&mut self) {
        for _ in 0..MAX_ROUNDS {
            match self.round().await {
                Ok(true) => continue,
                Ok(false) => return self.finish(false).await,
                Err(RoundEnd::Interrupted) => return self.finish(true).await,
                Err(RoundEnd::Failed(f)) => {
                    self.report.error = Some(TurnError::new(f.kind(), f.to_string()));
                    return self.finish(false).await;
                }
                Err(RoundEnd::TooLong(message)) => {
                    self.report.error = Some(TurnError::new("reply_too_long", message));
                    return self.finish(false).await;
                }
                Err(RoundEnd::Done) => return self.finish(false).await,
            }
        }
        self.report.error = Some(TurnError::new(
            "round_limit",
            format!("the LLM asked for tools {MAX_ROUNDS} times without answering"),
        ));
        self.finish(false).await;
    }

    /// One LLM request and the tools it asked for. `Ok(true)` when tools ran (ask again),
    /// `Ok(false)` when the LLM answered without tools.
    async fn round(&mut self) -> Result<bool, RoundEnd> {
        let provider = self.target.llm.provider();
        let limits = self.runtime.core.settings.turns.clone();
        let bounds = ReadBounds::from(&limits);
        let config = &self.session.config.0;
        let format = match provider {
            Provider::OpenAi => ExportFormat::Openai,
            Provider::Anthropic => ExportFormat::Anthropic,
        };
        // MCP tool sources stand for the tools they list (the engine lists and keeps them).
        let tools = self
            .runtime
            .engine
            .llm_tools(self.session.org_id, self.session.id, config, format)
            .await;
        let msgs = self.to_msgs();
        let body = self.target.api().body(&RequestParts {
            model: &self.target.llm.model,
            system: config.persona.details.system_prompt.as_deref(),
            messages: &msgs,
            tools,
            temperature: self.target.llm.temperature,
            max_tokens: self.target.llm.max_tokens,
        });
        let mut stream = tokio::select! {
            opened = llm::stream(&self.runtime.engine, &self.target, &body, bounds) => {
                opened.map_err(RoundEnd::Failed)?
            }
            () = self.watch.interrupted() => return Err(RoundEnd::Interrupted),
        };
        let mut text = String::new();
        let mut round_chars = 0;
        let mut asked: Vec<AskedCall> = Vec::new();
        // The persona's message takes its place in the conversation at its first word.
        let mut placed: Option<Uuid> = None;
        let mut running = Vec::new();
        let (stored_tx, stored_rx) = watch::channel(false);
        let end = loop {
            let next = tokio::select! {
                next = stream.next() => next,
                () = self.watch.interrupted() => break RoundEnd::Interrupted,
            };
            // A call starts before anything is written: nothing stands between a complete call
            // in the stream and its webhook request.
            if let Some(Ok(Delta::Call(call) | Delta::Refused(call, _))) = &next {
                let mut call = call.clone();
                if call.id.is_empty() {
                    call.id = format!("call_{}", Uuid::now_v7().simple());
                }
                let refusal = match &next {
                    Some(Ok(Delta::Refused(_, refusal))) => Some(*refusal),
                    _ => (self.calls_asked >= limits.calls_per_turn).then_some(
                        Refusal::TooManyInTurn {
                            limit: limits.calls_per_turn,
                        },
                    ),
                };
                // Counted as run: refused calls do not use up the turn's calls.
                self.calls_asked += usize::from(refusal.is_none());
                running.push(self.start_call(call.clone(), refusal, stored_rx.clone()));
                asked.push(call);
            }
            if placed.is_none()
                && matches!(
                    next,
                    Some(Ok(Delta::Text(_) | Delta::Call(_) | Delta::Refused(..)))
                )
            {
                placed = Some(self.place_persona());
            }
            match next {
                Some(Ok(Delta::Text(t))) => {
                    let room = (limits.round_chars - round_chars)
                        .min(limits.reply_chars - self.reply_chars);
                    let (said, whole) = up_to_chars(&t, room);
                    let chars = said.chars().count();
                    round_chars += chars;
                    self.reply_chars += chars;
                    if !said.is_empty() {
                        self.speak(said, false, false);
                        text.push_str(said);
                    }
                    if !whole {
                        break RoundEnd::TooLong(format!(
                            "the reply passed {} characters (at most {} per response, {} per turn)",
                            round_chars.max(self.reply_chars),
                            limits.round_chars,
                            limits.reply_chars
                        ));
                    }
                    if self.writer.events_stored() >= limits.events {
                        break RoundEnd::TooLong(format!(
                            "the reply came in more than {} events",
                            limits.events
                        ));
                    }
                }
                Some(Ok(Delta::Call(_) | Delta::Refused(..))) => {}
                Some(Ok(Delta::Done(_))) | None => break RoundEnd::Done,
                Some(Err(f)) => break RoundEnd::Failed(f),
            }
        };
        drop(stream);
        let interrupted = matches!(end, RoundEnd::Interrupted);
        // The persona's part of the round is handed to the writer before any tool result
        // (history order).
        self.store_persona(placed, &text, &asked, interrupted);
        let _ = stored_tx.send(true);
        // Calls already sent are never cancelled: their results are awaited and recorded
        // even when the turn was interrupted, so the next request sees them.
        for handle in running {
            match handle.await {
                Ok((call, end)) => {
                    self.report.tool_calls.push(TurnCall {
                        id: end.id,
                        tool_call_id: call.id.clone(),
                        error: end.refusal(),
                        tool_name: call.name,
                        status: end.status,
                    });
                    let content = end.for_llm.to_string();
                    self.remember(ROLE_TOOL, Uuid::now_v7(), content, None, Some(call.id));
                }
                Err(e) => tracing::error!(error = %e, "a conversation's tool call task failed"),
            }
        }
        if self.writer.failed() {
            return Err(store_failure());
        }
        match end {
            RoundEnd::Done if asked.is_empty() => Ok(false),
            RoundEnd::Done => Ok(true),
            other => Err(other),
        }
    }

    /// Starts a call at once, in a task of its own (a dropped turn never cancels it). The task
    /// records the result after the round's persona message.
    fn start_call(
        &mut self,
        call: AskedCall,
        refusal: Option<Refusal>,
        mut persona_stored: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<(AskedCall, CallEnd)> {
        let tool = self
            .session
            .config
            .0
            .tool(&call.name)
            .map(|t| t.tool.definition.clone());
        // Parsed here, before anything the call would change: a refused `end_call` ends nothing.
        let parsed = match refusal {
            Some(refusal) => Err(results::refused_by(refusal)),
            None => match serde_json::from_str::<Value>(&call.arguments) {
                Ok(arguments) if arguments.is_object() => Ok(arguments),
                Ok(_) => Err(results::unparsable("not an object")),
                Err(e) => Err(results::unparsable(&e.to_string())),
            },
        };
        match &tool {
            _ if parsed.is_err() => {}
            Some(ToolDefinition::System(s)) if s.name == SystemToolName::EndCall => {
                self.end_call = true;
            }
            Some(ToolDefinition::Server(w)) if w.disable_interruptions => {
                self.watch.uninterruptible = true;
            }
            _ => {}
        }
        let engine = self.runtime.engine.clone();
        let writer = self.writer.clone();
        let (org_id, session_id, turn_id) =
            (self.session.org_id, self.session.id, self.accepted.turn_id);
        tokio::spawn(async move {
            let end = match parsed {
                Ok(arguments) => {
                    let request = CallRequest {
                        tool_call_id: Some(call.id.clone()),
                        tool_name: call.name.clone(),
                        arguments,
                        defer_end: true,
                        recorder: Some(Arc::new(writer.clone())),
                    };
                    let answer = engine.call(org_id, session_id, request).await;
                    // A call settled at once recorded its events through the turn's writer,
                    // ahead of anything the turn writes next. Others (fire-and-forget, client
                    // tools) queued theirs in the engine's call log: the result and the next
                    // round are numbered after them once that is written, never before.
                    if matches!(&answer, Ok(a) if !a.recorded) {
                        engine.written(session_id).await;
                    }
                    results::from_engine(tool.as_ref(), answer)
                }
                Err(end) => end,
            };
            if end.id.is_none() {
                // Never stored by the engine: the stream learns of it here.
                writer.event(
                    TOOL_CALL_REFUSED,
                    events::refused_data(turn_id, &call.id, &call.name, &end.for_llm["error"]),
                );
            }
            // After the round's persona message, which asked for the call.
            let _ = persona_stored.wait_for(|stored| *stored).await;
            writer.insert(Row {
                id: Uuid::now_v7(),
                session_id,
                turn_id,
                role: ROLE_TOOL,
                content: end.for_llm.to_string(),
                tool_calls: None,
                tool_call_id: Some(call.id.clone()),
                interrupted: false,
            });
            (call, end)
        })
    }

    fn speak(&mut self, content: &str, end_of_speech: bool, interrupted: bool) {
        let speech = Speech {
            id: self.reply_id,
            role: ROLE_PERSONA,
            content,
            end_of_speech,
            interrupted,
            turn_id: self.accepted.turn_id,
        };
        self.writer
            .event(MESSAGE_STREAM_EVENT, events::stream_data(&speech));
        self.reply_text.push_str(content);
    }

    fn row(&self, role: &'static str, id: Uuid, content: String) -> Row {
        Row {
            id,
            session_id: self.session.id,
            turn_id: self.accepted.turn_id,
            role,
            content,
            tool_calls: None,
            tool_call_id: None,
            interrupted: false,
        }
    }

    /// The conversation as the LLM is shown it; a follow-up's note where its turn begins.
    fn to_msgs(&self) -> Vec<Msg> {
        let Some(note) = self.follow_up else {
            return to_msgs(&self.history);
        };
        let turn_id = self.accepted.turn_id;
        let first = self
            .history
            .iter()
            .position(|m| m.turn_id == turn_id)
            .unwrap_or(self.history.len());
        let mut msgs = to_msgs(&self.history[..first]);
        msgs.push(Msg::FollowUp(note.to_owned()));
        msgs.extend(to_msgs(&self.history[first..]));
        msgs
    }

    /// Stores an empty persona message where the reply begins; returns its id.
    fn place_persona(&self) -> Uuid {
        let id = Uuid::now_v7();
        self.writer
            .insert(self.row(ROLE_PERSONA, id, String::new()));
        id
    }

    /// Completes the persona's part of a round: its text and the calls it asked for. The
    /// message of the round that answers (no calls) takes the reply's id.
    fn store_persona(
        &mut self,
        placed: Option<Uuid>,
        text: &str,
        asked: &[AskedCall],
        interrupted: bool,
    ) {
        let Some(placed) = placed else {
            return;
        };
        let calls = (!asked.is_empty()).then(|| {
            json!(asked
                .iter()
                .map(|c| json!({"toolCallId": c.id, "toolName": c.name, "arguments": c.arguments}))
                .collect::<Vec<_>>())
        });
        let id = if asked.is_empty() {
            self.reply_id
        } else {
            placed
        };
        let row = Row {
            tool_calls: calls.clone(),
            interrupted,
            ..self.row(ROLE_PERSONA, id, text.to_owned())
        };
        self.writer.complete(placed, row);
        self.remember(ROLE_PERSONA, id, text.to_owned(), calls, None);
    }

    /// Adds a stored message to the conversation the next round shows the LLM.
    fn remember(
        &mut self,
        role: &'static str,
        id: Uuid,
        content: String,
        tool_calls: Option<Value>,
        tool_call_id: Option<String>,
    ) {
        self.history.push(Message {
            seq: 0,
            id,
            session_id: self.session.id,
            turn_id: self.accepted.turn_id,
            role: role.to_owned(),
            content,
            tool_calls: tool_calls.map(sqlx::types::Json),
            tool_call_id,
            interrupted: false,
            created_at: chrono::Utc::now(),
        });
        let over = self.history.len().saturating_sub(HISTORY_WINDOW as usize);
        self.history.drain(..over);
        // This turn's own messages are never dropped: a round must see the calls it asked for.
        let turn_id = self.accepted.turn_id;
        let current = self
            .history
            .iter()
            .position(|m| m.turn_id == turn_id)
            .unwrap_or(self.history.len());
        trim_to_bytes(
            &mut self.history,
            self.runtime.core.settings.turns.history_bytes,
            current,
        );
    }

    /// The reply's last event, the history, and the end of the session after `end_call`.
    async fn finish(&mut self, interrupted: bool) {
        let spoke = !self.reply_text.is_empty();
        if spoke || interrupted || self.report.error.is_none() {
            self.speak("", !interrupted, interrupted);
            self.report.reply = Some(ReplyView {
                id: self.reply_id,
                content: self.reply_text.clone(),
                interrupted,
            });
            self.writer.history();
        }
        // Everything the turn stored is committed before the session can end, the next turn
        // start or `?wait=true` answer.
        if !self.writer.flush().await {
            tracing::warn!(session_id = %self.session.id, "the turn's last writes could not be stored");
        }
        if self.end_call {
            match session_end::end(&self.runtime.fast, self.session.org_id, self.session.id).await {
                Ok(_) => self.report.session_ended = true,
                Err(e) => tracing::error!(error = %e, "could not end the session after end_call"),
            }
        }
    }
}

impl Interrupts {
    /// Resolves when a newer user message has been posted (here or on another instance), unless
    /// the turn cannot be interrupted, or when the turn's lease was lost; never resolves
    /// otherwise. Cancel-safe: a look at the table under way is kept for the next call.
    async fn interrupted(&mut self) {
        let mine = self.mine;
        // The lease's sender lives as long as the turn: an error never comes while it runs.
        let lost = self.lease_lost.clone();
        let lost = async move {
            let mut lost = lost;
            if lost.wait_for(|lost| *lost).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::pin!(lost);
        loop {
            if self.uninterruptible {
                return lost.await;
            }
            if let Some(look) = self.look.as_mut() {
                let latest = tokio::select! {
                    latest = look => latest,
                    () = &mut lost => return,
                };
                self.look = None;
                if latest > mine {
                    return;
                }
            }
            tokio::select! {
                () = &mut lost => return,
                changed = self.latest.changed() => {
                    if changed.is_err() {
                        return lost.await;
                    }
                    if *self.latest.borrow() > mine {
                        return;
                    }
                }
                note = self.notes.recv() => {
                    // Only a posted message can interrupt: the session's other events (this
                    // turn's own speech among them) need no look at the table.
                    let look = match note {
                        Ok(Note::Posted(id)) => id == self.session_id,
                        Ok(Note::Stored(_)) => false,
                        Ok(Note::Reconnected) | Err(broadcast::error::RecvError::Lagged(_)) => true,
                        Err(broadcast::error::RecvError::Closed) => return lost.await,
                    };
                    if look {
                        let (pool, session_id) = (self.pool.clone(), self.session_id);
                        self.look = Some(Box::pin(async move {
                            messages::latest_user_seq(&pool, session_id).await.unwrap_or(0)
                        }));
                    }
                }
            }
        }
    }
}

/// The longest start of `text` of at most `chars` characters, and whether that is all of it.
fn up_to_chars(text: &str, chars: usize) -> (&str, bool) {
    match text.char_indices().nth(chars) {
        Some((end, _)) => (&text[..end], false),
        None => (text, true),
    }
}

/// Drops the oldest messages until what the LLM is sent fits in `max_bytes`: a long
/// conversation is sent by size as well as by count. Messages from `keep` on (the current turn's,
/// or the newest one) are never dropped, and tool results whose call was dropped go with it.
fn trim_to_bytes(history: &mut Vec<Message>, max_bytes: usize, keep: usize) {
    let size =
        |m: &Message| m.content.len() + m.tool_calls.as_ref().map_or(0, |c| c.0.to_string().len());
    let keep = keep.min(history.len().saturating_sub(1));
    let mut total: usize = history.iter().map(size).sum();
    let mut drop = 0;
    while drop < keep && (total > max_bytes || history[drop].role == ROLE_TOOL) {
        total -= size(&history[drop]);
        drop += 1;
    }
    history.drain(..drop);
}

fn store_failure() -> RoundEnd {
    RoundEnd::Failed(LlmFailure::Unavailable(
        "the conversation could not be stored".into(),
    ))
}

/// The stored conversation as the LLM is shown it. Each tool result follows the persona message
/// that asked for it (a user message may have been stored while the calls ran, and both APIs
/// want the results right after the calls); a call whose result is not in the window gets a
/// stand-in, and results whose call is not in the window are left out.
pub fn to_msgs(history: &[Message]) -> Vec<Msg> {
    let mut results: HashMap<&str, Msg> = HashMap::new();
    for m in history.iter().filter(|m| m.role == ROLE_TOOL) {
        let is_error =
            serde_json::from_str::<Value>(&m.content).is_ok_and(|v| v.get("error").is_some());
        let call_id = m.tool_call_id.as_deref().unwrap_or_default();
        results.insert(
            call_id,
            Msg::Tool {
                call_id: call_id.to_owned(),
                content: m.content.clone(),
                is_error,
            },
        );
    }
    let mut out = Vec::new();
    for m in history {
        match m.role.as_str() {
            ROLE_USER => out.push(Msg::User(m.content.clone())),
            ROLE_PERSONA => {
                let calls: Vec<AskedCall> = m
                    .tool_calls
                    .as_ref()
                    .and_then(|c| c.0.as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .map(|c| AskedCall {
                        id: c["toolCallId"].as_str().unwrap_or_default().to_owned(),
                        name: c["toolName"].as_str().unwrap_or_default().to_owned(),
                        arguments: c["arguments"].as_str().unwrap_or("{}").to_owned(),
                    })
                    .collect();
                let answers: Vec<Msg> = calls
                    .iter()
                    .map(|c| {
                        results.remove(c.id.as_str()).unwrap_or_else(|| Msg::Tool {
                            call_id: c.id.clone(),
                            content: results::error(
                                "no_result",
                                "the result of this call was not recorded",
                            )
                            .to_string(),
                            is_error: true,
                        })
                    })
                    .collect();
                out.push(Msg::Persona {
                    text: m.content.clone(),
                    calls,
                });
                out.extend(answers);
            }
            _ => {}
        }
    }
    out
}

/// The session's LLM, or why a message cannot start a turn.
pub async fn session_llm(
    pool: &PgPool,
    session: &Session,
) -> Result<Option<StoredLlm>, StoreError> {
    let Some(llm_id) = session
        .config
        .persona
        .details
        .llm_id
        .as_deref()
        .and_then(|id| Uuid::parse_str(id).ok())
    else {
        return Ok(None);
    };
    llms::get(pool, session.org_id, llm_id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::postgres::PgPoolOptions;
    use std::time::Duration;

    /// The race of a turn's LLM stream against its interruptions drops `interrupted()` at each
    /// word. A word arriving while a posted message's look at the table is under way must not
    /// lose the message (the note is already taken): the next call looks again.
    #[tokio::test]
    async fn a_look_cut_short_by_the_next_word_is_taken_again() {
        // A "database" that never answers: each look waits out the acquire timeout, then fails,
        // and a failed look reads as seq 0 — newer than this turn's -1.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let pool = PgPoolOptions::new()
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy(&format!("postgres://x@{}/x", silent.local_addr().unwrap()))
            .unwrap();
        let session_id = Uuid::now_v7();
        let (notes_tx, notes) = broadcast::channel(4);
        let (_latest_tx, latest) = watch::channel(0);
        let (_lease_tx, lease_lost) = watch::channel(false);
        let mut watch = Interrupts {
            pool,
            session_id,
            mine: -1,
            uninterruptible: false,
            latest,
            notes,
            look: None,
            lease_lost,
        };
        notes_tx.send(Note::Posted(session_id)).unwrap();
        // The note is taken and the look begins; the next word wins the race.
        let cut = tokio::time::timeout(Duration::from_millis(100), watch.interrupted()).await;
        assert!(cut.is_err(), "the look finished before it could be cut");
        // No further note comes: only the look taken again can tell.
        tokio::time::timeout(Duration::from_secs(5), watch.interrupted())
            .await
            .expect("the posted message still interrupts the turn");
    }
}
