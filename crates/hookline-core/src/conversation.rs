//! The closed sets and shapes of a conversation's stored rows: who said a message, the calls a
//! persona message asked for, and where a follow-up is. Each is stored in a `text`/`json`
//! column whose CHECK constraint holds the same set (migrations 0014 and 0022), as the call
//! log's states are (`calls.rs`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who a message of the conversation is from: the user, the persona (the LLM's reply, with
/// the calls it asked for) or a tool (a call's result, as the LLM was given it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Role {
    User,
    Persona,
    Tool,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Persona => "persona",
            Self::Tool => "tool",
        }
    }
}

/// A call a persona message asked for, as stored with the message and shown in its view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredCall {
    /// The LLM's own id of the call.
    pub tool_call_id: String,
    pub tool_name: String,
    /// The arguments as the LLM wrote them (text, which need not be JSON).
    pub arguments: String,
}

/// Where a follow-up is: waiting for its time (`pending`), taken by an instance about to start
/// it (`claimed`), `started` (its turn began) or `cancelled` (its session ended first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum FollowUpStatus {
    Pending,
    Claimed,
    Started,
    Cancelled,
}
