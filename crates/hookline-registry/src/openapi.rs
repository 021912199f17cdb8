//! The registry's part of the OpenAPI document.

use chrono::{DateTime, Utc};
use hookline_core::http::{ListMeta, ListPage, ProblemDocument};
use hookline_schema::definition::{
    ClientTool, HttpMethod, ServerSubtype, SystemTool, SystemToolName, WebhookTool,
};
use hookline_schema::{FieldError, ToolDefinition};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

use crate::requests::{ApiKeyInput, PersonaInput, PersonaPatch, ToolPatch};
use crate::views::{ApiKeyView, NewApiKeyView, PersonaToolView, PersonaView, ToolView};

/// An LLM connection's fields (all optional in an update).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct LlmInput {
    /// 1–100 characters, unique in the organization.
    name: String,
    /// `openai` (Chat Completions and compatible servers) or `anthropic` (Messages).
    #[schema(example = "openai")]
    provider: String,
    /// Default `https://api.openai.com/v1` (openai) or `https://api.anthropic.com` (anthropic);
    /// the same outbound rules as a webhook URL.
    base_url: Option<String>,
    /// 1–200 characters.
    model: String,
    /// Sealed at rest; sending the masked preview back keeps the stored key.
    api_key: Option<String>,
    /// 0–2.
    temperature: Option<f64>,
    /// 1–100,000.
    max_tokens: Option<i64>,
    /// 1–120 (default 30): bounds each LLM request, not a whole turn.
    timeout_seconds: Option<i64>,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct LlmResponse {
    id: Uuid,
    name: String,
    provider: String,
    base_url: String,
    model: String,
    /// `"••••"` and the last 4 characters (keys of 12 characters or more), or null for none.
    api_key: Option<String>,
    temperature: Option<f64>,
    max_tokens: Option<i64>,
    timeout_seconds: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// How many personas use it.
    usage_count: i64,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LlmList {
    data: Vec<LlmResponse>,
    meta: ListMeta,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::routes::tools::create, crate::routes::tools::list, crate::routes::tools::read, crate::routes::tools::replace,
        crate::routes::tools::update, crate::routes::tools::delete,
        crate::routes::personas::create, crate::routes::personas::list, crate::routes::personas::read,
        crate::routes::personas::replace, crate::routes::personas::update, crate::routes::personas::delete,
        crate::routes::personas::attach, crate::routes::personas::detach,
        crate::routes::api_keys::list, crate::routes::api_keys::create, crate::routes::api_keys::revoke,
        crate::routes::llms::create, crate::routes::llms::list, crate::routes::llms::read, crate::routes::llms::put,
        crate::routes::llms::update, crate::routes::llms::delete,
    ),
    components(schemas(
        ToolDefinition, WebhookTool, ClientTool, SystemTool, SystemToolName, HttpMethod,
        ServerSubtype, ToolView, ListPage<ToolView>, ToolPatch, PersonaInput, PersonaPatch, PersonaView,
        PersonaToolView, ListPage<PersonaView>, ApiKeyInput, ApiKeyView, NewApiKeyView, ListPage<ApiKeyView>,
        ProblemDocument, FieldError, ListMeta, LlmInput, LlmResponse, LlmList,
    )),
    tags(
        (name = "tools", description = "Webhook, client and system tools"),
        (name = "personas", description = "Personas and the tools they may call"),
        (name = "api-keys", description = "Organization API keys"),
        (name = "llms", description = "LLM connections of the conversation runtime"),
    )
)]
pub struct RegistryApi;
