//! The Hookline tool model: webhook, client and system tool definitions as customers write them,
//! every rule they must follow (all violations reported at once, with field paths), JSON Schema
//! checking and argument validation, the address classifier behind the SSRF policy, and the
//! export of tools to the OpenAI, Anthropic and MCP formats.
//!
//! This crate is pure: no database, no HTTP, no async runtime, so any service can use it.

pub mod connection;
pub mod definition;
pub mod destination;
pub mod endpoint;
pub mod expansion;
pub mod export;
pub mod fields;
pub mod json_schema;
pub mod knowledge_tool;
pub mod limits;
pub mod llm;
pub mod mcp_source;
pub mod name;
pub mod persona;
pub mod response;
pub mod schema_words;
pub mod server_tool;
pub mod tool_type;
pub mod variables;
pub mod violations;

pub use connection::{ConnectionFields, ConnectionType};
pub use definition::{
    mask_header_value, ClientTool, HttpMethod, SystemTool, SystemToolName, ToolDefinition,
    WebhookTool,
};
pub use destination::{classify, AddressClass, DestinationPolicy};
pub use export::{export, ExportFormat};
pub use json_schema::ArgumentValidator;
pub use llm::{LlmFields, LlmKind, Provider};
pub use name::ToolName;
pub use persona::{PersonaDetails, PersonaFields};
pub use tool_type::ToolType;
pub use violations::{FieldError, Violations};
