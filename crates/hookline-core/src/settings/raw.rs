//! The settings as the operator writes them (defaults → `hookline.toml` → environment), read
//! but not yet checked, with the two values every other setting is read against: the mode and
//! the log format.

use std::path::PathBuf;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::config_error::ConfigError;

/// The longest an MCP client's session may live: a session token's longest lifetime.
pub const MCP_SESSION_MAX_SECONDS: i64 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Production,
    Development,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The settings as written by the operator, before they are checked.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RawSettings {
    pub database_url: String,
    /// A connection straight to Postgres when `database_url` goes through a pooler in
    /// transaction mode: the event hub's `LISTEN` and the migrations' session lock need a
    /// connection of their own for as long as they last. Empty or unset: `database_url`.
    pub database_direct_url: Option<String>,
    pub listen: String,
    pub env: Mode,
    pub encryption_key: Option<String>,
    pub encryption_old_keys: String,
    pub cors_origins: String,
    pub allowed_networks: String,
    pub log_format: LogFormat,
    /// Where development mode keeps the key it generated (by default one place per user, see
    /// [`crate::dev_key::default_path`]).
    pub dev_key_file: Option<PathBuf>,
    pub delivery_max_attempts: u32,
    pub delivery_backoff_base_ms: u64,
    pub delivery_backoff_max_ms: u64,
    pub delivery_workers: usize,
    /// How long a claimed fire-and-forget call belongs to one process; past it (the process
    /// died), another claims it. At least [`MIN_LEASE_SECONDS`].
    pub delivery_lease_seconds: u64,
    /// Where `/metrics` is served (Prometheus text), apart from the API; empty turns it off.
    pub metrics_listen: String,
    pub header_read_timeout_seconds: u64,
    pub body_read_timeout_seconds: u64,
    pub max_connections: usize,
    pub streams_per_session: usize,
    pub streams_per_instance: usize,
    pub client_waits: usize,
    /// How many of one organization's calls may be in delivery at once, counted over every
    /// process; unset: a quarter of `delivery_workers` (at least 1).
    pub delivery_org_concurrency: Option<usize>,
    /// Connections of the process's main (durable) pool.
    pub database_pool_size: u32,
    /// Connections of each pool that commits without waiting for the disk (the engine's call
    /// log of answered calls, the conversation runtime's speech deltas).
    pub database_fast_pool_size: u32,
    /// How long a statement waits for a pooled connection (or a new one) before it fails as
    /// the database being unavailable, in milliseconds.
    pub database_acquire_timeout_ms: u64,
    /// What a turn takes from its LLM (see [`TurnLimits`]).
    pub turn_argument_bytes: usize,
    pub turn_calls_per_response: usize,
    pub turn_calls: usize,
    pub turn_round_chars: usize,
    pub turn_reply_chars: usize,
    pub turn_events: usize,
    pub turn_history_bytes: usize,
    pub llm_line_bytes: usize,
    /// User messages one session may post: a bucket of `session_message_burst`, refilled at
    /// `session_messages_per_second`.
    pub session_messages_per_second: f64,
    pub session_message_burst: u32,
    /// Follow-ups one session may have waiting at once (`schedule_followup`).
    pub followups_per_session: u32,
    /// Days an ended or expired session is kept, with its call log, events and messages; then
    /// the janitor deletes it. 0 keeps everything.
    pub session_retention_days: u32,
    pub knowledge_storage_bytes: u64,
    pub knowledge_workers: usize,
    /// Uploads one process reads at once (each holds its files in memory while it is read).
    pub knowledge_uploads: usize,
    pub knowledge_document_seconds: u64,
    pub knowledge_max_chunks: usize,
    pub connection_token_timeout_seconds: u64,
    pub connection_refresh_margin_seconds: u64,
    pub connection_default_token_seconds: u64,
    pub connection_recheck_seconds: u64,
    pub import_max_bytes: usize,
    pub import_max_operations: usize,
    pub import_max_ref_depth: usize,
    pub knowledge_tool_result_bytes: usize,
    pub knowledge_search_candidates: u32,
    pub knowledge_embed_batch: usize,
    pub knowledge_embed_batch_bytes: usize,
    pub knowledge_embed_dimensions: usize,
    pub knowledge_embed_response_bytes: usize,
    pub knowledge_embed_retry_seconds: u64,
    pub knowledge_query_embed_ms: u64,
    pub knowledge_semantic_chunks: usize,
    pub knowledge_vector_cache_mb: usize,
    pub mcp_list_seconds: u64,
    pub mcp_retry_listing_seconds: u64,
    pub mcp_listings_bytes: u64,
    pub mcp_failed_listings: u64,
    pub mcp_source_tools: usize,
    pub mcp_session_seconds: i64,
    pub mcp_streams_per_session: usize,
}

