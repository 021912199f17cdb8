//! `GET /v1/sessions/{id}/events`: the session's events as Server-Sent Events.
//!
//! Every event is stored with its number in the session (the SSE `id`) and announced with NOTIFY
//! (ids only). A stream subscribes to the announcements *before* it reads the table, then reads
//! the table from its cursor whenever it hears of something new, so nothing is skipped or
//! doubled; after the listener reconnects every stream reads the table again. A stream on any
//! instance sees events written by any other instance sharing the database.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use hookline_core::http::session_auth::SessionCredential;
use hookline_core::http::{ApiError, CoreState, InPath, QueryMap};
use hookline_core::hub::SessionNotes;
use hookline_core::ids::SessionId;
use hookline_core::repo::events::{self, StoredEvent};
use hookline_core::repo::sessions::SessionStatus;
use hookline_core::settings::Limits;
use hookline_core::EventName;

/// How often a quiet stream looks at the table anyway (a safety net under NOTIFY; a reconnect
/// of the listener already wakes every stream). Every stream's look is a query: at 10 s,
/// 10,000 quiet streams cost 1,000 queries a second.
const RECHECK: Duration = Duration::from_secs(60);
const PAGE: i64 = 200;

#[derive(Clone, axum::extract::FromRef)]
pub struct EventsState {
    pub core: CoreState,
    pub streams: OpenStreams,
}

/// The streams open on this instance, counted per session, within the configured caps.
#[derive(Clone)]
pub struct OpenStreams {
    counts: Arc<Mutex<Counts>>,
    per_session: usize,
    per_instance: usize,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_session: HashMap<Uuid, usize>,
}

impl OpenStreams {
    pub fn new(limits: &Limits) -> Self {
        Self {
            counts: Default::default(),
            per_session: limits.streams_per_session,
            per_instance: limits.streams_per_instance,
        }
    }

    /// A place for one more stream of the session, held until the stream ends.
    fn open(&self, session_id: Uuid) -> Result<StreamSlot, ApiError> {
        let mut counts = self.counts.lock().expect("stream counts");
        if counts.total >= self.per_instance {
            return Err(ApiError::busy(format!(
                "this instance holds {} event streams already (HOOKLINE_STREAMS_PER_INSTANCE); try again shortly",
                self.per_instance
            )));
        }
        let open = counts.by_session.entry(session_id).or_default();
        if *open >= self.per_session {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "the session has {} event streams open already (HOOKLINE_STREAMS_PER_SESSION); close one first",
                    self.per_session
                ),
            ));
        }
        *open += 1;
        counts.total += 1;
        Ok(StreamSlot {
            streams: self.clone(),
            session_id,
        })
    }
}

struct StreamSlot {
    streams: OpenStreams,
    session_id: Uuid,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut counts = self.streams.counts.lock().expect("stream counts");
        counts.total -= 1;
        if let Some(open) = counts.by_session.get_mut(&self.session_id) {
            *open -= 1;
            if *open == 0 {
                counts.by_session.remove(&self.session_id);
            }
        }
    }
}

