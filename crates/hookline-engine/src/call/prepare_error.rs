//! Why a webhook call's request could not be prepared: a stored secret that does not open, a
//! variable without a value or one that cannot go where the tool puts it. Shared by the request
//! builder (`webhook.rs`) and the variables it fills in (`variables.rs`).

use serde_json::json;

use hookline_core::ErrorKind;

/// Why a call could not be prepared.
pub(crate) enum PrepareError {
    /// A stored secret (`what`) was sealed with key `key_id`, which is not configured: the
    /// operator must add that key, so it gets its own kind and says which key.
    MissingKey {
        what: &'static str,
        key_id: String,
    },
    /// Variables the request uses that have no value: nothing is sent.
    MissingVariables(Vec<String>),
    /// A variable whose value cannot go where the tool puts it.
    Variable(String, &'static str),
    Other(String),
}

impl PrepareError {
    pub(crate) fn secret(what: &'static str, e: hookline_core::secrets::SecretError) -> Self {
        match e {
            hookline_core::secrets::SecretError::UnknownKey(key_id) => {
                Self::MissingKey { what, key_id }
            }
            other => Self::Other(format!("a stored {what} does not open: {other}")),
        }
    }

    /// The answer of a route that prepares a request without running it (the dry run).
    pub(crate) fn into_api_error(self) -> hookline_core::http::ApiError {
        match self {
            Self::MissingKey { .. } => hookline_core::http::ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                format!("{self}; the operator must add that key to HOOKLINE_ENCRYPTION_OLD_KEYS"),
            )
            .with("kind", json!(ErrorKind::EncryptionKeyMissing)),
            Self::MissingVariables(_) | Self::Variable(..) => {
                hookline_core::http::ApiError::invalid(self.violations())
            }
            Self::Other(e) => hookline_core::http::ApiError::internal(e),
        }
    }
}

impl std::fmt::Display for PrepareError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MissingKey { what, key_id } => write!(
                f,
                "a stored {what} was encrypted with key {key_id}, which this server is not configured with"
            ),
            Self::MissingVariables(names) => write!(
                f,
                "the tool uses variables the session has no value for: {}",
                names.join(", ")
            ),
            Self::Variable(name, why) => write!(f, "the variable {name} {why}"),
            Self::Other(e) => f.write_str(e),
        }
    }
}

impl PrepareError {
    /// A variable problem by field (`variables.<name>`), as a failed call and a 422 name it.
    pub(crate) fn violations(&self) -> hookline_schema::Violations {
        let mut v = hookline_schema::Violations::new();
        match self {
            Self::MissingVariables(names) => {
                for name in names {
                    v.rule(
                        format!("variables.{name}"),
                        "is used by the tool but has no value in this session",
                    );
                }
            }
            Self::Variable(name, why) => v.rule(format!("variables.{name}"), *why),
            _ => {}
        }
        v
    }
}
