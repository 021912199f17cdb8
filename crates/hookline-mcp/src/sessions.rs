//! Each MCP session is a Hookline session of the persona: opened at `initialize` exactly as a
//! session token would open one (a snapshot of the persona's tools, listed in the Lab's
//! Sessions with the client label `mcp`), its id the `Mcp-Session-Id`, ended by `DELETE` or by
//! its expiry. After either, the id answers 404 and the client initializes again, as the
//! transport prescribes.

use axum::http::{HeaderMap, StatusCode};
use serde_json::json;
use uuid::Uuid;

use hookline_core::http::{ApiError, CoreState};
use hookline_core::repo::personas;
use hookline_core::repo::sessions::{self, Session, SessionStatus};
use hookline_sessions::TokenRequest;

/// The header that carries the session's id after `initialize`.
pub const SESSION_HEADER: &str = "mcp-session-id";
/// The client label of the sessions opened here.
pub const CLIENT_LABEL: &str = "mcp";

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

/// The open session a request names in `Mcp-Session-Id`: 400 without one, 404 when it is not an
/// active session of this persona (unknown, another's, ended or expired).
pub async fn find(
    state: &CoreState,
    org_id: Uuid,
    persona_id: Uuid,
    headers: &HeaderMap,
) -> Result<Session, ApiError> {
    let Some(value) = headers.get(SESSION_HEADER) else {
        return Err(ApiError::bad_request(
            "send the Mcp-Session-Id header that initialize answered with (or initialize first)",
        ));
    };
    let gone = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no such MCP session: it has ended or expired, or never was (initialize again)",
        )
    };
    let id = value
        .to_str()
        .ok()
        .and_then(|v| Uuid::parse_str(v.trim()).ok())
        .ok_or_else(gone)?;
    sessions::get(&state.pool, org_id, id)
        .await?
        .filter(|s| s.persona_id == Some(persona_id) && s.status() == SessionStatus::Active)
        .ok_or_else(gone)
}
