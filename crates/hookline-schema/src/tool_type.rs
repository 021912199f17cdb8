//! A tool's `type`, the tag of [`crate::ToolDefinition`]: where the tool runs. It is stored in
//! the tools and call-log tables and labels metrics, so it is a closed set, not text.
//!
//! With the `sqlx` feature (turned on by `hookline-core`, which stores it) it is also a Postgres
//! `text` value; without it this crate stays free of any database code.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `server` (a webhook), `client` (the browser runs it) or `system` (Hookline answers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(
    feature = "sqlx",
    derive(sqlx::Type),
    sqlx(type_name = "text", rename_all = "lowercase")
)]
pub enum ToolType {
    Server,
    Client,
    System,
}

impl ToolType {
    pub const ALL: [Self; 3] = [Self::Server, Self::Client, Self::System];

    /// As the API and the database spell it (and as a metrics label).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
            Self::System => "system",
        }
    }
}

impl std::fmt::Display for ToolType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compared with its text, as code that knew it as a string did.
impl PartialEq<&str> for ToolType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_the_json() {
        for t in ToolType::ALL {
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::json!(t.as_str())
            );
            let back: ToolType = serde_json::from_value(serde_json::json!(t.as_str())).unwrap();
            assert_eq!(back, t);
        }
    }
}
