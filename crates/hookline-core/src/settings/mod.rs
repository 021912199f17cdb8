//! Typed settings: defaults, then an optional `hookline.toml`, then the environment
//! (`HOOKLINE_*`, and `DATABASE_URL`), checked once at start with messages that say what is wrong
//! and how to fix it.

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;

use hookline_schema::definition::MAX_TIMEOUT_SECONDS;
use hookline_schema::DestinationPolicy;

pub use crate::config_error::ConfigError;

use crate::secrets::{SecretBox, KEY_BYTES};

mod raw;
#[cfg(test)]
mod tests;

pub use raw::{LogFormat, Mode, RawSettings, MCP_SESSION_MAX_SECONDS};

/// Checked settings, ready to run on.
#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    /// Where the event hub listens and migrations run: `HOOKLINE_DATABASE_DIRECT_URL`, or
    /// `database_url` when that is unset.
    pub database_direct_url: Option<String>,
    pub listen: SocketAddr,
    pub mode: Mode,
    pub secrets: SecretBox,
    pub cors_origins: Vec<String>,
    pub destinations: DestinationPolicy,
    pub log_format: LogFormat,
    pub delivery: DeliverySettings,
    /// Where `/metrics` is served; `None` when turned off.
    pub metrics_listen: Option<SocketAddr>,
    pub limits: Limits,
    pub turns: TurnLimits,
    pub database: DatabaseSettings,
    pub knowledge: KnowledgeSettings,
    pub connections: ConnectionSettings,
    pub import: ImportSettings,
    pub mcp: McpSettings,
    /// Development mode's key, when it is in use (see [`Settings::keep_dev_key`]).
    pub dev_key: Option<crate::dev_key::DevKey>,
    /// How long an ended or expired session is kept with everything it recorded; `None`: for
    /// good.
    pub session_retention: Option<Duration>,
}

/// What one client, or all of them together, may hold of an instance.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A client must send a request's headers within this (slow-header clients are cut off).
    pub header_read_timeout: Duration,
    /// A request's body must arrive whole within this.
    pub body_read_timeout: Duration,
    /// Open connections; further clients wait in the listen queue.
    pub max_connections: usize,
    /// Event streams open at once for one session, and on the instance.
    pub streams_per_session: usize,
    pub streams_per_instance: usize,
    /// Client-tool calls waiting at once for a browser's answer on the instance.
    pub client_waits: usize,
}

/// What one turn of the conversation runtime takes from its LLM, and what a session may post. A
/// tenant chooses its LLM, so the LLM's output is attacker input: each bound is where it stops.
#[derive(Debug, Clone)]
pub struct TurnLimits {
    /// A tool call's arguments (JSON text); past it the call is refused as `invalid_arguments`.
    pub argument_bytes: usize,
    /// Tool calls run per LLM response, and per turn; calls past them are refused to the LLM.
    pub calls_per_response: usize,
    pub calls_per_turn: usize,
    /// Characters of the persona's text per LLM response, and per turn (`reply_too_long`).
    pub round_chars: usize,
    pub reply_chars: usize,
    /// Events a turn may store (its speech is coalesced while the database is busy).
    pub events: usize,
    /// Bytes of conversation sent to the LLM (the most recent messages that fit).
    pub history_bytes: usize,
    /// A line of the LLM's event stream, and a whole JSON answer, in bytes.
    pub line_bytes: usize,
    pub messages_per_second: f64,
    pub message_burst: u32,
    /// Follow-ups a session may have waiting at once.
    pub followups_per_session: u32,
}

