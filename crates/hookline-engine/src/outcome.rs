//! What a webhook's answer means for the LLM: a completed call with the parsed answer, or a failed
//! one with an error kind it can explain, and results cut to what it can read.

use std::time::Duration;

use serde_json::{json, Map, Value};

use hookline_core::{CallFailure, CallStatus, ErrorKind};

use crate::outbound::{Answer, SendError};

/// The LLM is given at most this much of an answer.
pub const MAX_RESULT_BYTES: usize = 16 * 1024;

/// How one attempt ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub completed: bool,
    pub result: Value,
    pub error: Option<CallFailure>,
    pub http_status: Option<u16>,
    pub truncated: bool,
    /// The answer as the call log keeps it (status, headers, capped body).
    pub response: Option<Value>,
    /// Whether trying again could help (connection errors, timeouts, 5xx, 429).
    pub retryable: bool,
    /// The wait the endpoint's `Retry-After` asked for.
    pub retry_after: Option<Duration>,
}

impl Outcome {
    pub fn failed(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            completed: false,
            result: Value::Null,
            error: Some(CallFailure::new(kind, message)),
            http_status: None,
            truncated: false,
            response: None,
            retryable: matches!(kind, ErrorKind::Timeout | ErrorKind::Connection),
            retry_after: None,
        }
    }

    /// A call that ran to its end without an error.
    pub fn completed(result: Value) -> Self {
        Self {
            completed: true,
            result,
            error: None,
            http_status: None,
            truncated: false,
            response: None,
            retryable: false,
            retry_after: None,
        }
    }

    pub fn error_message(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.message.as_str())
    }

    pub fn error_kind(&self) -> Option<ErrorKind> {
        self.error.as_ref().map(|e| e.kind)
    }

    /// `completed`, or the error kind of a failed call: the attempt log's `outcome` and the
    /// metrics' label.
    pub fn label(&self) -> &'static str {
        match self.error_kind() {
            _ if self.completed => CallStatus::Completed.as_str(),
            Some(kind) => kind.as_str(),
            None => CallStatus::Failed.as_str(),
        }
    }

    pub fn from_send(sent: Result<Answer, SendError>) -> Self {
        let answer = match sent {
            Ok(answer) => answer,
            Err(SendError::Blocked(b)) => {
                b.log();
                return Self::failed(ErrorKind::BlockedDestination, b.to_string());
            }
            Err(SendError::Timeout(m)) => return Self::failed(ErrorKind::Timeout, m),
            Err(SendError::Connection(m)) => return Self::failed(ErrorKind::Connection, m),
            Err(SendError::TooLarge { status }) => {
                let mut o = Self::failed(
                    ErrorKind::ResponseTooLarge,
                    "the endpoint answered with more than 1 MiB; return only what the LLM needs",
                );
                o.http_status = Some(status);
                return o;
            }
        };
        let (body, truncated) = readable_body(&answer.body);
        let headers: Map<String, Value> = answer
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    Value::String(String::from_utf8_lossy(v.as_bytes()).into()),
                )
            })
            .collect();
        let response = json!({"status": answer.status, "headers": headers, "body": body});
        let status = answer.status;
        if (200..300).contains(&status) {
            return Self {
                http_status: Some(status),
                truncated,
                response: Some(response),
                ..Self::completed(body)
            };
        }
        let retry_after = crate::retry::retry_after(&answer.headers);
        Self {
            completed: false,
            result: json!({"status": status, "body": body}),
            error: Some(CallFailure::new(
                ErrorKind::HttpStatus,
                format!("the endpoint answered HTTP {status}"),
            )),
            http_status: Some(status),
            truncated,
            response: Some(response),
            retryable: status >= 500 || status == 429,
            retry_after,
        }
    }
}

/// The body as JSON when it parses, else as text; over [`MAX_RESULT_BYTES`] it becomes the first
/// 16 KiB of its text (cut at a character boundary).
pub fn readable_body(bytes: &[u8]) -> (Value, bool) {
    let text = String::from_utf8_lossy(bytes);
    if bytes.len() > MAX_RESULT_BYTES {
        let kept = hookline_core::text::cut(&text, MAX_RESULT_BYTES);
        return (Value::String(kept.to_owned()), true);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return (Value::Null, false);
    }
    let value = serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(text.into_owned()));
    (value, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_parsed_or_cut() {
        assert_eq!(readable_body(br#"{"a":1}"#), (json!({"a": 1}), false));
        assert_eq!(readable_body(b"plain"), (json!("plain"), false));
        assert_eq!(readable_body(b""), (Value::Null, false));
        let big = "é".repeat(10_000);
        let (cut, truncated) = readable_body(big.as_bytes());
        assert!(truncated);
        let cut = cut.as_str().unwrap();
        assert!(cut.len() <= MAX_RESULT_BYTES && cut.len() > MAX_RESULT_BYTES - 2);
    }
}
