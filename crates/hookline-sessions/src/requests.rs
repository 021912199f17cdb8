//! What the sessions service takes: the bodies, for the OpenAPI document (the handlers read
//! bodies with `hookline-schema`'s checkers; these types state the same rules for clients and
//! contract tests), and the list's query parameters, read and checked here.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use utoipa::ToSchema;
use uuid::Uuid;

use hookline_core::http::{ApiError, Pagination, QueryMap};
use hookline_core::repo::sessions::{SessionFilter, SessionStatus};
use hookline_schema::{PersonaDetails, ToolDefinition, Violations};

/// What a session token is issued for. Unknown fields are refused.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionTokenRequest {
    pub persona_config: PersonaConfig,
    /// Shown on the session; at most 256 characters.
    #[schema(max_length = 256)]
    pub client_label: Option<String>,
    /// How long the token may wait to be used: 1 to 86400 seconds (default 3600).
    #[schema(minimum = 1, maximum = 86400)]
    pub expires_in_seconds: Option<i64>,
}

/// A stored persona by id, or an ephemeral one described in full.
#[derive(Debug, ToSchema)]
#[serde(untagged)]
pub enum PersonaConfig {
    Stored(StoredPersonaConfig),
    Ephemeral(EphemeralPersonaConfig),
}

/// A stored persona of the organization: its fields and tools as they are now.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoredPersonaConfig {
    pub persona_id: Uuid,
    /// Values for the tools' `{{name}}` references: at most 50 snake_case names, each a string
    /// of at most 4 KiB. Sealed at rest, never shown to the browser, masked in the call log.
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    pub variables: Option<std::collections::HashMap<String, String>>,
}

/// A persona for this session only: stored tools by id and inline tool definitions. Unknown
/// fields are refused (named closed in the sessions' document: serde's `deny_unknown_fields`
/// does not combine with `flatten`).
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EphemeralPersonaConfig {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[serde(flatten)]
    #[schema(inline)]
    pub details: PersonaDetails,
    /// Stored tools of the organization, each once.
    pub tool_ids: Option<Vec<Uuid>>,
    /// Inline tool definitions, checked as `POST /v1/tools` checks them.
    pub tools: Option<Vec<ToolDefinition>>,
    /// Values for the tools' `{{name}}` references: at most 50 snake_case names, each a string
    /// of at most 4 KiB. Sealed at rest, never shown to the browser, masked in the call log.
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    pub variables: Option<std::collections::HashMap<String, String>>,
}

/// What `GET /v1/sessions` is asked for: a page, and optionally a persona and a status.
#[derive(Debug, Clone)]
pub struct SessionListParams {
    pub page: Pagination,
    pub filter: SessionFilter,
}

impl SessionListParams {
    /// Reads `page`, `perPage`, `personaId` and `status`; every one that is wrong is reported,
    /// by its name, in one 422. A well-formed `personaId` that is no persona of the caller's
    /// simply matches no session (sessions outlive their persona, and keep its id).
    pub fn from_query(query: &QueryMap) -> Result<Self, ApiError> {
        let mut v = Violations::new();
        let page = Pagination::read(query, &mut v);
        let persona_id = query
            .get("personaId")
            .and_then(|text| match Uuid::parse_str(text) {
                Ok(id) => Some(id),
                Err(_) => {
                    v.rule("personaId", "must be a UUID");
                    None
                }
            });
        let status = query
            .get("status")
            .and_then(|name| match SessionStatus::parse(name) {
                Some(status) => Some(status),
                None => {
                    v.rule("status", "must be active, ended or expired");
                    None
                }
            });
        let filter = SessionFilter { persona_id, status };
        v.into_result(Self { page, filter })
            .map_err(ApiError::invalid)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SessionListParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Self::from_query(&QueryMap::from_request_parts(parts, state).await?)
    }
}

/// The filters of `GET /v1/sessions`, for the API reference (its page parameters are
/// `PageQuery`'s, as every list's).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SessionListQuery {
    /// Only the sessions of this persona (an id that is no persona of yours matches none).
    persona_id: Option<Uuid>,
    /// Only the sessions in this status.
    status: Option<SessionStatus>,
}