/// Bounds of knowledge documents and their processing.
#[derive(Debug, Clone)]
pub struct KnowledgeSettings {
    /// The bytes of uploaded documents one organization may keep.
    pub storage_bytes: u64,
    /// Documents one process works on at once.
    pub workers: usize,
    /// Uploads one process reads at once: each may hold up to 101 MiB of files while it is
    /// read and stored, so this bounds what uploads can take of the process's memory.
    pub uploads: usize,
    /// The longest one document's text extraction and chunking may take.
    pub document_time: Duration,
    /// The most chunks one document may be cut into.
    pub max_chunks: usize,
    /// The most bytes of JSON a knowledge tool's call gives the LLM.
    pub tool_result_bytes: usize,
    /// Chunks a search ranks at most from each way a chunk may match (all words, two of them, a
    /// heading word, any word): ranking reads every candidate, so this bounds a search's cost.
    pub search_candidates: u32,
    /// Chunks one request to the embedding model carries at most.
    pub embed_batch: usize,
    /// Bytes of chunk text one request to the embedding model carries at most (a chunk larger
    /// than this goes alone).
    pub embed_batch_bytes: usize,
    /// The most dimensions a vector may have; an answer with more is refused whole.
    pub embed_dimensions: usize,
    /// The most bytes of an embedding model's answer read; a larger one is refused whole.
    pub embed_response_bytes: usize,
    /// The wait before a document whose embedding failed is tried again; it doubles with each
    /// failure, up to 64 times this.
    pub embed_retry: Duration,
    /// The longest a search waits for its query's vector before it ranks lexically alone.
    pub query_embed_time: Duration,
    /// Vectors a search compares its query with at most (exact similarity reads each).
    pub semantic_chunks: usize,
    /// Bytes the folders' vectors kept in memory for hybrid search may take together, per
    /// process.
    pub vector_cache_bytes: usize,
}

impl KnowledgeSettings {
    /// How long a claimed document belongs to its process: its whole time bound, plus time to
    /// write its chunks, so a live holder is never overtaken.
    pub fn lease(&self) -> Duration {
        self.document_time * 2 + Duration::from_secs(30)
    }
}

/// How access tokens of connections (OAuth2 client credentials) are had and kept.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// The longest one token request may take.
    pub token_timeout: Duration,
    /// A token is fetched again this long before its `expires_in` runs out.
    pub refresh_margin: Duration,
    /// The lifetime assumed of a token whose answer has no `expires_in`.
    pub default_token_lifetime: Duration,
    /// How long an instance trusts the token it remembers before reading the shared row again
    /// (so an edited or deleted connection takes effect on every instance within it).
    pub recheck: Duration,
}

/// Bounds of `POST /v1/tools/import`.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// The largest OpenAPI document read, in bytes.
    pub max_bytes: usize,
    /// The most operations one document may turn into drafts.
    pub max_operations: usize,
    /// The deepest chain of `$ref`s (and nested schemas) followed while resolving a schema.
    pub max_ref_depth: usize,
}

/// Bounds of MCP both ways: the servers personas use as tool sources, and the sessions MCP
/// clients open on a persona.
#[derive(Debug, Clone)]
pub struct McpSettings {
    /// The longest a tool source's listing may take (`initialize`, `tools/list` and its pages).
    pub list_time: Duration,
    /// How long a source that could not be listed offers nothing before it is tried again.
    pub retry_listing_after: Duration,
    /// The bytes the sessions' kept listings may hold together, per process.
    pub listings_bytes: u64,
    /// Sources remembered as failed at once, per process.
    pub failed_listings: u64,
    /// At most this many of a source's tools are offered to the LLM.
    pub source_tools: usize,
    /// How long an MCP client's session lives.
    pub session_seconds: i64,
    /// `GET` streams (the server's own messages) one MCP session may hold open on one instance.
    pub streams_per_session: usize,
}

/// How many connections each of the process's Postgres pools holds at most, and how long a
/// statement waits for one.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseSettings {
    pub pool_size: u32,
    pub fast_pool_size: u32,
    /// How long a statement waits for a connection before it fails as `Unavailable` (a 503):
    /// while Postgres is down a new connection is refused and retried until then, so this is
    /// how long the first requests of an outage take to answer (see `crate::db::away`).
    pub acquire_timeout: Duration,
}

/// The bounds of `HOOKLINE_DATABASE_ACQUIRE_TIMEOUT_MS`: below 100 ms a busy pool's ordinary
/// wait would fail requests; above 5 s a turn's lease renewals (every 5 s, each of which may
/// wait this long) could let its 30 s lease run out during a short outage.
pub const ACQUIRE_TIMEOUT_MS: std::ops::RangeInclusive<u64> = 100..=5_000;

