//! The event hub: one `LISTEN` connection per process, fanned out to everything in the process
//! that waits for a session's events (event streams, client-tool calls waiting for the browser's
//! answer). Announcements carry ids only (`<session id>:<seq>`); a listener reads the table.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::repo::events::CHANNEL;

#[derive(Debug, Clone, Copy)]
pub enum Note {
    /// An event was stored for this session.
    Stored(Uuid),
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
                                        let id = n.payload().split(':').next().unwrap_or_default();
                                        if let Ok(id) = Uuid::parse_str(id) {
                                            let _ = tx.send(Note::Stored(id));
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
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => return true,
                Err(broadcast::error::RecvError::Closed) => return false,
            },
        }
    }
}
