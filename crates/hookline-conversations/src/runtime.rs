//! Turns: a user message in, the persona's answer out. One turn runs at a time per session on
//! every instance sharing the database (a lease on the session's turn, `session_turns`), and a
//! newer user message interrupts the running turn wherever it was posted (the event hub's
//! announcement of a posted message wakes the turn, which then sees the newer message in the
//! table: [`crate::interrupts`]).
//!
//! This module holds the runtime of an instance and a turn's beginning and end; the turn itself
//! (its rounds of LLM requests and tool calls) is [`crate::turn`], and what the LLM is shown of
//! the conversation is [`crate::history`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use hookline_core::http::CoreState;
use hookline_core::hub;
use hookline_core::repo::events as stored_events;
use hookline_core::repo::llms::{self, StoredLlm};
use hookline_core::repo::messages;
use hookline_core::repo::sessions::Session;
use hookline_core::{Role, StoreError};
use hookline_engine::Engine;

use crate::events::{self, Speech};
use crate::message_rate::MessageRate;
use crate::turn_lease::{Leases, TurnLease};
use crate::views::{TurnError, TurnErrorKind, TurnReport};

/// Rounds of LLM requests in one turn (each round may run tools).
pub const MAX_ROUNDS: usize = 8;

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
    /// The session's event number of the message's announcement (its `messageHistoryUpdated`);
    /// 0 for a follow-up's turn, which has no message of its own.
    pub last_event: i64,
}

impl Conversations {
    pub fn new(core: CoreState, engine: Arc<Engine>) -> Arc<Self> {
        let fast = hookline_core::db::fast_pool(&core.pool, core.settings.database.fast_pool_size);
        core.away.watch(&fast);
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
            role: Role::User,
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
            last_event: stored.last_event,
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
            Ok(Some(mut lease)) => {
                let history = lease.take_history();
                let report = self
                    .turn(
                        &session,
                        llm,
                        &accepted,
                        notes,
                        lease.lost(),
                        None,
                        Some(history),
                    )
                    .await;
                lease.give_back().await;
                report
            }
            Ok(None) => overtaken(),
            Err(StoreError::Unavailable) => {
                tracing::warn!(%session_id, "a turn could not begin: the database is not available");
                database_unavailable()
            }
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
        if let Some(TurnError { kind, message }) = report
            .error
            .as_ref()
            .filter(|e| e.kind != TurnErrorKind::Interrupted)
        {
            if report.database_unavailable {
                // The database is away, so `turnFailed` cannot be written now either. A client
                // that posted without `?wait=true` has only its stream to hear that the turn did
                // not begin: the event is written once the database is back, off the caller's
                // path (a waited turn answers its 503 at once).
                let (fast, kind, message) = (self.fast.clone(), *kind, message.clone());
                tokio::spawn(async move {
                    let written = hookline_core::durable_write::retry("turnFailed", || {
                        events::turn_failed(&fast, session_id, turn_id, kind, &message)
                    })
                    .await;
                    if let Err(e) = written {
                        tracing::warn!(error = %e, "could not record turnFailed");
                    }
                });
            } else if let Err(e) =
                events::turn_failed(&self.fast, session_id, turn_id, *kind, message).await
            {
                tracing::warn!(error = %e, "could not record turnFailed");
            }
        }
        self.forget(session_id);
    }
}

const OVERTAKEN: &str = "a newer message was posted";

pub(crate) fn overtaken() -> TurnReport {
    TurnReport {
        error: Some(TurnError::new(TurnErrorKind::Interrupted, OVERTAKEN)),
        ..TurnReport::default()
    }
}

/// A turn that could not begin (take the session's turn, read the conversation) because the
/// database was unavailable: nothing of it was stored. Its caller, if waiting, is answered 503
/// (an outage is not the turn's failure, and trying again later may succeed); the stream's
/// `turnFailed`, if the database is back to store it, says why.
pub(crate) fn database_unavailable() -> TurnReport {
    TurnReport {
        error: Some(TurnError::new(
            TurnErrorKind::Internal,
            "the database was not available; the turn did not begin (the message is stored: the \
             session's next turn answers it)",
        )),
        database_unavailable: true,
        ..TurnReport::default()
    }
}

pub(crate) fn internal_failure() -> TurnReport {
    TurnReport {
        error: Some(TurnError::new(
            TurnErrorKind::Internal,
            "the turn could not run on our side; it has been logged",
        )),
        ..TurnReport::default()
    }
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
