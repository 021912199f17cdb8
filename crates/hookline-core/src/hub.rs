//! The event hub: one `LISTEN` connection per process, fanned out to everything in the process
//! that waits for a session's events (event streams, client-tool calls waiting for the browser's
//! answer). Announcements carry ids only (`<session id>:<seq>`); a listener reads the table.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::repo::events::CHANNEL;

/// The mark of an announcement (`<session id>:<seq>:posted`) whose event is a user message.
const POSTED: &str = "posted";

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
    /// session's events (its own speech among them).
    Posted(Uuid),
    /// The listener (re)connected: announcements may have been missed; read the table again.
    Reconnected,
}

#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Note>,
}

impl EventHub {
    /// Starts listening; the listener reconnects on its own and stops once the pool is closed
    /// and nobody listens any more.
    pub fn start(pool: PgPool) -> Self {
        let (tx, _) = broadcast::channel(4096);
        let hub = Self { tx: tx.clone() };
        tokio::spawn(async move {
            loop {
                match PgListener::connect_with(&pool).await {
                    Ok(mut listener) => {
                        if let Err(e) = listener.listen(CHANNEL).await {
                            tracing::warn!(error = %e, "cannot LISTEN for session events");
                        } else {
                            let _ = tx.send(Note::Reconnected);
                            loop {
                                match listener.recv().await {
                                    Ok(n) => {
                                        let mut parts = n.payload().split(':');
                                        let id = parts.next().unwrap_or_default();
                                        let posted = parts.nth(1) == Some(POSTED);
                                        if let Ok(id) = Uuid::parse_str(id) {
                                            let _ = tx.send(Note::Stored(id));
                                            if posted {
                                                let _ = tx.send(Note::Posted(id));
                                            }
                                        }
                                    }
                                    Err(e) => {
                                        tracing::warn!(error = %e, "session event listener lost; reconnecting");
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
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        hub
    }

    /// Subscribe *before* reading the table, so no announcement falls between the two.
    pub fn subscribe(&self) -> broadcast::Receiver<Note> {
        self.tx.subscribe()
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
                Ok(Note::Posted(_)) => continue,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => return true,
                Err(broadcast::error::RecvError::Closed) => return false,
            },
        }
    }
}
