//! The registry's part of the OpenAPI document: shapes of what its routes take and give.

use chrono::{DateTime, Utc};
use hookline_core::http::{ListMeta, ProblemDocument};
use hookline_schema::definition::{
    ClientTool, HttpMethod, ServerSubtype, SystemTool, SystemToolName, WebhookTool,
};
use hookline_schema::{FieldError, ToolDefinition};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

/// A stored tool: its definition (header values masked) with its id and bookkeeping.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ToolResponse {
    id: Uuid,
    #[serde(flatten)]
    definition: ToolDefinition,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// How many personas use the tool.
    usage_count: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ToolList {
    data: Vec<ToolResponse>,
    meta: ListMeta,
}

/// A persona's writable fields.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PersonaInput {
    /// 1–100 characters.
    name: String,
    description: Option<String>,
    /// At most 100,000 characters.
    system_prompt: Option<String>,
    llm_id: Option<String>,
    language_code: Option<String>,
    avatar_id: Option<String>,
    voice_id: Option<String>,
    /// Tools of the same organization, in the order the persona lists them.
    tool_ids: Option<Vec<Uuid>>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PersonaToolRef {
    id: Uuid,
    name: String,
    #[schema(rename = "type")]
    tool_type: String,
    subtype: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PersonaResponse {
    id: Uuid,
    name: String,
    description: Option<String>,
    system_prompt: Option<String>,
    llm_id: Option<String>,
    language_code: Option<String>,
    avatar_id: Option<String>,
    voice_id: Option<String>,
    tool_ids: Vec<Uuid>,
    tools: Vec<PersonaToolRef>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PersonaList {
    data: Vec<PersonaResponse>,
    meta: ListMeta,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApiKeyInput {
    /// A label, 1–100 characters (default `default`).
    name: Option<String>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ApiKeyResponse {
    id: Uuid,
    name: String,
    /// The first characters of the key, to tell keys apart.
    key_prefix: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

/// A key just created: the only answer that holds the key itself.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ApiKeyCreated {
    id: Uuid,
    name: String,
    /// `hk_…`: send it as `Authorization: Bearer <key>`. Shown this once.
    key: String,
    key_prefix: String,
    created_at: DateTime<Utc>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApiKeyList {
    data: Vec<ApiKeyResponse>,
    meta: ListMeta,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::tools::create, crate::tools::list, crate::tools::read, crate::tools::update,
        crate::tools::delete,
        crate::personas::create, crate::personas::list, crate::personas::read,
        crate::personas::update, crate::personas::delete, crate::personas::attach,
        crate::personas::detach,
        crate::api_keys::list, crate::api_keys::create, crate::api_keys::revoke,
    ),
    components(schemas(
        ToolDefinition, WebhookTool, ClientTool, SystemTool, SystemToolName, HttpMethod,
        ServerSubtype, ToolResponse, ToolList, PersonaInput, PersonaResponse, PersonaToolRef,
        PersonaList, ApiKeyInput, ApiKeyResponse, ApiKeyCreated, ApiKeyList, ProblemDocument,
        FieldError, ListMeta,
    )),
    tags(
        (name = "tools", description = "Webhook, client and system tools"),
        (name = "personas", description = "Personas and the tools they may call"),
        (name = "api-keys", description = "Organization API keys"),
    )
)]
pub struct RegistryApi;