#[utoipa::path(
    get, path = "/v1/sessions/{id}/events", tag = "sessions",
    summary = "The session's events as Server-Sent Events", operation_id = "streamSessionEvents",
    description = "Events `toolCallStarted`, `toolCallCompleted`, `toolCallFailed`, `sessionEnded`, \
        each with its number in the session as SSE `id`; the tool-call events' data is \
        the `ToolCallEventData` schema. A first connection gets new events only; \
        `Last-Event-ID` (or `?lastEventId=`) replays everything after it. A browser's EventSource \
        may pass its client secret as `?clientSecret=`. The stream ends after `sessionEnded`; for a \
        session that has ended or expired it replays what was asked for and closes, or answers 204 \
        when there is nothing left (so EventSource stops reconnecting).",
    security(("apiKey" = []), ("clientSecret" = [])),
    params(
        ("id" = uuid::Uuid, Path),
        ("clientSecret" = Option<String>, Query),
        ("lastEventId" = Option<i64>, Query)
    ),
    responses(
        (status = 200, description = "text/event-stream", content_type = "text/event-stream"),
        (status = 204, description = "The session has ended or expired and nothing is left to replay"),
        (status = 400, description = "A query parameter holds U+0000", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No or unknown credential", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such session for this credential", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "`lastEventId` is not a whole number", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 429, description = "The session has as many streams open as it may (`HOOKLINE_STREAMS_PER_SESSION`)", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The instance holds as many streams as it may (`HOOKLINE_STREAMS_PER_INSTANCE`), or the database is busy or not reachable; try again after `Retry-After` seconds", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))
    )
)]
pub async fn stream(
    State(state): State<EventsState>,
    credential: Option<SessionCredential>,
    query: QueryMap,
    InPath(id): InPath<SessionId>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let credential =
        match (credential, query.get("clientSecret")) {
            (Some(c), _) => c,
            (None, Some(secret)) => SessionCredential::ClientSecret(secret.to_owned()),
            (None, None) => return Err(ApiError::unauthorized(
                "send an API key or the client secret (header, or ?clientSecret= for EventSource)",
            )),
        };
    let session = credential.session(&state.core, id.0).await?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .or_else(|| query.get("lastEventId"))
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::field("lastEventId", "must be an event id (a whole number)"))
        })
        .transpose()?;
    // A session that will have no new events gets what was asked for, then the stream closes.
    let finished = match session.status() {
        SessionStatus::Active => false,
        SessionStatus::Ended => session.end_announced,
        SessionStatus::Expired => true,
    };
    let slot = state.streams.open(session.id)?;
    // Subscribe before reading anything, so no announcement falls between the two.
    let notes = state.core.hub.watch_session(session.id);
    let cursor = match resume {
        Some(after) => after,
        None => events::latest(&state.core.pool, session.id).await?,
    };
    let mut pending = VecDeque::new();
    if finished {
        pending.extend(events::after(&state.core.pool, session.id, cursor, PAGE).await?);
        if pending.is_empty() {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
    }
    let reader = Reader {
        _slot: slot,
        closing: Box::pin(state.core.closing()),
        pool: state.core.pool.clone(),
        session_id: session.id,
        expires_at: session.expires_at,
        cursor,
        notes,
        pending,
        caught_up: false,
        done: false,
    };
    Ok(Sse::new(futures::stream::unfold(reader, Reader::next))
        .keep_alive(KeepAlive::default())
        .into_response())
}

struct Reader {
    /// Counts this stream against the caps until it is dropped (ended, or the client left).
    _slot: StreamSlot,
    /// Ends the stream when the process closes (a client reconnects elsewhere and resumes).
    closing: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    pool: PgPool,
    session_id: Uuid,
    expires_at: DateTime<Utc>,
    cursor: i64,
    notes: SessionNotes,
    pending: VecDeque<StoredEvent>,
    /// The last read found the end of the table; nothing new unless announced.
    caught_up: bool,
    done: bool,
}

impl Reader {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if self.done {
                return None;
            }
            if let Some(e) = self.pending.pop_front() {
                self.cursor = e.seq;
                // The stream ends with the session.
                self.done = e.event == EventName::SessionEnded;
                let event = Event::default()
                    .id(e.seq.to_string())
                    .event(e.event.as_str())
                    .data(e.data.0.to_string());
                return Some((Ok(event), self));
            }
            // A short page was the end of the table when it was read: what came after is
            // announced, so the stream waits instead of asking again (that second look was one
            // query per event for nothing). An expired session is read until a look finds
            // nothing, then ends.
            let expired = Utc::now() >= self.expires_at;
            if !self.caught_up || expired {
                match events::after(&self.pool, self.session_id, self.cursor, PAGE).await {
                    Ok(found) => {
                        self.caught_up = found.len() < PAGE as usize;
                        if !found.is_empty() {
                            self.pending.extend(found);
                            continue;
                        }
                        if expired {
                            return None;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot read session events; retrying"),
                }
            }
            let closing = &mut self.closing;
            let woke = tokio::select! {
                () = closing => false,
                _ = self.notes.wait(RECHECK) => true,
            };
            if !woke {
                return None;
            }
            self.caught_up = false;
        }
    }
}