/// The shortest delivery lease: the longest tool timeout plus time to look the call up before
/// the attempt and to record its outcome after it. A shorter lease could run out while its
/// attempt is still in flight and let a second process send the call again.
pub const MIN_LEASE_SECONDS: u64 = MAX_TIMEOUT_SECONDS as u64 + 15;

/// How fire-and-forget calls are retried.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub workers: usize,
    pub lease: Duration,
    /// The most calls of one organization in delivery at once, over all processes.
    pub org_concurrency: usize,
}

const MAKE_A_KEY: &str =
    "make one with `openssl rand -base64 32` (or add `--dev` to the command to try Hookline locally)";

impl Settings {
    /// Checks raw settings. `dev_flag` is `serve --dev`, the same as `HOOKLINE_ENV=development`.
    pub fn check(raw: RawSettings, dev_flag: bool) -> Result<Self, ConfigError> {
        let mode = if dev_flag { Mode::Development } else { raw.env };
        let listen = raw.listen.parse().map_err(|_| {
            ConfigError(format!(
                "HOOKLINE_LISTEN must be an address and port such as 127.0.0.1:8080 (got {:?})",
                raw.listen
            ))
        })?;
        check_database_url("DATABASE_URL", &raw.database_url)?;
        let database_direct_url = raw
            .database_direct_url
            .clone()
            .filter(|u| !u.trim().is_empty());
        if let Some(url) = &database_direct_url {
            check_database_url("HOOKLINE_DATABASE_DIRECT_URL", url)?;
        }
        let (secrets, dev_key) = secrets(&raw, mode)?;
        let allowed_networks = split_list(&raw.allowed_networks)
            .map(parse_network)
            .collect::<Result<Vec<_>, _>>()?;
        let destinations = DestinationPolicy {
            development: mode == Mode::Development,
            allowed_networks,
        };
        let metrics_listen = match raw.metrics_listen.trim() {
            "" => None,
            text => Some(text.parse().map_err(|_| {
                ConfigError(format!(
                    "HOOKLINE_METRICS_LISTEN must be an address and port such as 127.0.0.1:9464, or empty to turn metrics off (got {text:?})"
                ))
            })?),
        };
        Ok(Self {
            database: DatabaseSettings::check(&raw)?,
            knowledge: KnowledgeSettings::check(&raw)?,
            connections: ConnectionSettings::check(&raw)?,
            import: ImportSettings::check(&raw)?,
            mcp: McpSettings::check(&raw)?,
            turns: TurnLimits::check(&raw)?,
            limits: Limits::check(&raw)?,
            delivery: DeliverySettings::check(&raw)?,
            metrics_listen,
            database_url: raw.database_url,
            database_direct_url,
            listen,
            mode,
            secrets,
            cors_origins: split_list(&raw.cors_origins).map(str::to_owned).collect(),
            destinations,
            log_format: raw.log_format,
            dev_key,
            session_retention: (raw.session_retention_days > 0)
                .then(|| Duration::from_secs(u64::from(raw.session_retention_days) * 86_400)),
        })
    }

    /// Writes development mode's key if it was generated by this start; commands call it once
    /// they reached their database, before sealing anything with it.
    pub fn keep_dev_key(&self) -> Result<(), ConfigError> {
        self.dev_key.as_ref().map_or(Ok(()), |k| k.keep())
    }
}

/// The sealing keys: the current one (in development, a key of its own kept in a file when none
/// is set) and the old ones values may still be sealed with.
fn secrets(
    raw: &RawSettings,
    mode: Mode,
) -> Result<(SecretBox, Option<crate::dev_key::DevKey>), ConfigError> {
    let mut dev_key = None;
    let current = match (&raw.encryption_key, mode) {
        (Some(key), _) if !key.trim().is_empty() => parse_key("HOOKLINE_ENCRYPTION_KEY", key)?,
        (_, Mode::Production) => {
            return Err(ConfigError(format!(
                "HOOKLINE_ENCRYPTION_KEY is required in production: {MAKE_A_KEY}"
            )))
        }
        (_, Mode::Development) => {
            let (key, kept) = crate::dev_key::load_or_generate(raw.dev_key_file.as_deref())?;
            dev_key = Some(kept);
            key
        }
    };
    let old = split_list(&raw.encryption_old_keys)
        .map(|k| parse_key("HOOKLINE_ENCRYPTION_OLD_KEYS", k))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((SecretBox::new(current, old), dev_key))
}

