//! What every Hookline service shares: typed settings, the Postgres pool and the one schema's
//! migrations, the repositories (all SQL lives here, scoped by organization), the secret box that
//! seals header values and signing secrets, and the error types.
//!
//! Depends on `hookline-schema` only; the service crates depend on it, never the reverse.

pub mod calls;
pub mod config_error;
pub mod conversation;
pub mod credential;
pub mod db;
pub mod dev_key;
pub mod durable_write;
pub mod error;
pub mod event_name;
pub mod fenced_cache;
pub mod http;
pub mod hub;
pub mod ids;
pub mod refusals;
pub mod repo;
pub mod sealed_tool;
pub mod secrets;
pub mod session_end;
pub mod settings;
pub mod snapshot;
pub mod text;
pub mod vectors;

pub use calls::{CallFailure, CallStatus, ErrorKind};
pub use conversation::{FollowUpStatus, Role, StoredCall};
pub use error::{StoreError, StoreResult};
pub use event_name::EventName;
pub use secrets::{SecretBox, SecretString};
pub use settings::{Mode, Settings};
