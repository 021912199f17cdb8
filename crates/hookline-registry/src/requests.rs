//! The bodies the registry's routes take. A type that implements [`Check`] is what its route
//! gets (`Checked<T>`) and its document at once; the others are documents of bodies that
//! `hookline-schema`'s types read (a patch is merged into the stored fields, then read whole, so
//! its document lists the same fields, each optional). A new persona's body is
//! `hookline_schema::PersonaFields` itself (named `PersonaInput` in the document). The persona
//! patch embeds [`PersonaDetails`] flattened, and is named closed in [`crate::openapi`] (serde's
//! `deny_unknown_fields` does not combine with `flatten`).

use hookline_core::http::Check;
use hookline_core::Settings;
use hookline_schema::fields::{object_at, Fields};
use hookline_schema::{PersonaDetails, Violations};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// Changes to a persona: the fields sent replace the stored ones, `null` clears one. Unknown
/// fields are refused.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersonaPatch {
    /// May be left out, not cleared: a persona always has a name.
    #[schema(nullable = false, min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[serde(flatten)]
    #[schema(inline)]
    pub details: PersonaDetails,
    pub tool_ids: Option<Vec<Uuid>>,
}

/// Changes to a tool: the fields sent replace the stored ones, `null` clears one; the result
/// must be a whole valid definition of the tool's type. A header sent back with its masked
/// preview keeps its stored value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolPatch {
    /// `server`, `client` or `system`.
    #[serde(rename = "type")]
    #[schema(nullable = false, pattern = "^(server|client|system)$")]
    pub tool_type: Option<String>,
    #[schema(nullable = false)]
    pub subtype: Option<String>,
    /// May be left out, not cleared, like every field a definition requires.
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[schema(nullable = false, max_length = 1024)]
    pub description: Option<String>,
    #[schema(nullable = false)]
    pub url: Option<String>,
    pub method: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub headers: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub query_parameters: Option<serde_json::Value>,
    pub await_response: Option<bool>,
    #[schema(minimum = 1, maximum = 60)]
    pub timeout_seconds: Option<u32>,
    pub disable_interruptions: Option<bool>,
    pub await_result: Option<bool>,
    #[schema(minimum = 1, maximum = 600)]
    pub result_timeout_seconds: Option<u32>,
}

/// A new API key. Unknown fields are refused.
#[derive(Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyInput {
    /// A label, 1–100 characters, not blank (default `default`).
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
}

impl Check for ApiKeyInput {
    fn check(body: &Value, _: &Settings) -> Result<Self, Violations> {
        const MAX_NAME_CHARS: usize = 100;
        let map = object_at(body, "")?;
        let mut v = Violations::new();
        let mut f = Fields::new(map, "", &mut v);
        let name = f.string("name").unwrap_or("default").to_owned();
        f.finish("an API key");
        if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS {
            v.rule(
                "name",
                format!("must be 1 to {MAX_NAME_CHARS} characters, not blank"),
            );
        }
        v.into_result(Self { name })
    }
}

/// Changes to an LLM connection: the fields sent replace the stored ones, `null` clears one.
/// `name`, `provider` and `model` may be left out but not cleared.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmPatch {
    #[schema(nullable = false)]
    pub name: Option<String>,
    /// May be sent only as it is: the kind is fixed once the entry exists.
    #[schema(nullable = false)]
    pub kind: Option<String>,
    #[schema(nullable = false, example = "openai")]
    pub provider: Option<String>,
    pub base_url: Option<String>,
    #[schema(nullable = false)]
    pub model: Option<String>,
    pub api_key: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<i64>,
    pub timeout_seconds: Option<i64>,
}