impl DeliverySettings {
    fn check(raw: &RawSettings) -> Result<Self, ConfigError> {
        if raw.delivery_max_attempts == 0 {
            return Err(ConfigError(
                "HOOKLINE_DELIVERY_MAX_ATTEMPTS must be at least 1".into(),
            ));
        }
        if raw.delivery_lease_seconds < MIN_LEASE_SECONDS {
            return Err(ConfigError(format!(
            "HOOKLINE_DELIVERY_LEASE_SECONDS must be at least {MIN_LEASE_SECONDS} (the longest tool timeout, {MAX_TIMEOUT_SECONDS} s, plus 15 s to record the outcome); got {}",
            raw.delivery_lease_seconds
        )));
        }
        let org_concurrency = raw
            .delivery_org_concurrency
            .map(|n| at_least_one("HOOKLINE_DELIVERY_ORG_CONCURRENCY", n))
            .transpose()?;
        let workers = raw.delivery_workers.max(1);
        Ok(Self {
            max_attempts: raw.delivery_max_attempts,
            backoff_base: Duration::from_millis(raw.delivery_backoff_base_ms.max(1)),
            backoff_max: Duration::from_millis(raw.delivery_backoff_max_ms.max(1)),
            workers,
            lease: Duration::from_secs(raw.delivery_lease_seconds),
            org_concurrency: org_concurrency.unwrap_or((workers / 4).max(1)),
        })
    }
}

impl Limits {
    fn check(raw: &RawSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            header_read_timeout: Duration::from_secs(at_least_one(
                "HOOKLINE_HEADER_READ_TIMEOUT_SECONDS",
                raw.header_read_timeout_seconds,
            )?),
            body_read_timeout: Duration::from_secs(at_least_one(
                "HOOKLINE_BODY_READ_TIMEOUT_SECONDS",
                raw.body_read_timeout_seconds,
            )?),
            max_connections: at_least_one("HOOKLINE_MAX_CONNECTIONS", raw.max_connections)?,
            streams_per_session: at_least_one(
                "HOOKLINE_STREAMS_PER_SESSION",
                raw.streams_per_session,
            )?,
            streams_per_instance: at_least_one(
                "HOOKLINE_STREAMS_PER_INSTANCE",
                raw.streams_per_instance,
            )?,
            client_waits: at_least_one("HOOKLINE_CLIENT_WAITS", raw.client_waits)?,
        })
    }
}

impl DatabaseSettings {
    fn check(raw: &RawSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            pool_size: at_least_one("HOOKLINE_DATABASE_POOL_SIZE", raw.database_pool_size)?,
            fast_pool_size: at_least_one(
                "HOOKLINE_DATABASE_FAST_POOL_SIZE",
                raw.database_fast_pool_size,
            )?,
            acquire_timeout: Duration::from_millis(in_range(
                "HOOKLINE_DATABASE_ACQUIRE_TIMEOUT_MS",
                raw.database_acquire_timeout_ms,
                ACQUIRE_TIMEOUT_MS,
            )?),
        })
    }
}

impl TurnLimits {
    fn check(raw: &RawSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            argument_bytes: at_least_one("HOOKLINE_TURN_ARGUMENT_BYTES", raw.turn_argument_bytes)?,
            calls_per_response: at_least_one(
                "HOOKLINE_TURN_CALLS_PER_RESPONSE",
                raw.turn_calls_per_response,
            )?,
            calls_per_turn: at_least_one("HOOKLINE_TURN_CALLS", raw.turn_calls)?,
            round_chars: at_least_one("HOOKLINE_TURN_ROUND_CHARS", raw.turn_round_chars)?,
            reply_chars: at_least_one("HOOKLINE_TURN_REPLY_CHARS", raw.turn_reply_chars)?,
            events: at_least_one("HOOKLINE_TURN_EVENTS", raw.turn_events)?,
            history_bytes: at_least_one("HOOKLINE_TURN_HISTORY_BYTES", raw.turn_history_bytes)?,
            line_bytes: at_least_one("HOOKLINE_LLM_LINE_BYTES", raw.llm_line_bytes)?,
            messages_per_second: positive(
                "HOOKLINE_SESSION_MESSAGES_PER_SECOND",
                raw.session_messages_per_second,
            )?,
            message_burst: at_least_one(
                "HOOKLINE_SESSION_MESSAGE_BURST",
                raw.session_message_burst,
            )?,
            followups_per_session: at_least_one(
                "HOOKLINE_FOLLOWUPS_PER_SESSION",
                raw.followups_per_session,
            )?,
        })
    }
}

