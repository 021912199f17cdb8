//! `GET /v1/sessions/{id}/events`: the session's events as Server-Sent Events.
//!
//! Every event is stored with its number in the session (the SSE `id`) and announced with NOTIFY
//! (ids only). A stream subscribes to the announcements *before* it reads the table, then reads
//! the table from its cursor whenever it hears of something new, so nothing is skipped or
//! doubled; after the listener reconnects every stream reads the table again. A stream on any
//! instance sees events written by any other instance sharing the database.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::broadcast;
use uuid::Uuid;

use hookline_core::http::session_auth::SessionCredential;
use hookline_core::http::{parse_id, ApiError, CoreState, QueryMap};
use hookline_core::repo::events::{self, StoredEvent, CHANNEL};

/// How often a quiet stream looks at the table anyway (a safety net under NOTIFY).
const RECHECK: Duration = Duration::from_secs(10);
const PAGE: i64 = 200;

#[derive(Debug, Clone, Copy)]
enum Note {
    /// An event was stored for this session.
    Stored(Uuid),
    /// The listener reconnected: notifications may have been missed.
    Reconnected,
}

/// One LISTEN connection per process, fanned out to every open stream.
#[derive(Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Note>,
}

impl EventHub {
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
}

#[derive(Clone)]
pub struct EventsState {
    pub core: CoreState,
    pub hub: EventHub,
}

impl axum::extract::FromRef<EventsState> for CoreState {
    fn from_ref(s: &EventsState) -> Self {
        s.core.clone()
    }
}

impl axum::extract::FromRef<EventsState> for hookline_core::http::ApiKeyAuth {
    fn from_ref(s: &EventsState) -> Self {
        s.core.auth.clone()
    }
}

#[utoipa::path(
    get, path = "/v1/sessions/{id}/events", tag = "sessions",
    summary = "The session's events as Server-Sent Events",
    description = "Events `toolCallStarted`, `toolCallCompleted`, `toolCallFailed`, `sessionEnded`, \
        each with its number in the session as SSE `id`. A first connection gets new events only; \
        `Last-Event-ID` (or `?lastEventId=`) replays everything after it. A browser's EventSource \
        may pass its client secret as `?clientSecret=`.",
    security(("apiKey" = []), ("clientSecret" = [])),
    params(
        ("id" = uuid::Uuid, Path),
        ("clientSecret" = Option<String>, Query),
        ("lastEventId" = Option<i64>, Query)
    ),
    responses(
        (status = 200, description = "text/event-stream", content_type = "text/event-stream"),
        (status = 401, description = "No or unknown credential", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such session for this credential", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json")
    )
)]
pub async fn stream(
    State(state): State<EventsState>,
    credential: Option<SessionCredential>,
    Path(id): Path<String>,
    query: QueryMap,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = parse_id(&id, "session")?;
    let credential =
        match (credential, query.get("clientSecret")) {
            (Some(c), _) => c,
            (None, Some(secret)) => SessionCredential::ClientSecret(secret.to_owned()),
            (None, None) => return Err(ApiError::unauthorized(
                "send an API key or the client secret (header, or ?clientSecret= for EventSource)",
            )),
        };
    let session = credential.session(&state.core, id).await?;
    // Subscribe before reading anything, so no announcement falls between the two.
    let notes = state.hub.tx.subscribe();
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
    let cursor = match resume {
        Some(after) => after,
        None => events::latest(&state.core.pool, session.id).await?,
    };
    let reader = Reader {
        closing: Box::pin(state.core.closing()),
        pool: state.core.pool.clone(),
        session_id: session.id,
        cursor,
        notes,
        pending: VecDeque::new(),
        done: false,
    };
    Ok(Sse::new(futures::stream::unfold(reader, Reader::next)).keep_alive(KeepAlive::default()))
}

struct Reader {
    /// Ends the stream when the process closes (a client reconnects elsewhere and resumes).
    closing: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    pool: PgPool,
    session_id: Uuid,
    cursor: i64,
    notes: broadcast::Receiver<Note>,
    pending: VecDeque<StoredEvent>,
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
                self.done = e.event == events::SESSION_ENDED;
                let event = Event::default()
                    .id(e.seq.to_string())
                    .event(e.event.clone())
                    .data(e.data.0.to_string());
                return Some((Ok(event), self));
            }
            match events::after(&self.pool, self.session_id, self.cursor, PAGE).await {
                Ok(found) if !found.is_empty() => {
                    self.pending.extend(found);
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read session events; retrying"),
            }
            if !self.wait().await {
                return None;
            }
        }
    }

    /// Waits until something may have been stored for this session; false when the process
    /// is closing.
    async fn wait(&mut self) -> bool {
        let deadline = tokio::time::sleep(RECHECK);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut self.closing => return false,
                () = &mut deadline => return true,
                note = self.notes.recv() => match note {
                    Ok(Note::Stored(id)) if id != self.session_id => continue,
                    // This session's, a reconnect, or lagging behind: read the table.
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => return true,
                    Err(broadcast::error::RecvError::Closed) => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        return true;
                    }
                },
            }
        }
    }
}
