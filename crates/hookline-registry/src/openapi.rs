//! The registry's part of the OpenAPI document.

use hookline_core::http::{ListMeta, ListPage, ProblemDocument};
use hookline_schema::definition::{
    ClientTool, HttpMethod, ServerSubtype, SystemTool, SystemToolName, WebhookTool,
};
use hookline_schema::{FieldError, ToolDefinition};
use utoipa::OpenApi;

use crate::requests::{ApiKeyInput, PersonaInput, PersonaPatch, ToolPatch};
use crate::views::{ApiKeyView, NewApiKeyView, PersonaToolView, PersonaView, ToolView};

#[derive(OpenApi)]
#[openapi(
    paths(
        crate::tools::create, crate::tools::list, crate::tools::read, crate::tools::replace,
        crate::tools::update, crate::tools::delete,
        crate::personas::create, crate::personas::list, crate::personas::read,
        crate::personas::replace, crate::personas::update, crate::personas::delete,
        crate::personas::attach, crate::personas::detach,
        crate::api_keys::list, crate::api_keys::create, crate::api_keys::revoke,
    ),
    components(schemas(
        ToolDefinition, WebhookTool, ClientTool, SystemTool, SystemToolName, HttpMethod,
        ServerSubtype, ToolView, ListPage<ToolView>, ToolPatch, PersonaInput, PersonaPatch, PersonaView,
        PersonaToolView, ListPage<PersonaView>, ApiKeyInput, ApiKeyView, NewApiKeyView, ListPage<ApiKeyView>,
        ProblemDocument, FieldError, ListMeta,
    )),
    tags(
        (name = "tools", description = "Webhook, client and system tools"),
        (name = "personas", description = "Personas and the tools they may call"),
        (name = "api-keys", description = "Organization API keys"),
    )
)]
pub struct RegistryApi;
