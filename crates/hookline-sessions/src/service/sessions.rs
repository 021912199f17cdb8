//! Sessions: started once from a session token, listed by the organization, read and ended by
//! the organization or by the session's own client secret, and their tools in each LLM API's
//! format.

use super::SessionsError;
use hookline_core::credential;
use hookline_core::http::session_auth::CLIENT_SECRET_PREFIX;
use hookline_core::http::{CoreState, ListPage};
use hookline_core::repo::sessions::{self as repo, NewSession, Session};
use hookline_core::session_end;
use hookline_schema::{export, ExportFormat, ToolDefinition};
use uuid::Uuid;

use crate::requests::SessionListParams;
use crate::views::{SessionToolsView, SessionView, StartedSessionView};

/// Starts a session with a session token, consuming it in the same transaction (a second use,
/// like an unknown or expired token, is a 401 saying which). The answer holds the session's
/// client secret, which exists nowhere else.
pub async fn start(
    state: &CoreState,
    session_token: &str,
) -> Result<StartedSessionView, SessionsError> {
    let mut tx = state.pool.begin().await?;
    let consumed = match repo::consume_token(&mut tx, &credential::hash(session_token)).await? {
        Ok(consumed) => consumed,
        Err(refusal) => return Err(SessionsError::TokenRefused(refusal)),
    };
    let client_secret = credential::generate(CLIENT_SECRET_PREFIX);
    let session = repo::insert(
        &mut *tx,
        &NewSession {
            org_id: consumed.org_id,
            persona_id: consumed.persona_id,
            client_label: consumed.client_label.as_deref(),
            client_secret_hash: &credential::hash(&client_secret),
            config: &consumed.config,
            lifetime_seconds: consumed.lifetime_seconds,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(session_id = %session.id, "session started");
    Ok(StartedSessionView::new(&session, client_secret))
}

/// One page of the organization's sessions that pass the filter, newest first, each as
/// `GET /v1/sessions/{id}` shows it (its tools included: they are the snapshot the session runs
/// on, and a page holds at most 100).
pub async fn list(
    state: &CoreState,
    org_id: Uuid,
    params: &SessionListParams,
) -> Result<ListPage<SessionView>, SessionsError> {
    let mut conn = state.pool.acquire().await?;
    let (found, total) = repo::list(&mut conn, org_id, params.filter, params.page).await?;
    let data = found.iter().map(SessionView::from).collect();
    Ok(ListPage::new(data, total, params.page))
}

/// Ends `session` (idempotent): no call starts in it any more, and its event stream gets one
/// `sessionEnded`. Returns it as it is now.
pub async fn end(state: &CoreState, session: &Session) -> Result<SessionView, SessionsError> {
    let ended = session_end::end(&state.pool, session.org_id, session.id)
        .await?
        .ok_or_else(|| SessionsError::NotFound("session"))?;
    if session.ended_at.is_none() {
        tracing::info!(session_id = %session.id, "session ended");
    }
    Ok(SessionView::from(&ended))
}

/// The session's tools as `format`'s LLM API declares them (path, query and body parameters
/// merged into one schema). An MCP tool source is not one tool an LLM could call: it is left
/// out (the built-in runtime offers the tools it lists, docs/mcp.md).
pub fn tools(session: &Session, format: ExportFormat) -> SessionToolsView {
    let tools = session
        .config
        .tools
        .iter()
        .map(|t| &t.tool.definition)
        .filter(|d| !matches!(d, ToolDefinition::Server(w) if w.is_mcp()))
        .map(|d| export(d, format))
        .collect();
    SessionToolsView { format, tools }
}
