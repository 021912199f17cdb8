//! The event hub: one `LISTEN` connection per process, fanned out to everything in the process
//! that waits for a session's events (event streams, client-tool calls waiting for the browser's
//! answer). Announcements carry ids only (`<session id>:<seq>`); a listener reads the table.
//!
//! Event streams wait on their own session only ([`EventHub::watch_session`]): an announcement
//! wakes that session's streams and no other. Had every stream heard every announcement, 10,000
//! streams at 1,000 calls/s would be 20 million wake-ups a second, and a stream that fell behind
//! the shared channel would read the table for nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::repo::events::CHANNEL;

/// The mark of an announcement (`<session id>:<seq>:posted`) whose event is a user message.
const POSTED: &str = "posted";
/// The head of an announcement (`tools:<persona id>`) that a persona's tools changed: its tool
/// list, a tool on it, or a tool's removal. No event is stored for it; MCP clients holding a
/// stream of the persona are told to list its tools again.
const TOOLS: &str = "tools";
/// The head of an announcement (`config:<session id>`) that a session's snapshot was retaken
/// (an MCP session following its persona's tools). No event is stored for it; instances that
/// keep the snapshot in memory drop it.
const CONFIG: &str = "config";

/// The announcement that a persona's tools changed, to make with
/// [`crate::repo::events::notify`] once the change has committed.
pub fn tools_changed(persona_id: Uuid) -> String {
    format!("{TOOLS}:{persona_id}")
}

/// The announcement that a session's snapshot changed, to make in the transaction that changes
/// it (it is delivered at commit).
pub fn config_changed(session_id: Uuid) -> String {
    format!("{CONFIG}:{session_id}")
}

/// Marks announcements (as [`crate::repo::events::append_many`] returns them) as those of a
/// posted user message: listeners then also get [`Note::Posted`].
pub fn mark_posted(notes: &[String]) -> Vec<String> {
    notes.iter().map(|n| format!("{n}:{POSTED}")).collect()
}

#[derive(Debug, Clone, Copy)]
pub enum Note {
    /// An event was stored for this session.
    Stored(Uuid),
    /// A user message was posted to this session's conversation (announced as well as
    /// [`Note::Stored`]): a turn running for the session, here or on another instance, is
    /// interrupted by it. Announced apart so a turn need not look at the table for each of the
    /// session's events (its own speech among them). With the session's event number of the
    /// message's announcement: a turn knows its own message's and need not look for that one.
    Posted(Uuid, i64),
    /// The listener (re)connected: announcements may have been missed; read the table again.
    Reconnected,
}

/// Word for whoever keeps sessions' snapshots in memory ([`EventHub::watch_configs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigNote {
    /// This session's snapshot was retaken: a copy read before is stale.
    Changed(Uuid),
    /// The listener (re)connected: word may have been missed; every copy may be stale.
    Reconnected,
}

#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Note>,
    /// Apart from `tx`: waiters on events need not hear of snapshots, nor the reverse.
    configs: broadcast::Sender<ConfigNote>,
    sessions: Sessions,
    /// Keyed by persona: word that its tools changed.
    personas: Sessions,
}

/// For each session something waits on, a counter bumped at each of its announcements (and at
/// every reconnect of the listener, when announcements may have been missed).
#[derive(Clone, Default)]
struct Sessions(Arc<Mutex<HashMap<Uuid, watch::Sender<u64>>>>);

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, watch::Sender<u64>>> {
        self.0.lock().expect("session waiters")
    }

    fn bump(&self, session_id: Uuid) {
        if let Some(tx) = self.lock().get(&session_id) {
            tx.send_modify(|n| *n += 1);
        }
    }

    fn bump_all(&self) {
        for tx in self.lock().values() {
            tx.send_modify(|n| *n += 1);
        }
    }
}

/// Word of one session's announcements (or of one persona's tool changes), for as long as it is
/// held.
pub struct SessionNotes {
    rx: watch::Receiver<u64>,
    sessions: Sessions,
    session_id: Uuid,
}

impl SessionNotes {
    /// Waits until something may have been stored for the session (its announcement, or a
    /// reconnect of the listener) or `within` has passed. True when word came.
    pub async fn wait(&mut self, within: Duration) -> bool {
        matches!(
            tokio::time::timeout(within, self.rx.changed()).await,
            Ok(Ok(()))
        )
    }
}

impl Drop for SessionNotes {
    fn drop(&mut self) {
        let mut sessions = self.sessions.lock();
        // This receiver still counts while it is being dropped.
        if sessions
            .get(&self.session_id)
            .is_some_and(|tx| tx.receiver_count() <= 1)
        {
            sessions.remove(&self.session_id);
        }
    }
}

