//! The stream a client opens with `GET`: the server's own messages, which are one,
//! `notifications/tools/list_changed`, sent when the persona's tools change (a tool on its list
//! updated or deleted, its list patched, a tool attached or detached), on whichever instance the
//! change was made: the registry announces it on the event hub's channel (`tools:<persona id>`).
//! The client then lists again, and its session's tools follow the persona's
//! ([`hookline_sessions::follow_persona`]).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use hookline_core::http::CoreState;
use hookline_core::hub::SessionNotes;
use hookline_core::repo::sessions::{self, Session, SessionStatus};
use hookline_sessions::StreamSlot;

/// How often a quiet stream looks whether its session is still open, to close (a safety net under
/// the session's own announcements). One query per stream per look.
const RECHECK: Duration = Duration::from_secs(60);

/// The notification, as one JSON-RPC message.
fn list_changed() -> Event {
    Event::default()
        .event("message")
        .data(json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}).to_string())
}

/// Opens the stream of an open session; it ends when the session does, or the process closes
/// (the client opens another, elsewhere).
/// `slot` is the stream's place within the caps, given back when the stream ends.
pub fn open(core: &CoreState, session: &Session, slot: StreamSlot) -> Response {
    let persona_id = session.persona_id.unwrap_or_default();
    let watch = Watch {
        _slot: slot,
        notes: core.hub.watch_persona_tools(persona_id),
        session_notes: core.hub.watch_session(session.id),
        closing: Box::pin(core.closing()),
        pool: core.pool.clone(),
        org_id: session.org_id,
        session_id: session.id,
        expires_at: session.expires_at,
    };
    Sse::new(futures::stream::unfold(watch, Watch::next))
        .keep_alive(KeepAlive::default())
        .into_response()
}

struct Watch {
    _slot: StreamSlot,
    /// Word that the persona's tools changed.
    notes: SessionNotes,
    /// Word of the session's events, its `sessionEnded` among them: the stream then closes at
    /// once, whichever instance ended it.
    session_notes: SessionNotes,
    closing: Pin<Box<dyn Future<Output = ()> + Send>>,
    pool: PgPool,
    org_id: Uuid,
    session_id: Uuid,
    expires_at: DateTime<Utc>,
}

impl Watch {
    async fn next(mut self) -> Option<(Result<Event, std::convert::Infallible>, Self)> {
        loop {
            let until_expiry = (self.expires_at - Utc::now()).to_std().ok()?;
            let within = RECHECK.min(until_expiry);
            let heard = tokio::select! {
                () = &mut self.closing => return None,
                heard = self.notes.wait(within) => heard,
                _ = self.session_notes.wait(within) => false,
            };
            if heard {
                return Some((Ok(list_changed()), self));
            }
            let open = sessions::get(&self.pool, self.org_id, self.session_id)
                .await
                .ok()
                .flatten()
                .is_some_and(|s| s.status() == SessionStatus::Active);
            if !open {
                return None;
            }
        }
    }
}
