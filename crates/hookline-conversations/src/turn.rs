//! A running turn: rounds of an LLM request and the tool calls it asks for, until the LLM
//! answers without calls (at most [`MAX_ROUNDS`]). The turn reads the conversation once, when it
//! starts (with its lease), and keeps it for its later rounds (adding what it stores); its own
//! writes go through a [`TurnWriter`] so that nothing on the way from the LLM's stream to a tool
//! call or the next delta waits for a commit.

use std::sync::Arc;

use futures::StreamExt;
use serde_json::Value;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use hookline_core::hub::Note;
use hookline_core::repo::llms::StoredLlm;
use hookline_core::repo::messages::{self, Message};
use hookline_core::repo::sessions::Session;
use hookline_core::session_end;
use hookline_core::{Role, StoreError, StoredCall};
use hookline_engine::CallRequest;
use hookline_schema::definition::{SystemToolName, ToolDefinition};
use hookline_schema::{ExportFormat, Provider};

use crate::events::{self, Speech, MESSAGE_STREAM_EVENT, TOOL_CALL_REFUSED};
use crate::history::{to_msgs, trim_to_bytes, HISTORY_WINDOW};
use crate::interrupts::Interrupts;
use crate::llm::{self, LlmFailure, ReadBounds, Target};
use crate::provider::{AskedCall, Delta, Msg, Refusal, RequestParts};
use crate::results::{self, CallEnd};
use crate::runtime::{
    database_unavailable, internal_failure, overtaken, Accepted, Conversations, MAX_ROUNDS,
};
use crate::views::{ReplyView, TurnCall, TurnError, TurnErrorKind, TurnReport};
use crate::writer::{Row, TurnWriter};