impl EventHub {
    /// Starts listening; the listener reconnects on its own and stops once the pool is closed
    /// and nobody listens any more.
    /// `direct`: where to `LISTEN` instead of the pool's server (see [`crate::db::listener_pool`]).
    pub fn start(pool: PgPool, direct: Option<&str>) -> Self {
        let (tx, _) = broadcast::channel(4096);
        let (configs, _) = broadcast::channel(4096);
        let sessions = Sessions::default();
        let personas = Sessions::default();
        let hub = Self {
            tx: tx.clone(),
            configs: configs.clone(),
            sessions: sessions.clone(),
            personas: personas.clone(),
        };
        let listening = crate::db::listener_pool(&pool, direct);
        tokio::spawn(async move {
            loop {
                let mut listened = false;
                match PgListener::connect_with(&listening).await {
                    Ok(mut listener) => {
                        if let Err(e) = listener.listen(CHANNEL).await {
                            tracing::warn!(error = %e, "cannot LISTEN for session events");
                        } else {
                            listened = true;
                            let _ = tx.send(Note::Reconnected);
                            let _ = configs.send(ConfigNote::Reconnected);
                            sessions.bump_all();
                            personas.bump_all();
                            loop {
                                // Not `recv`, which reconnects without a word: announcements
                                // made meanwhile would be missed with nobody told to look.
                                match listener.try_recv().await {
                                    Ok(Some(n)) => {
                                        let mut parts = n.payload().split(':');
                                        let id = parts.next().unwrap_or_default();
                                        if id == TOOLS {
                                            let persona = parts.next().unwrap_or_default();
                                            if let Ok(persona) = Uuid::parse_str(persona) {
                                                personas.bump(persona);
                                            }
                                            continue;
                                        }
                                        if id == CONFIG {
                                            let session = parts.next().unwrap_or_default();
                                            if let Ok(session) = Uuid::parse_str(session) {
                                                let _ = configs.send(ConfigNote::Changed(session));
                                            }
                                            continue;
                                        }
                                        let seq = parts.next().and_then(|s| s.parse().ok());
                                        let posted = parts.next() == Some(POSTED);
                                        if let Ok(id) = Uuid::parse_str(id) {
                                            sessions.bump(id);
                                            let _ = tx.send(Note::Stored(id));
                                            if posted {
                                                // Without a number (never sent so), newer than
                                                // any: the turn looks.
                                                let seq = seq.unwrap_or(i64::MAX);
                                                let _ = tx.send(Note::Posted(id, seq));
                                            }
                                        }
                                    }
                                    lost => {
                                        let error = lost.err().map(|e| e.to_string());
                                        tracing::warn!(
                                            ?error,
                                            "session event listener lost; reconnecting"
                                        );
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot connect the session event listener")
                    }
                }
                if tx.receiver_count() == 0 && pool.is_closed() {
                    return;
                }
                // A connection that was lost is made again at once (what was announced meanwhile
                // is missed until then); one that could not be made is tried every second.
                if !listened {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        });
        hub
    }

    /// Subscribe *before* reading the table, so no announcement falls between the two.
    pub fn subscribe(&self) -> broadcast::Receiver<Note> {
        self.tx.subscribe()
    }

    /// Word that sessions' snapshots changed ([`config_changed`], on any instance), and of every
    /// reconnect of the listener. Subscribe *before* reading a snapshot to keep.
    pub fn watch_configs(&self) -> broadcast::Receiver<ConfigNote> {
        self.configs.subscribe()
    }

    /// Word of one session's announcements only. Like [`Self::subscribe`], take it *before*
    /// reading the table.
    pub fn watch_session(&self, session_id: Uuid) -> SessionNotes {
        let rx = self
            .sessions
            .lock()
            .entry(session_id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        SessionNotes {
            rx,
            sessions: self.sessions.clone(),
            session_id,
        }
    }

    /// Word that a persona's tools changed ([`tools_changed`], on any instance), and of every
    /// reconnect of the listener, when such word may have been missed.
    pub fn watch_persona_tools(&self, persona_id: Uuid) -> SessionNotes {
        let rx = self
            .personas
            .lock()
            .entry(persona_id)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe();
        SessionNotes {
            rx,
            sessions: self.personas.clone(),
            session_id: persona_id,
        }
    }
}

/// Waits until something may have been stored for `session_id` (its announcement, a reconnect,
/// or falling behind) or `within` has passed. False when the hub has stopped.
pub async fn wait_for_session(
    notes: &mut broadcast::Receiver<Note>,
    session_id: Uuid,
    within: Duration,
) -> bool {
    let deadline = tokio::time::sleep(within);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => return true,
            note = notes.recv() => match note {
                Ok(Note::Stored(id)) if id != session_id => continue,
                // Always announced together with its `Stored`.
                Ok(Note::Posted(..)) => continue,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => return true,
                Err(broadcast::error::RecvError::Closed) => return false,
            },
        }
    }
}
