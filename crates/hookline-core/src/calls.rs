//! The states of a tool call as the call log stores them: its status, and when it failed, the
//! error it carries (a kind from a closed set, a message, and for bad arguments every problem by
//! field path). They are enums and a struct rather than text and free JSON so a typo is a build
//! error, metrics read the kind without parsing, and the database refuses anything else (the
//! CHECK constraints of `migrations/0005_typed_state.sql`).
//!
//! They live here, not in the engine, because the repositories store them and several services
//! read them (the engine writes calls, the conversation runtime reads their answers); and not in
//! `hookline-schema`, which is the tool model and stays free of database code.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use hookline_schema::FieldError;

/// Where a call is: `pending` (stored, not yet running: a fire-and-forget call waiting for
/// delivery, or a client call sent to the browser), `running`, or settled as `completed` or
/// `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum CallStatus {
    Pending,
    Running,
    Completed,
    Failed,
}

impl CallStatus {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Running, Self::Completed, Self::Failed];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// Completed or failed: the call has its result and will not change again.
    pub const fn is_settled(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }

    /// How a call that ran to its end is recorded.
    pub const fn of_end(completed: bool) -> Self {
        if completed {
            Self::Completed
        } else {
            Self::Failed
        }
    }
}

impl std::fmt::Display for CallStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a call failed, as the LLM and the metrics see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ErrorKind {
    /// The arguments do not fit the tool's parameters (`errors` lists every problem).
    InvalidArguments,
    /// The endpoint answered with a status outside 2xx.
    HttpStatus,
    Timeout,
    Connection,
    /// The destination is not one this server may call (SSRF policy).
    BlockedDestination,
    ResponseTooLarge,
    /// The browser did not answer a client tool in time.
    ClientTimeout,
    /// The browser answered a client tool with an error.
    ClientError,
    /// A stored secret of the call was sealed with an encryption key this server lacks.
    EncryptionKeyMissing,
    /// The tool answered with an error of its own: an MCP server's `isError` result or JSON-RPC
    /// error.
    ToolError,
    /// The tool's own limits (`limits.maxConcurrent`, `limits.perSecond`) held the call until its
    /// timeout.
    RateLimited,
    /// The credentials of the tool's connection could not be had: its token endpoint refused or
    /// answered something that is not a token.
    Auth,
}

impl ErrorKind {
    pub const ALL: [Self; 12] = [
        Self::InvalidArguments,
        Self::HttpStatus,
        Self::Timeout,
        Self::Connection,
        Self::BlockedDestination,
        Self::ResponseTooLarge,
        Self::ClientTimeout,
        Self::ClientError,
        Self::EncryptionKeyMissing,
        Self::ToolError,
        Self::RateLimited,
        Self::Auth,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArguments => "invalid_arguments",
            Self::HttpStatus => "http_status",
            Self::Timeout => "timeout",
            Self::Connection => "connection",
            Self::BlockedDestination => "blocked_destination",
            Self::ResponseTooLarge => "response_too_large",
            Self::ClientTimeout => "client_timeout",
            Self::ClientError => "client_error",
            Self::EncryptionKeyMissing => "encryption_key_missing",
            Self::ToolError => "tool_error",
            Self::RateLimited => "rate_limited",
            Self::Auth => "auth",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error a failed call carries: `{kind, message, errors?}` on the wire and in the call log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CallFailure {
    pub kind: ErrorKind,
    pub message: String,
    /// Every problem with the arguments, by field path (`invalid_arguments` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl CallFailure {
    /// The call log's `jsonb` cannot hold U+0000, which a message may quote from an argument or
    /// an answer, so it is replaced.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let mut message: String = message.into();
        if message.contains('\0') {
            message = message.replace('\0', "\u{fffd}");
        }
        Self {
            kind,
            message,
            errors: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_are_spelled_as_before() {
        for s in CallStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
            assert_eq!(
                serde_json::from_value::<CallStatus>(json!(s.as_str())).unwrap(),
                s
            );
        }
        for k in ErrorKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
            assert_eq!(
                serde_json::from_value::<ErrorKind>(json!(k.as_str())).unwrap(),
                k
            );
        }
        assert!(serde_json::from_value::<CallStatus>(json!("done")).is_err());
    }

    #[test]
    fn a_failure_keeps_its_wire_shape() {
        let plain = CallFailure::new(ErrorKind::Timeout, "slow\0");
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"kind":"timeout","message":"slow�"}"#
        );
        let mut invalid = CallFailure::new(ErrorKind::InvalidArguments, "bad");
        invalid.errors.push(FieldError::new("city", "is required"));
        let text = serde_json::to_string(&invalid).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"invalid_arguments","message":"bad","errors":[{"field":"city","message":"is required"}]}"#
        );
        assert_eq!(serde_json::from_str::<CallFailure>(&text).unwrap(), invalid);
    }
}
