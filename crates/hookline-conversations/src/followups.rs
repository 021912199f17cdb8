//! Follow-ups: turns the persona asked for itself (`schedule_followup`), started when due. Every
//! instance claims due follow-ups a few times a second, as delivery workers claim due calls: one
//! instance holds a follow-up under a lease while it waits for the session's turn (renewed, so a
//! long running turn does not let another instance take it too) and marks it started, fenced by
//! its claim, once its turn begins; a claim whose instance died is claimed again when its lease
//! ends; a stopping instance gives back what it has not started. A user message posted meanwhile
//! takes the session's turn first, and the follow-up's turn comes after it: the LLM decides from
//! the note and the conversation whether there is still something to say.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

use hookline_core::repo::followups::{self, FollowUp};
use hookline_core::repo::{messages, sessions};
use hookline_core::StoreError;

use crate::events;
use crate::runtime::{session_llm, Accepted, Conversations};
use crate::turn_lease::TurnLease;

/// How often an instance looks for due follow-ups (a follow-up starts at most this late).
const POLL: Duration = Duration::from_millis(200);
/// Follow-ups claimed at once; a full batch is followed by the next at once.
const BATCH: i64 = 256;
/// A claim's lease, renewed every third of it while the follow-up waits for its turn.
const LEASE: Duration = Duration::from_secs(30);
/// How long a follow-up lets the newest user message's turn go first.
const WAIT_FOR_ANSWER: Duration = Duration::from_secs(60);
/// Follow-ups an instance runs (or waits to run) at once; it claims no more than it has room for.
const AT_ONCE: usize = 1024;

/// Starts this instance's claimer; it stops (giving back its unstarted claims) when `stop` is set.
pub fn spawn(
    runtime: Arc<Conversations>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let holder = Uuid::now_v7();
    tokio::spawn(async move {
        let pool = runtime.core.pool.clone();
        let room = Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
        while !*stop.borrow() {
            let free = (room.available_permits() as i64).min(BATCH);
            // While the database is known to be away (`db::away` probes it on its own) a claim
            // would only fail: the loop waits its poll out quietly, as delivery does.
            let claimed = if runtime.core.away.is_away() {
                Vec::new()
            } else {
                match followups::claim_due(&pool, holder, LEASE, free).await {
                    Ok(due) => due,
                    Err(StoreError::Unavailable) => {
                        runtime.core.away.noticed();
                        Vec::new()
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not claim due follow-ups");
                        Vec::new()
                    }
                }
            };
            let full = free > 0 && claimed.len() as i64 == free;
            for follow_up in claimed {
                let permit = room
                    .clone()
                    .try_acquire_owned()
                    .expect("claimed only what has room");
                let runtime = runtime.clone();
                tokio::spawn(async move {
                    runtime.run_follow_up(follow_up, holder).await;
                    drop(permit);
                });
            }
            if !full {
                tokio::select! {
                    _ = stop.changed() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        }
        if let Err(e) = followups::give_back(&pool, holder).await {
            tracing::warn!(error = %e, "could not give back claimed follow-ups");
        }
    })
}

impl Conversations {
    /// Runs a claimed follow-up: waits for the session's turn, then starts a turn of its own.
    async fn run_follow_up(self: Arc<Self>, follow_up: FollowUp, holder: Uuid) {
        let (id, session_id) = (follow_up.id, follow_up.session_id);
        if let Err(e) = self.clone().follow_up_turn(follow_up, holder).await {
            // Its claim runs out and another look takes it again.
            tracing::warn!(error = %e, follow_up_id = %id, %session_id, "a follow-up could not run");
        }
    }

    async fn follow_up_turn(
        self: Arc<Self>,
        follow_up: FollowUp,
        holder: Uuid,
    ) -> Result<(), StoreError> {
        let pool = self.core.pool.clone();
        let session = sessions::get(&pool, follow_up.org_id, follow_up.session_id).await?;
        let session = match session {
            Some(s) if s.status() == sessions::SessionStatus::Active => s,
            // Ended (its end cancels it too) or expired: nothing to say any more.
            _ => {
                followups::cancel_session(&pool, follow_up.session_id).await?;
                return Ok(());
            }
        };
        let Some(llm) = session_llm(&pool, &session).await? else {
            // No runtime talks for this session: its follow-ups cannot run.
            followups::cancel_session(&pool, session.id).await?;
            return Ok(());
        };
        // Stopped when this function returns, whichever way (a bare JoinHandle would detach it
        // and renew the claim for good).
        let renewing = AbortOnDrop(tokio::spawn(renew(pool.clone(), follow_up.id, holder)));
        // The newest user message's turn goes first (it may not have started yet); a turn
        // that never comes for it (its instance died before taking the turn) is not waited for
        // past WAIT_FOR_ANSWER.
        let answered_first = Some(tokio::time::Instant::now() + WAIT_FOR_ANSWER);
        let (lease, notes, seq) = loop {
            let seq = messages::latest_user_seq(&pool, session.id).await?;
            let latest = self.watch_latest(session.id);
            let notes = self.core.hub.subscribe();
            let taken = TurnLease::take(
                &self.fast,
                &self.leases,
                session.id,
                seq,
                latest,
                answered_first,
            );
            match taken.await? {
                Some(lease) => break (lease, notes, seq),
                // A newer user message: its turn goes first, then this one.
                None => continue,
            }
        };
        drop(renewing);
        let turn_id = Uuid::now_v7();
        if !followups::start(&pool, follow_up.id, holder, turn_id).await? {
            // Cancelled by the session's end meanwhile, or our claim ran out.
            lease.give_back().await;
            return Ok(());
        }
        if let Err(e) =
            events::follow_up_started(&self.fast, session.id, follow_up.id, turn_id).await
        {
            tracing::warn!(error = %e, "could not record followUpStarted");
        }
        let accepted = Accepted {
            message_id: follow_up.id,
            turn_id,
            seq,
            last_event: 0,
        };
        let report = self
            .turn(
                &session,
                llm,
                &accepted,
                notes,
                lease.lost(),
                Some(&follow_up.note),
                // Read afresh: a user message stored since the lease was taken overtakes it.
                None,
            )
            .await;
        lease.give_back().await;
        if report.overtaken() {
            // A user message came between taking the turn and reading the conversation: its
            // turn answers it, and this follow-up is due again right after.
            followups::put_back(&pool, follow_up.id, turn_id).await?;
            return Ok(());
        }
        self.after_turn(session.id, turn_id, &report).await;
        Ok(())
    }
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keeps a claim alive while its follow-up waits for the session's turn.
async fn renew(pool: sqlx::PgPool, id: Uuid, holder: Uuid) {
    loop {
        tokio::time::sleep(LEASE / 3).await;
        match followups::renew(&pool, id, holder, LEASE).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::warn!(error = %e, "could not renew a follow-up's claim"),
        }
    }
}
