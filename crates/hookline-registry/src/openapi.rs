//! The registry's part of the OpenAPI document.

use hookline_core::http::flattened::OneObject;
use hookline_core::http::{ListMeta, ListPage, ProblemDocument};
use hookline_schema::definition::{
    ClientTool, HttpMethod, ServerSubtype, SystemTool, SystemToolName, WebhookTool,
};
use hookline_schema::{ConnectionFields, FieldError, LlmFields, PersonaFields, ToolDefinition};
use utoipa::{OpenApi, ToSchema};

use crate::connection_wire::{ConnectionPatch, ConnectionView};
use crate::import_wire::{ImportInput, ImportStatus, ImportView, ImportedOperation};
use crate::requests::{ApiKeyInput, LlmPatch, PersonaPatch, ToolPatch};
use crate::views::{ApiKeyView, LlmView, NewApiKeyView, PersonaToolView, PersonaView, ToolView};

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
        crate::routes::connections::create, crate::routes::connections::list, crate::routes::connections::read,
        crate::routes::connections::put, crate::routes::connections::update, crate::routes::connections::delete,
        crate::routes::import::import,
    ),
    components(schemas(
        ToolDefinition, WebhookTool, ClientTool, SystemTool, SystemToolName, HttpMethod,
        ServerSubtype, ToolView, ListPage<ToolView>, ToolPatch, PersonaFields, PersonaPatch, PersonaView,
        PersonaToolView, ListPage<PersonaView>, ApiKeyInput, ApiKeyView, NewApiKeyView, ListPage<ApiKeyView>,
        ProblemDocument, FieldError, ListMeta, LlmFields, LlmPatch, LlmView, ListPage<LlmView>,
        ConnectionFields, ConnectionPatch, ConnectionView, ListPage<ConnectionView>,
        ImportInput, ImportView, ImportedOperation, ImportStatus,
    )),
    modifiers(&ONE_OBJECT),
    tags(
        (name = "tools", description = "Webhook, client and system tools"),
        (name = "personas", description = "Personas and the tools they may call"),
        (name = "api-keys", description = "Organization API keys"),
        (name = "llms", description = "LLM connections of the conversation runtime"),
        (name = "connections", description = "OAuth2 client credentials webhook tools authenticate with"),
    )
)]
pub struct RegistryApi;

/// The persona's bodies embed its fields flattened; their checker refuses unknown fields.
const ONE_OBJECT: OneObject = OneObject {
    closed: &[
        <PersonaFields as ToSchema>::name,
        <PersonaPatch as ToSchema>::name,
    ],
};
