//! Per-instance caches on the hot path: each session's snapshot (immutable once the session
//! exists, so it never goes stale), compiled argument validators (once per tool version), and
//! each organization's signing secrets (for a few seconds).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use uuid::Uuid;

use hookline_core::repo::{sessions, signing_secrets};
use hookline_core::snapshot::{SessionConfig, SnapshotTool};
use hookline_core::{SecretBox, StoreResult};
use hookline_schema::ArgumentValidator;

const LIMIT: usize = 10_000;
/// How long signing secrets are trusted; a rotation elsewhere is seen within this time.
pub const SECRETS_TTL: Duration = Duration::from_secs(5);

pub struct CachedSession {
    pub id: Uuid,
    pub org_id: Uuid,
    pub config: SessionConfig,
}

#[derive(Hash, PartialEq, Eq, Clone)]
enum ValidatorKey {
    Stored(Uuid, i32),
    Inline(Uuid, String),
}

type SecretsEntry = (Arc<Vec<String>>, Instant);

#[derive(Default)]
pub struct Caches {
    sessions: RwLock<HashMap<Uuid, Arc<CachedSession>>>,
    validators: RwLock<HashMap<ValidatorKey, Arc<ArgumentValidator>>>,
    secrets: RwLock<HashMap<Uuid, SecretsEntry>>,
}

fn insert_bounded<K: std::hash::Hash + Eq, V>(map: &RwLock<HashMap<K, V>>, key: K, value: V) {
    let mut map = map.write().expect("cache lock");
    if map.len() >= LIMIT {
        map.clear();
    }
    map.insert(key, value);
}

impl Caches {
    /// The organization's session `id`, from memory or the database.
    pub async fn session(
        &self,
        pool: &PgPool,
        org_id: Uuid,
        id: Uuid,
    ) -> StoreResult<Option<Arc<CachedSession>>> {
        if let Some(found) = self.sessions.read().expect("cache lock").get(&id) {
            return Ok((found.org_id == org_id).then(|| found.clone()));
        }
        let Some(row) = sessions::get(pool, org_id, id).await? else {
            return Ok(None);
        };
        let cached = Arc::new(CachedSession {
            id,
            org_id,
            config: row.config.0,
        });
        insert_bounded(&self.sessions, id, cached.clone());
        Ok(Some(cached))
    }

    /// The compiled validator of a session's tool.
    pub fn validator(
        &self,
        session_id: Uuid,
        tool: &SnapshotTool,
    ) -> Result<Arc<ArgumentValidator>, String> {
        let key = match (tool.tool_id, tool.version) {
            (Some(id), Some(version)) => ValidatorKey::Stored(id, version),
            _ => ValidatorKey::Inline(session_id, tool.tool.definition.name().to_owned()),
        };
        if let Some(found) = self.validators.read().expect("cache lock").get(&key) {
            return Ok(found.clone());
        }
        let schema = tool.tool.definition.llm_parameters();
        let compiled = Arc::new(ArgumentValidator::new(Some(&schema))?);
        insert_bounded(&self.validators, key, compiled.clone());
        Ok(compiled)
    }

    /// The organization's signing secrets that sign now.
    pub async fn signing_secrets(
        &self,
        pool: &PgPool,
        secrets: &SecretBox,
        org_id: Uuid,
    ) -> StoreResult<Arc<Vec<String>>> {
        if let Some((found, at)) = self.secrets.read().expect("cache lock").get(&org_id) {
            if at.elapsed() < SECRETS_TTL {
                return Ok(found.clone());
            }
        }
        let active: Vec<String> = signing_secrets::active(pool, secrets, org_id)
            .await?
            .into_iter()
            .map(|s| s.secret.expose().to_owned())
            .collect();
        let active = Arc::new(active);
        insert_bounded(&self.secrets, org_id, (active.clone(), Instant::now()));
        Ok(active)
    }

    /// Forgets an organization's signing secrets (after a rotation on this instance).
    pub fn forget_secrets(&self, org_id: Uuid) {
        self.secrets.write().expect("cache lock").remove(&org_id);
    }
}
