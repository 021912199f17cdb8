//! The bodies the conversation routes take. A body is read with `hookline-schema`'s checkers
//! (every problem reported, each by its field path) into the type the OpenAPI document derives
//! its schema from, so both state the same rules.

use hookline_core::http::Check;
use hookline_core::Settings;
use serde_json::Value;
use utoipa::ToSchema;

use hookline_schema::fields::{object_at, Fields};
use hookline_schema::Violations;

/// Longest user message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 10_000;

/// A user message. Unknown fields are refused.
#[derive(Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    /// 1–10,000 characters, not blank.
    #[schema(min_length = 1, max_length = 10000, pattern = r"\S")]
    pub content: String,
}

impl Check for PostMessage {
    /// Reads a message body, reporting every problem.
    fn check(body: &Value, _: &Settings) -> Result<Self, Violations> {
        let map = object_at(body, "")?;
        let mut v = Violations::new();
        let mut f = Fields::new(map, "", &mut v);
        let content = f.required_string("content").map(str::to_owned);
        f.finish("a message");
        if let Some(text) = &content {
            let n = text.chars().count();
            if n == 0 || n > MAX_MESSAGE_CHARS || text.trim().is_empty() {
                v.rule(
                    "content",
                    format!("must be 1 to {MAX_MESSAGE_CHARS} characters, not blank"),
                );
            }
        }
        v.into_result(Self {
            content: content.unwrap_or_default(),
        })
    }
}