impl Conversations {
    /// Runs a turn under a taken lease: for the user message `accepted`, or for a due follow-up
    /// (`follow_up`: its note; `accepted` then names the newest user message, none new).
    /// `read`: the conversation as read with the lease, else it is read here.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn turn(
        &self,
        session: &Session,
        llm: StoredLlm,
        accepted: &Accepted,
        notes: broadcast::Receiver<Note>,
        lease_lost: watch::Receiver<bool>,
        follow_up: Option<&str>,
        read: Option<Vec<Message>>,
    ) -> TurnReport {
        // Watched from before the conversation was read (the receivers were taken before the
        // lease, which reads it): a newer message stored after the read is noticed by the
        // watch, one stored before it is in what is read.
        let watch = Interrupts::new(
            self.core.pool.clone(),
            session.id,
            accepted.seq,
            accepted.last_event,
            self.watch_latest(session.id),
            notes,
            lease_lost,
        );
        let read = match read {
            Some(history) => Ok(history),
            None => messages::recent(&self.fast, session.id, HISTORY_WINDOW).await,
        };
        let history = match read {
            Ok(mut history) => {
                let newest = history.len().saturating_sub(1);
                trim_to_bytes(&mut history, self.core.settings.turns.history_bytes, newest);
                history
            }
            Err(StoreError::Unavailable) => {
                tracing::warn!(session_id = %session.id, "a turn could not read its conversation: the database is not available");
                return database_unavailable();
            }
            Err(e) => {
                tracing::error!(error = %e, "could not read the conversation");
                return internal_failure();
            }
        };
        // Overtaken while waiting for the lock: the newer message's turn answers.
        if history
            .iter()
            .any(|m| m.role == Role::User && m.seq > accepted.seq)
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
                    self.report.error = Some(TurnError::new(TurnErrorKind::ReplyTooLong, message));
                    return self.finish(false).await;
                }
                Err(RoundEnd::Done) => return self.finish(false).await,
            }
        }
        self.report.error = Some(TurnError::new(
            TurnErrorKind::RoundLimit,
            format!("the LLM asked for tools {MAX_ROUNDS} times without answering"),
        ));
        self.finish(false).await;
    }

    /// One LLM request and the tools it asked for. `Ok(true)` when tools ran (ask again),
    /// `Ok(false)` when the LLM answered without tools.
    async fn round(&mut self) -> Result<bool, RoundEnd> {
        let limits = self.runtime.core.settings.turns.clone();
        let bounds = ReadBounds::from(&limits);
        let body = self.request_body().await;
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
        self.collect_results(running).await;
        if self.writer.failed() {
            return Err(store_failure());
        }
        match end {
            RoundEnd::Done if asked.is_empty() => Ok(false),
            RoundEnd::Done => Ok(true),
            other => Err(other),
        }
    }

    /// The round's request to the LLM: the persona's prompt, the conversation so far and the
    /// session's tools, in the provider's format. (`&mut`: a turn is not `Sync`, and a shared
    /// borrow held across the await would make the turn's future not `Send`.)
    async fn request_body(&mut self) -> Value {
        let config = &self.session.config.0;
        let format = match self.target.llm.provider() {
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
        self.target.api().body(&RequestParts {
            model: &self.target.llm.model,
            system: config.persona.details.system_prompt.as_deref(),
            messages: &msgs,
            tools,
            temperature: self.target.llm.temperature,
            max_tokens: self.target.llm.max_tokens,
        })
    }

    /// Waits for the round's calls and keeps their results for the next request and the turn's
    /// report. Calls already sent are never cancelled: their results are awaited and recorded
    /// even when the turn was interrupted, so the next request sees them.
    async fn collect_results(
        &mut self,
        running: Vec<tokio::task::JoinHandle<(AskedCall, CallEnd)>>,
    ) {
        for handle in running {
            match handle.await {
                Ok((call, end)) => {
                    let content = end.for_llm.to_string();
                    self.remember_result(&call.id, content, end.status.is_error());
                    self.report.tool_calls.push(TurnCall {
                        id: end.id,
                        tool_call_id: call.id,
                        error: end.refusal,
                        tool_name: call.name,
                        status: end.status,
                    });
                }
                Err(e) => tracing::error!(error = %e, "a conversation's tool call task failed"),
            }
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
                role: Role::Tool,
                content: end.for_llm.to_string(),
                tool_calls: None,
                tool_call_id: Some(call.id.clone()),
                is_error: end.status.is_error(),
                interrupted: false,
            });
            (call, end)
        })
    }

    fn speak(&mut self, content: &str, end_of_speech: bool, interrupted: bool) {
        let speech = Speech {
            id: self.reply_id,
            role: Role::Persona,
            content,
            end_of_speech,
            interrupted,
            turn_id: self.accepted.turn_id,
        };
        self.writer
            .event(MESSAGE_STREAM_EVENT, events::stream_data(&speech));
        self.reply_text.push_str(content);
    }

    fn row(&self, role: Role, id: Uuid, content: String) -> Row {
        Row {
            id,
            session_id: self.session.id,
            turn_id: self.accepted.turn_id,
            role,
            content,
            tool_calls: None,
            tool_call_id: None,
            is_error: false,
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
            .insert(self.row(Role::Persona, id, String::new()));
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
        let id = if asked.is_empty() {
            self.reply_id
        } else {
            placed
        };
        let row = Row {
            tool_calls: (!asked.is_empty()).then(|| asked.iter().map(StoredCall::from).collect()),
            interrupted,
            ..self.row(Role::Persona, id, text.to_owned())
        };
        self.remember(&row);
        self.writer.complete(placed, row);
    }

    /// Adds a call's result (the tool task stored it) to the conversation the next round shows.
    fn remember_result(&mut self, call_id: &str, content: String, is_error: bool) {
        let row = Row {
            tool_call_id: Some(call_id.to_owned()),
            is_error,
            ..self.row(Role::Tool, Uuid::now_v7(), content)
        };
        self.remember(&row);
    }

    /// Adds a stored message to the conversation the next round shows the LLM.
    fn remember(&mut self, row: &Row) {
        self.history.push(Message {
            seq: 0,
            id: row.id,
            session_id: row.session_id,
            turn_id: row.turn_id,
            role: row.role,
            content: row.content.clone(),
            tool_calls: row.tool_calls.clone().map(sqlx::types::Json),
            tool_call_id: row.tool_call_id.clone(),
            is_error: row.is_error,
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

/// The longest start of `text` of at most `chars` characters, and whether that is all of it.
fn up_to_chars(text: &str, chars: usize) -> (&str, bool) {
    match text.char_indices().nth(chars) {
        Some((end, _)) => (&text[..end], false),
        None => (text, true),
    }
}

fn store_failure() -> RoundEnd {
    RoundEnd::Failed(LlmFailure::Unavailable(
        "the conversation could not be stored".into(),
    ))
}
