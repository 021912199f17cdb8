//! What the sessions service answers: one type per shape, serialized as it goes on the wire and
//! described in the OpenAPI document by the same derive.

use chrono::{DateTime, Utc};
use hookline_core::repo::sessions::{ListedSession, Session, SessionStatus};
use hookline_core::snapshot::PublicToolView;
use hookline_schema::ExportFormat;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// A session as its readers see it: tools without URLs or headers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: Uuid,
    pub status: SessionStatus,
    pub persona_id: Option<Uuid>,
    pub client_label: Option<String>,
    pub tools: Vec<PublicToolView>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<&Session> for SessionView {
    fn from(s: &Session) -> Self {
        Self::with_status(s, s.status())
    }
}

impl From<&ListedSession> for SessionView {
    /// A session of a list shows the status the list was filtered by.
    fn from(l: &ListedSession) -> Self {
        Self::with_status(&l.session, l.status)
    }
}

impl SessionView {
    fn with_status(s: &Session, status: SessionStatus) -> Self {
        Self {
            id: s.id,
            status,
            persona_id: s.persona_id,
            client_label: s.client_label.clone(),
            tools: public_tools(s),
            created_at: s.created_at,
            expires_at: s.expires_at,
            ended_at: s.ended_at,
        }
    }
}

fn public_tools(s: &Session) -> Vec<PublicToolView> {
    s.config.tools.iter().map(|t| t.public_view()).collect()
}

/// A session just started: the only answer that holds its client secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartedSessionView {
    pub session_id: Uuid,
    /// `hcs_…`: the browser's credential for this session alone. Shown this once.
    pub client_secret: String,
    pub expires_at: DateTime<Utc>,
    pub tools: Vec<PublicToolView>,
}

impl StartedSessionView {
    pub fn new(s: &Session, client_secret: String) -> Self {
        Self {
            session_id: s.id,
            client_secret,
            expires_at: s.expires_at,
            tools: public_tools(s),
        }
    }
}

/// A session token just issued.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionTokenView {
    /// `hst_…`: starts one session, once, before `expiresAt`.
    pub session_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A session's tools declared for one LLM API; `tools` drops into the LLM request as it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionToolsView {
    pub format: ExportFormat,
    /// Each tool in the format's own shape.
    #[schema(value_type = Vec<Object>)]
    pub tools: Vec<Value>,
}
