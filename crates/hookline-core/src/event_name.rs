//! The names of the events on a session's stream (the SSE `event:` field, the Anam JS SDK's
//! names). Every service that appends events names them from this one set, which the
//! `session_events` table's CHECK constraint also holds (the latest migration that sets it,
//! `migrations/0014_follow_ups.sql`): a
//! new event is a new variant and a migration, never a stray string.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "camelCase")]
#[sqlx(type_name = "text", rename_all = "camelCase")]
pub enum EventName {
    ToolCallStarted,
    ToolCallCompleted,
    ToolCallFailed,
    /// A call the conversation runtime did not run (see the conversations docs).
    ToolCallRefused,
    SessionEnded,
    MessageStreamEvent,
    MessageHistoryUpdated,
    TurnFailed,
    /// The persona scheduled a follow-up (`schedule_followup`).
    FollowUpScheduled,
    /// A follow-up's own turn began.
    FollowUpStarted,
}

impl EventName {
    pub const ALL: [Self; 10] = [
        Self::ToolCallStarted,
        Self::ToolCallCompleted,
        Self::ToolCallFailed,
        Self::ToolCallRefused,
        Self::SessionEnded,
        Self::MessageStreamEvent,
        Self::MessageHistoryUpdated,
        Self::TurnFailed,
        Self::FollowUpScheduled,
        Self::FollowUpStarted,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ToolCallStarted => "toolCallStarted",
            Self::ToolCallCompleted => "toolCallCompleted",
            Self::ToolCallFailed => "toolCallFailed",
            Self::ToolCallRefused => "toolCallRefused",
            Self::SessionEnded => "sessionEnded",
            Self::MessageStreamEvent => "messageStreamEvent",
            Self::MessageHistoryUpdated => "messageHistoryUpdated",
            Self::TurnFailed => "turnFailed",
            Self::FollowUpScheduled => "followUpScheduled",
            Self::FollowUpStarted => "followUpStarted",
        }
    }
}

impl std::fmt::Display for EventName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_spelled_as_before() {
        for e in EventName::ALL {
            assert_eq!(
                serde_json::to_value(e).unwrap(),
                serde_json::json!(e.as_str())
            );
        }
    }
}