impl Default for RawSettings {
    fn default() -> Self {
        Self {
            database_url: "postgres://postgres@localhost:5432/hookline".into(),
            listen: "127.0.0.1:8080".into(),
            env: Mode::Production,
            encryption_key: None,
            encryption_old_keys: String::new(),
            cors_origins: String::new(),
            allowed_networks: String::new(),
            log_format: LogFormat::Text,
            dev_key_file: None,
            database_direct_url: None,
            delivery_max_attempts: 8,
            delivery_backoff_base_ms: 1000,
            delivery_backoff_max_ms: 300_000,
            delivery_workers: 64,
            delivery_lease_seconds: 90,
            metrics_listen: "127.0.0.1:9464".into(),
            header_read_timeout_seconds: 30,
            body_read_timeout_seconds: 30,
            max_connections: 10_240,
            streams_per_session: 10,
            streams_per_instance: 10_000,
            client_waits: 1_000,
            delivery_org_concurrency: None,
            database_pool_size: 32,
            database_fast_pool_size: 16,
            database_acquire_timeout_ms: 1000,
            turn_argument_bytes: 1024 * 1024,
            turn_calls_per_response: 16,
            turn_calls: 64,
            turn_round_chars: 32_000,
            turn_reply_chars: 100_000,
            turn_events: 10_000,
            turn_history_bytes: 256 * 1024,
            llm_line_bytes: 2 * 1024 * 1024,
            session_messages_per_second: 1.0,
            session_message_burst: 10,
            followups_per_session: 10,
            session_retention_days: 7,
            knowledge_storage_bytes: 1024 * 1024 * 1024,
            knowledge_workers: 1,
            knowledge_uploads: 4,
            knowledge_document_seconds: 120,
            knowledge_max_chunks: 100_000,
            connection_token_timeout_seconds: 10,
            connection_refresh_margin_seconds: 60,
            connection_default_token_seconds: 300,
            connection_recheck_seconds: 30,
            import_max_bytes: 4 * 1024 * 1024,
            import_max_operations: 500,
            import_max_ref_depth: 32,
            knowledge_tool_result_bytes: 16 * 1024,
            knowledge_search_candidates: 100,
            knowledge_embed_batch: 32,
            knowledge_embed_batch_bytes: 128 * 1024,
            knowledge_embed_dimensions: 4096,
            knowledge_embed_response_bytes: 8 * 1024 * 1024,
            knowledge_embed_retry_seconds: 30,
            knowledge_query_embed_ms: 2000,
            knowledge_semantic_chunks: 50_000,
            knowledge_vector_cache_mb: 512,
            mcp_list_seconds: 10,
            mcp_retry_listing_seconds: 30,
            mcp_listings_bytes: 64 * 1024 * 1024,
            mcp_failed_listings: 10_000,
            mcp_source_tools: 128,
            mcp_session_seconds: MCP_SESSION_MAX_SECONDS,
            mcp_streams_per_session: 4,
        }
    }
}

impl RawSettings {
    /// Reads defaults → `hookline.toml` (if present) → environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(std::path::Path::new(CONFIG_FILE))
    }

    fn load_from(file: &std::path::Path) -> Result<Self, ConfigError> {
        refuse_unknown_keys(file)?;
        Figment::from(Serialized::defaults(RawSettings::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("HOOKLINE_"))
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .extract()
            .map_err(|e| explain(&e))
    }
}

const CONFIG_FILE: &str = "hookline.toml";

/// A key of `hookline.toml` that no setting has is refused, with the nearest one suggested
/// (the environment is not checked: other tools' `HOOKLINE_*` variables may live there).
fn refuse_unknown_keys(file: &std::path::Path) -> Result<(), ConfigError> {
    if !file.exists() {
        return Ok(());
    }
    let keys: std::collections::BTreeMap<String, figment::value::Value> =
        Figment::from(Toml::file(file))
            .extract()
            .map_err(|e| ConfigError(format!("{} is not valid TOML: {e}", file.display())))?;
    let defaults = serde_json::to_value(RawSettings::default()).expect("settings serialize");
    let known: Vec<&str> = defaults
        .as_object()
        .expect("settings are an object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in keys.keys() {
        if !known.contains(&key.as_str()) {
            // A typo, or a longer name of a setting (`listen_addr` for `listen`).
            let hint = hookline_schema::fields::nearest(key, &known)
                .or_else(|| known.iter().copied().find(|k| key.starts_with(k)))
                .map(|near| format!(" (did you mean `{near}`?)"))
                .unwrap_or_default();
            return Err(ConfigError(format!(
                "{} has an unknown setting `{key}`{hint}; the settings are listed in docs/configuration.md",
                file.display()
            )));
        }
    }
    Ok(())
}

/// One line naming the setting (as an environment variable and a `hookline.toml` key) and what
/// it accepts, instead of the deserializer's own words.
fn explain(e: &figment::Error) -> ConfigError {
    use figment::error::Kind;
    let Some(key) = e.path.last() else {
        return ConfigError(format!("invalid configuration: {e}"));
    };
    let variable = if key == "database_url" {
        "DATABASE_URL".to_owned()
    } else {
        format!("HOOKLINE_{}", key.to_uppercase())
    };
    let what = match &e.kind {
        Kind::UnknownVariant(got, expected) => {
            format!("must be one of {} (got {got:?})", expected.join(", "))
        }
        Kind::InvalidType(got, expected) | Kind::InvalidValue(got, expected) => {
            format!("must be {expected} (got {got})")
        }
        other => other.to_string(),
    };
    ConfigError(format!("{variable} (`{key}` in {CONFIG_FILE}) {what}"))
}