impl KnowledgeSettings {
    fn check(raw: &RawSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            storage_bytes: at_least_one(
                "HOOKLINE_KNOWLEDGE_STORAGE_BYTES",
                raw.knowledge_storage_bytes,
            )?,
            workers: at_least_one("HOOKLINE_KNOWLEDGE_WORKERS", raw.knowledge_workers)?,
            uploads: at_least_one("HOOKLINE_KNOWLEDGE_UPLOADS", raw.knowledge_uploads)?,
            document_time: Duration::from_secs(at_least_one(
                "HOOKLINE_KNOWLEDGE_DOCUMENT_SECONDS",
                raw.knowledge_document_seconds,
            )?),
            max_chunks: at_least_one("HOOKLINE_KNOWLEDGE_MAX_CHUNKS", raw.knowledge_max_chunks)?,
            tool_result_bytes: at_least(
                "HOOKLINE_KNOWLEDGE_TOOL_RESULT_BYTES",
                raw.knowledge_tool_result_bytes,
                1024,
            )?,
            search_candidates: at_least_one(
                "HOOKLINE_KNOWLEDGE_SEARCH_CANDIDATES",
                raw.knowledge_search_candidates,
            )?,
            embed_batch: at_least_one("HOOKLINE_KNOWLEDGE_EMBED_BATCH", raw.knowledge_embed_batch)?,
            embed_batch_bytes: at_least(
                "HOOKLINE_KNOWLEDGE_EMBED_BATCH_BYTES",
                raw.knowledge_embed_batch_bytes,
                1024,
            )?,
            embed_dimensions: at_least_one(
                "HOOKLINE_KNOWLEDGE_EMBED_DIMENSIONS",
                raw.knowledge_embed_dimensions,
            )?,
            embed_response_bytes: at_least(
                "HOOKLINE_KNOWLEDGE_EMBED_RESPONSE_BYTES",
                raw.knowledge_embed_response_bytes,
                1024,
            )?,
            embed_retry: Duration::from_secs(at_least_one(
                "HOOKLINE_KNOWLEDGE_EMBED_RETRY_SECONDS",
                raw.knowledge_embed_retry_seconds,
            )?),
            query_embed_time: Duration::from_millis(at_least_one(
                "HOOKLINE_KNOWLEDGE_QUERY_EMBED_MS",
                raw.knowledge_query_embed_ms,
            )?),
            semantic_chunks: at_least_one(
                "HOOKLINE_KNOWLEDGE_SEMANTIC_CHUNKS",
                raw.knowledge_semantic_chunks,
            )?,
            vector_cache_bytes: raw.knowledge_vector_cache_mb.saturating_mul(1024 * 1024),
        })
    }
}

impl ConnectionSettings {
    fn check(raw: &RawSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            token_timeout: Duration::from_secs(at_least_one(
                "HOOKLINE_CONNECTION_TOKEN_TIMEOUT_SECONDS",
                raw.connection_token_timeout_seconds,
            )?),
            refresh_margin: Duration::from_secs(raw.connection_refresh_margin_seconds),
            default_token_lifetime: Duration::from_secs(at_least_one(
                "HOOKLINE_CONNECTION_DEFAULT_TOKEN_SECONDS",
                raw.connection_default_token_seconds,
            )?),
            recheck: Duration::from_secs(raw.connection_recheck_seconds),
        })
    }
}

impl ImportSettings {
    fn check(raw: &RawSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            max_bytes: at_least_one("HOOKLINE_IMPORT_MAX_BYTES", raw.import_max_bytes)?,
            max_operations: at_least_one(
                "HOOKLINE_IMPORT_MAX_OPERATIONS",
                raw.import_max_operations,
            )?,
            max_ref_depth: at_least_one("HOOKLINE_IMPORT_MAX_REF_DEPTH", raw.import_max_ref_depth)?,
        })
    }
}

