//! Per-instance caches on the hot path: each session's snapshot, compiled argument validators
//! (once per tool version), and each organization's signing secrets (for a few seconds).
//!
//! A session's snapshot is taken when the session starts and never changes, except an MCP
//! session's, which follows its persona's tools: a `tools/list` retakes it and announces
//! `config:<session>` on the event hub. Such a session's calls normally come through the MCP
//! server, which keeps its own copy, but its id is a session id like any other and may be
//! called through `POST /v1/sessions/{id}/tool-calls` too; so this cache also drops a snapshot
//! on that word (and everything when word may have been missed), as the MCP server's does.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use sqlx::PgPool;
use uuid::Uuid;

use hookline_core::fenced_cache::FencedCache;
use hookline_core::hub::EventHub;
use hookline_core::repo::{sessions, signing_secrets};
use hookline_core::snapshot::{SessionConfig, SnapshotTool};
use hookline_core::{SecretBox, StoreResult};
use hookline_schema::ArgumentValidator;

/// How long signing secrets are trusted; a rotation elsewhere is seen within this time.
pub const SECRETS_TTL: Duration = Duration::from_secs(5);
/// Session snapshots kept: at most about this many bytes of memory (see [`CachedSession::weigh`]).
pub const SESSIONS_BYTES: u64 = 256 * 1024 * 1024;
/// A decoded snapshot holds about this many times its JSON size (maps, strings and tool
/// definitions each allocated on their own): a soak's heap profile measured ~4.6 KiB held for
/// 905 bytes of JSON (docs/reliability.md).
const DECODED_PER_JSON_BYTE: u64 = 5;
/// Compiled validators kept (one per tool version, or per inline tool of a session).
pub const VALIDATORS_LIMIT: u64 = 10_000;
/// Organizations whose signing secrets are kept.
pub const SECRETS_LIMIT: u64 = 10_000;
/// A session snapshot not used for this long is dropped. A session that ended, or that its
/// client left, is never asked for again, so what the cache holds is the sessions used within
/// this time; at an hour, an instance whose conversations started ~25 sessions a minute held
/// every one of them (~4.6 KiB each as decoded) and grew for the whole hour (a soak run,
/// docs/reliability.md). A session idle longer costs one read by primary key when it comes back.
pub const SESSION_IDLE: Duration = Duration::from_secs(300);
/// A validator not used for this long is dropped (one per tool version, so few, and compiling
/// one again is slow work).
pub const VALIDATOR_IDLE: Duration = Duration::from_secs(3600);

pub struct CachedSession {
    pub id: Uuid,
    pub org_id: Uuid,
    pub config: SessionConfig,
    /// What the snapshot holds in memory, its weight in the cache.
    weight: u32,
}

impl CachedSession {
    /// A session read by its caller, to keep in a cache of its own (not weighed here).
    pub fn read(row: sessions::Session) -> Self {
        Self {
            id: row.id,
            org_id: row.org_id,
            config: row.config.0,
            weight: 0,
        }
    }

    /// What the snapshot holds in memory, estimated from its size as JSON: what a cache of
    /// sessions weighs it by, so the cache's bound is a bound on memory.
    pub fn weigh(config: &SessionConfig) -> u32 {
        serde_json::to_vec(config).map_or(u32::MAX, |json| {
            let held = (json.len() as u64).saturating_mul(DECODED_PER_JSON_BYTE);
            u32::try_from(held).unwrap_or(u32::MAX)
        })
    }
}

#[derive(Hash, PartialEq, Eq, Clone)]
enum ValidatorKey {
    Stored(Uuid, i32),
    Inline(Uuid, String),
}

/// Bounded caches (least recently and frequently used entries go first when full, each entry
/// expires on its own), so a full cache never sends the whole hot path to the database at once.
pub struct Caches {
    /// A lookup that raced a retaken snapshot's word cannot keep the old snapshot.
    sessions: FencedCache<Uuid, Arc<CachedSession>>,
    validators: Cache<ValidatorKey, Arc<ArgumentValidator>>,
    /// A lookup that raced a rotation on this instance cannot put the old secrets back.
    secrets: FencedCache<Uuid, Arc<Vec<String>>>,
}

impl Default for Caches {
    fn default() -> Self {
        Self {
            sessions: FencedCache::new(
                Cache::builder()
                    .max_capacity(SESSIONS_BYTES)
                    .weigher(|_, s: &Arc<CachedSession>| s.weight)
                    .time_to_idle(SESSION_IDLE)
                    .build(),
            ),
            validators: Cache::builder()
                .max_capacity(VALIDATORS_LIMIT)
                .time_to_idle(VALIDATOR_IDLE)
                .build(),
            secrets: FencedCache::new(
                Cache::builder()
                    .max_capacity(SECRETS_LIMIT)
                    .time_to_live(SECRETS_TTL)
                    .build(),
            ),
        }
    }
}

