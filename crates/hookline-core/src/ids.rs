//! Typed ids of the resources a path can name. A route takes `InPath<ToolId>` instead of a string
//! it parses itself, so an id cannot be passed where another kind is meant, and every route
//! answers a malformed id the same way (404 naming the resource, as for an id that is not there).

use uuid::Uuid;

/// A resource's id, and what the resource is called when it is not found ("tool", "LLM").
pub trait ResourceId: Copy {
    const WHAT: &'static str;
    fn new(id: Uuid) -> Self;
}

macro_rules! resource_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl ResourceId for $name {
            const WHAT: &'static str = $what;
            fn new(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

resource_id!(
    /// A stored tool.
    ToolId,
    "tool"
);
resource_id!(
    /// A stored persona.
    PersonaId,
    "persona"
);
resource_id!(
    /// An LLM connection.
    LlmId,
    "LLM"
);
resource_id!(
    /// A connection (OAuth2 client credentials) webhook tools authenticate with.
    ConnectionId,
    "connection"
);
resource_id!(
    /// An organization API key.
    ApiKeyId,
    "API key"
);
resource_id!(
    /// A session.
    SessionId,
    "session"
);
resource_id!(
    /// A tool call (Hookline's id, not the caller's `toolCallId`).
    ToolCallId,
    "tool call"
);
resource_id!(
    /// A knowledge folder.
    FolderId,
    "knowledge folder"
);
resource_id!(
    /// A knowledge document.
    DocumentId,
    "document"
);