impl McpSettings {
    fn check(raw: &RawSettings) -> Result<Self, ConfigError> {
        if !(1..=MCP_SESSION_MAX_SECONDS).contains(&raw.mcp_session_seconds) {
            return Err(ConfigError(format!(
            "HOOKLINE_MCP_SESSION_SECONDS must be 1 to {MCP_SESSION_MAX_SECONDS} (a session's longest lifetime); got {}",
            raw.mcp_session_seconds
        )));
        }
        Ok(Self {
            list_time: Duration::from_secs(at_least_one(
                "HOOKLINE_MCP_LIST_SECONDS",
                raw.mcp_list_seconds,
            )?),
            retry_listing_after: Duration::from_secs(at_least_one(
                "HOOKLINE_MCP_RETRY_LISTING_SECONDS",
                raw.mcp_retry_listing_seconds,
            )?),
            listings_bytes: at_least_one("HOOKLINE_MCP_LISTINGS_BYTES", raw.mcp_listings_bytes)?,
            failed_listings: at_least_one("HOOKLINE_MCP_FAILED_LISTINGS", raw.mcp_failed_listings)?,
            source_tools: at_least_one("HOOKLINE_MCP_SOURCE_TOOLS", raw.mcp_source_tools)?,
            session_seconds: raw.mcp_session_seconds,
            streams_per_session: at_least_one(
                "HOOKLINE_MCP_STREAMS_PER_SESSION",
                raw.mcp_streams_per_session,
            )?,
        })
    }
}

fn at_least_one<T: PartialOrd + From<u8>>(variable: &str, value: T) -> Result<T, ConfigError> {
    if value < T::from(1) {
        return Err(ConfigError(format!("{variable} must be at least 1")));
    }
    Ok(value)
}

/// At least `least`: a smaller bound would leave nothing useful (a knowledge tool's result of
/// less than a KiB holds barely one chunk).
fn at_least(variable: &str, value: usize, least: usize) -> Result<usize, ConfigError> {
    if value < least {
        return Err(ConfigError(format!("{variable} must be at least {least}")));
    }
    Ok(value)
}

/// A rate of at least one in 1,000 seconds (a smaller one would make waits too long to state).
fn in_range(
    variable: &str,
    value: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    if !range.contains(&value) {
        return Err(ConfigError(format!(
            "{variable} must be {} to {} (got {value})",
            range.start(),
            range.end()
        )));
    }
    Ok(value)
}

fn positive(variable: &str, value: f64) -> Result<f64, ConfigError> {
    if !(value.is_finite() && value >= 0.001) {
        return Err(ConfigError(format!(
            "{variable} must be a number of at least 0.001 (got {value})"
        )));
    }
    Ok(value)
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty())
}

pub(crate) fn parse_key(variable: &str, text: &str) -> Result<[u8; KEY_BYTES], ConfigError> {
    crate::secrets::key_from_base64(text).ok_or_else(|| {
        ConfigError(format!(
            "{variable} must be base64 of exactly 32 random bytes: {MAKE_A_KEY}"
        ))
    })
}

fn parse_network(text: &str) -> Result<IpNet, ConfigError> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| {
            ConfigError(format!(
                "HOOKLINE_ALLOWED_NETWORKS must be comma-separated CIDRs such as 10.1.0.0/16 (got {text:?})"
            ))
        })
}

/// Shows a database URL with its password hidden.
/// A misspelled scheme (`postgress://`) would otherwise be taken for Postgres by the driver, and
/// a URL that is not one at all fails later with the driver's words.
fn check_database_url(name: &str, url: &str) -> Result<(), ConfigError> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "postgres" | "postgresql") => Ok(()),
        Ok(parsed) => Err(ConfigError(format!(
            "{name} must start with postgres:// or postgresql:// (its scheme is {:?})",
            parsed.scheme()
        ))),
        Err(e) => Err(ConfigError(format!(
            "{name} must be a URL such as postgres://user@localhost:5432/hookline ({e})"
        ))),
    }
}

pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(unparseable URL)".into(),
    }
}