impl Caches {
    /// Empty caches whose session snapshots are dropped when the event hub says they were
    /// retaken, from now on (subscribed before any snapshot is read to be kept).
    pub fn start(hub: &EventHub) -> Self {
        let caches = Self::default();
        caches.sessions.follow_retaken_sessions(hub);
        caches
    }

    /// The organization's session `id`, from memory or the database.
    pub async fn session(
        &self,
        pool: &PgPool,
        org_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<Arc<CachedSession>>> {
        if let Some(found) = self.sessions.get(&id) {
            return Ok((found.org_id == org_id).then_some(found));
        }
        let ticket = self.sessions.ticket();
        let Some(row) = sessions::get(pool, org_id, id).await? else {
            return Ok(None);
        };
        let weight = CachedSession::weigh(&row.config.0);
        let cached = Arc::new(CachedSession {
            id,
            org_id,
            config: row.config.0,
            weight,
        });
        self.sessions.remember(ticket, id, cached.clone());
        Ok(Some(cached))
    }

    /// The compiled validator of a session's tool, if it has been compiled already (compiling
    /// is slow work, done by [`Caches::validator`] off the runtime).
    pub fn compiled_validator(
        &self,
        session_id: Uuid,
        tool: &SnapshotTool,
    ) -> Option<Arc<ArgumentValidator>> {
        self.validators.get(&validator_key(session_id, tool))
    }

    /// The compiled validator of a session's tool.
    pub fn validator(
        &self,
        session_id: Uuid,
        tool: &SnapshotTool,
    ) -> Result<Arc<ArgumentValidator>, String> {
        let key = validator_key(session_id, tool);
        if let Some(found) = self.validators.get(&key) {
            return Ok(found);
        }
        let schema = tool.tool.definition.llm_parameters();
        let compiled = Arc::new(ArgumentValidator::new(Some(&schema))?);
        self.validators.insert(key, compiled.clone());
        Ok(compiled)
    }

    /// The organization's signing secrets that sign now.
    pub async fn signing_secrets(
        &self,
        pool: &PgPool,
        secrets: &SecretBox,
        org_id: Uuid,
    ) -> StoreResult<Arc<Vec<String>>> {
        if let Some(found) = self.secrets.get(&org_id) {
            return Ok(found);
        }
        let ticket = self.secrets.ticket();
        let active: Vec<String> = signing_secrets::active(pool, secrets, org_id)
            .await?
            .into_iter()
            .map(|s| s.secret.expose().to_owned())
            .collect();
        let active = Arc::new(active);
        self.secrets.remember(ticket, org_id, active.clone());
        Ok(active)
    }

    /// Forgets an organization's signing secrets (after a rotation on this instance).
    pub fn forget_secrets(&self, org_id: Uuid) {
        self.secrets.forget(&org_id);
    }
}

fn validator_key(session_id: Uuid, tool: &SnapshotTool) -> ValidatorKey {
    match (tool.tool_id, tool.version) {
        (Some(id), Some(version)) => ValidatorKey::Stored(id, version),
        _ => ValidatorKey::Inline(session_id, tool.tool.definition.name().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inline_tool() -> SnapshotTool {
        serde_json::from_value(serde_json::json!({
            "definition": {"type": "client", "name": "pick_color", "description": "Pick one",
                           "parameters": {"type": "object",
                                          "properties": {"color": {"type": "string"}}}}
        }))
        .expect("a valid snapshot tool")
    }

    #[test]
    fn a_full_cache_evicts_entries_not_everything() {
        let caches = Caches::default();
        let tool = inline_tool();
        let hot_session = Uuid::now_v7();
        let hot = caches.validator(hot_session, &tool).unwrap();
        for _ in 0..VALIDATORS_LIMIT + 2_000 {
            caches.validator(Uuid::now_v7(), &tool).unwrap();
            // The hot session keeps being used while the others come and go.
            caches.validator(hot_session, &tool).unwrap();
        }
        caches.validators.run_pending_tasks();
        assert!(caches.validators.entry_count() <= VALIDATORS_LIMIT);
        let again = caches.validator(hot_session, &tool).unwrap();
        assert!(
            Arc::ptr_eq(&hot, &again),
            "the hot validator was compiled again"
        );
    }
}
