//! The bodies the sessions service takes, for the OpenAPI document. The handlers read bodies with
//! `hookline-schema`'s checkers; these types state the same rules for clients and contract tests.

use utoipa::ToSchema;
use uuid::Uuid;

use hookline_schema::{PersonaDetails, ToolDefinition};

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
}
