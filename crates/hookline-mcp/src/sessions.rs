//! Each MCP session is a Hookline session of the persona: opened at `initialize` exactly as a
//! session token would open one (a snapshot of the persona's tools, listed in the Lab's
//! Sessions with the client label `mcp`), its id the `Mcp-Session-Id`, ended by `DELETE` or by
//! its expiry. After either, the id answers 404 and the client initializes again, as the
//! transport prescribes.
//!
//! `tools/call`, the hot path, finds its session in [`KeptSessions`] rather than reading and
//! decoding the session's row each time (the read cost half again a `POST /tool-calls`; see
//! docs/performance.md). What a kept copy may miss, and why that is safe:
//! - the session ended or expired on another instance: the call's start refuses it in the same
//!   statement that stores the call, as for every call, and the id then answers 404 here too;
//! - its snapshot retaken by a `tools/list` (on any instance): that write announces
//!   `config:<session>` on the event hub in its own transaction, and every instance drops its
//!   copy when the word arrives (all copies when the hub's listener reconnects, as word may have
//!   been missed); a lookup that overlapped the word is not kept.
//!
//! The persona and organization of a session never change.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use moka::sync::Cache;
use serde_json::json;
use uuid::Uuid;

use hookline_core::fenced_cache::FencedCache;
use hookline_core::http::{ApiError, CoreState};
use hookline_core::hub::EventHub;
use hookline_core::repo::personas;
use hookline_core::repo::sessions::{self, Session, SessionStatus};
use hookline_engine::cache::CachedSession;
use hookline_sessions::TokenRequest;

/// The header that carries the session's id after `initialize`.
pub const SESSION_HEADER: &str = "mcp-session-id";
/// The client label of the sessions opened here.
pub const CLIENT_LABEL: &str = "mcp";
/// Sessions kept in memory, weighed by their snapshot's size as JSON: at most this many bytes.
pub const KEPT_BYTES: u64 = 64 * 1024 * 1024;
/// A kept session not called for this long is dropped (read again at its next call).
pub const KEPT_IDLE: Duration = Duration::from_secs(600);

/// Opens a session of the organization's persona; returns it with the persona's name.
pub async fn open(
    state: &CoreState,
    org_id: Uuid,
    persona_id: Uuid,
) -> Result<(Session, String), ApiError> {
    let persona = personas::get(&state.pool, org_id, persona_id)
        .await?
        .ok_or_else(|| ApiError::not_found("persona"))?;
    let body = json!({
        "clientLabel": CLIENT_LABEL,
        // HOOKLINE_MCP_SESSION_SECONDS, by default a session token's longest lifetime: an
        // assistant keeps its connection for a working day; after that it initializes again.
        "expiresInSeconds": state.settings.mcp.session_seconds,
        "personaConfig": {"personaId": persona_id},
    });
    let request = TokenRequest::parse(&body, &state.settings).map_err(ApiError::invalid)?;
    let token = hookline_sessions::issue_token(state, org_id, request).await?;
    let started = hookline_sessions::start(state, &token.session_token).await?;
    let session = sessions::get(&state.pool, org_id, started.session_id)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    Ok((session, persona.name))
}

/// The answer for a session id that names no open session of the persona.
pub fn gone() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such MCP session: it has ended or expired, or never was (initialize again)",
    )
}

/// The session id a request names in `Mcp-Session-Id`: 400 without one, 404 when it is not a
/// session id at all.
fn session_id(headers: &HeaderMap) -> Result<Uuid, ApiError> {
    let Some(value) = headers.get(SESSION_HEADER) else {
        return Err(ApiError::bad_request(
            "send the Mcp-Session-Id header that initialize answered with (or initialize first)",
        ));
    };
    value
        .to_str()
        .ok()
        .and_then(|v| Uuid::parse_str(v.trim()).ok())
        .ok_or_else(gone)
}

/// Whether a session row is an open session of this persona.
fn open_of(session: &Session, persona_id: Uuid) -> bool {
    session.persona_id == Some(persona_id) && session.status() == SessionStatus::Active
}

/// The open session a request names in `Mcp-Session-Id`, read from the database: 400 without
/// one, 404 when it is not an active session of this persona (unknown, another's, ended or
/// expired).
pub async fn find(
    state: &CoreState,
    org_id: Uuid,
    persona_id: Uuid,
    headers: &HeaderMap,
) -> Result<Session, ApiError> {
    let id = session_id(headers)?;
    sessions::get(&state.pool, org_id, id)
        .await?
        .filter(|s| open_of(s, persona_id))
        .ok_or_else(gone)
}

/// An open MCP session as its calls need it.
pub struct Kept {
    pub session: Arc<CachedSession>,
    pub persona_id: Uuid,
    pub expires_at: DateTime<Utc>,
    weight: u32,
}

/// The MCP sessions this instance has served calls of, kept between calls (see the module's
/// words for what keeps them right).
#[derive(Clone)]
pub struct KeptSessions {
    entries: FencedCache<Uuid, Arc<Kept>>,
}

impl KeptSessions {
    /// An empty cache that drops what the event hub says changed, from now on.
    pub fn start(hub: &EventHub) -> Self {
        let kept = Self {
            entries: FencedCache::new(
                Cache::builder()
                    .max_capacity(KEPT_BYTES)
                    .weigher(|_, k: &Arc<Kept>| k.weight)
                    .time_to_idle(KEPT_IDLE)
                    .build(),
            ),
        };
        // Subscribed here, before any session is read to be kept.
        kept.entries.follow_retaken_sessions(hub);
        kept
    }

    /// The open session a request names, from memory when it is kept there (then `true`
    /// comes with it), else read (and kept): 400 without `Mcp-Session-Id`, 404 when it is not
    /// an open session of this persona as far as this instance knows. An end on another
    /// instance is seen by the call's start.
    pub async fn find(
        &self,
        state: &CoreState,
        org_id: Uuid,
        persona_id: Uuid,
        headers: &HeaderMap,
    ) -> Result<(Arc<Kept>, bool), ApiError> {
        let id = session_id(headers)?;
        if let Some(kept) = self.entries.get(&id) {
            if kept.session.org_id != org_id || kept.persona_id != persona_id {
                return Err(gone());
            }
            if kept.expires_at > Utc::now() {
                return Ok((kept, true));
            }
            self.forget(id);
            return Err(gone());
        }
        let ticket = self.entries.ticket();
        let row = sessions::get(&state.pool, org_id, id)
            .await?
            .filter(|s| open_of(s, persona_id))
            .ok_or_else(gone)?;
        let persona_id = row.persona_id.unwrap_or_default();
        let expires_at = row.expires_at;
        let session = CachedSession::read(row);
        let kept = Arc::new(Kept {
            weight: CachedSession::weigh(&session.config),
            session: Arc::new(session),
            persona_id,
            expires_at,
        });
        self.entries.remember(ticket, id, kept.clone());
        Ok((kept, false))
    }

    /// Drops a session's copy on this instance (it ended, or its snapshot was retaken here).
    pub fn forget(&self, session_id: Uuid) {
        self.entries.forget(&session_id);
    }
}
