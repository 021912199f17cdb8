//! The error of a setting that cannot be read: one line for the operator, naming the setting.
//! Its own module so that what reads settings (`settings/`, `dev_key.rs`) shares it without
//! importing each other.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);
