//! Word of newer user messages, here or on another instance: what interrupts a running turn.

use futures::future::BoxFuture;
use sqlx::PgPool;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use hookline_core::hub::Note;
use hookline_core::repo::messages;

/// Word of newer user messages, here or on another instance.
pub(crate) struct Interrupts {
    pool: PgPool,
    session_id: Uuid,
    /// The seq of the message this turn answers.
    mine: i64,
    /// The session's event number of that message's announcement (0 when the turn has no
    /// message of its own, a follow-up's): a posted message announced at or before it is not
    /// newer, so its note needs no look at the table (the turn's own message's note, which
    /// usually arrives once the turn has begun, was such a look in every turn).
    mine_event: i64,
    /// A tool with `disableInterruptions` ran: a newer message waits for this turn to end.
    pub(crate) uninterruptible: bool,
    latest: watch::Receiver<i64>,
    notes: broadcast::Receiver<Note>,
    /// A look at the table a note asked for, kept across calls: [`Self::interrupted`] is raced
    /// against the LLM's stream and dropped at its next word, the note already taken.
    look: Option<BoxFuture<'static, i64>>,
    /// The session's turn was taken over (this turn's lease ran out): stop.
    lease_lost: watch::Receiver<bool>,
}

impl Interrupts {
    /// Watches for messages newer than `mine` in the session `session_id`.
    pub(crate) fn new(
        pool: PgPool,
        session_id: Uuid,
        mine: i64,
        mine_event: i64,
        latest: watch::Receiver<i64>,
        notes: broadcast::Receiver<Note>,
        lease_lost: watch::Receiver<bool>,
    ) -> Self {
        Self {
            pool,
            session_id,
            mine,
            mine_event,
            uninterruptible: false,
            latest,
            notes,
            look: None,
            lease_lost,
        }
    }
    /// Resolves when a newer user message has been posted (here or on another instance), unless
    /// the turn cannot be interrupted, or when the turn's lease was lost; never resolves
    /// otherwise. Cancel-safe: a look at the table under way is kept for the next call.
    pub(crate) async fn interrupted(&mut self) {
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
                        Ok(Note::Posted(id, event)) => {
                            id == self.session_id && event > self.mine_event
                        }
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
            mine_event: 0,
            uninterruptible: false,
            latest,
            notes,
            look: None,
            lease_lost,
        };
        notes_tx.send(Note::Posted(session_id, 1)).unwrap();
        // The note is taken and the look begins; the next word wins the race.
        let cut = tokio::time::timeout(Duration::from_millis(100), watch.interrupted()).await;
        assert!(cut.is_err(), "the look finished before it could be cut");
        // No further note comes: only the look taken again can tell.
        tokio::time::timeout(Duration::from_secs(5), watch.interrupted())
            .await
            .expect("the posted message still interrupts the turn");
    }
}
