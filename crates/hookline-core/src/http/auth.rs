//! API-key authentication, with a short per-instance cache so the hot path does not ask the
//! database on every request. A revoked key stops working at once on the instance that revoked
//! it (its entry is dropped, and a lookup that raced the revocation cannot put it back) and
//! within `CACHE_TTL` everywhere else. A key's `lastUsedAt` is written off the request path, at
//! most once every `LAST_USED_EVERY` per key and instance.

use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use moka::sync::Cache;
use sqlx::PgPool;
use uuid::Uuid;

use super::problem::ApiError;
use super::CoreState;
use crate::credential;
use crate::fenced_cache::FencedCache;
use crate::repo::api_keys;

/// How long a looked-up key is trusted without asking the database again.
pub const CACHE_TTL: Duration = Duration::from_secs(1);
/// Looked-up keys (known or not) kept at once; the least used go first when it is full.
pub const CACHE_LIMIT: u64 = 100_000;
/// The most often one instance writes a key's `lastUsedAt`.
pub const LAST_USED_EVERY: Duration = Duration::from_secs(60);

/// The organization an API key speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub org_id: Uuid,
    pub key_id: Uuid,
}

/// Looked-up keys by hash; a lookup that raced a revocation cannot put the key back.
pub type KeyCache = FencedCache<Vec<u8>, Option<Caller>>;

fn key_cache() -> KeyCache {
    FencedCache::new(
        Cache::builder()
            .max_capacity(CACHE_LIMIT)
            .time_to_live(CACHE_TTL)
            .build(),
    )
}

#[derive(Clone)]
pub struct ApiKeyAuth {
    pool: PgPool,
    keys: KeyCache,
    /// Keys whose `lastUsedAt` this instance wrote within the last minute.
    used: Cache<Uuid, ()>,
}

impl ApiKeyAuth {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            keys: key_cache(),
            used: Cache::builder()
                .max_capacity(CACHE_LIMIT)
                .time_to_live(LAST_USED_EVERY)
                .build(),
        }
    }

    /// The caller behind `key`, or `None` for an unknown or revoked key.
    pub async fn check(&self, key: &str) -> Result<Option<Caller>, ApiError> {
        let hash = credential::hash(key);
        let caller = match self.keys.get(&hash) {
            Some(caller) => caller,
            None => self.look_up(hash).await?,
        };
        if let Some(caller) = caller {
            self.touch(caller.key_id);
        }
        Ok(caller)
    }

    async fn look_up(&self, hash: Vec<u8>) -> Result<Option<Caller>, ApiError> {
        let ticket = self.keys.ticket();
        let found = self.find(&hash).await?;
        if self.keys.remember(ticket, hash.clone(), found) {
            return Ok(found);
        }
        // A key was revoked while we read, and that revocation is committed by now: read again,
        // so a revoked key is never answered after its revocation returned.
        self.find(&hash).await
    }

    async fn find(&self, hash: &[u8]) -> Result<Option<Caller>, ApiError> {
        Ok(api_keys::find_active(&self.pool, hash)
            .await?
            .map(|(key_id, org_id)| Caller { org_id, key_id }))
    }

    /// Records that a key was used, in the background, once a minute at most.
    fn touch(&self, key_id: Uuid) {
        if self.used.contains_key(&key_id) || !self.used.entry(key_id).or_insert(()).is_fresh() {
            return;
        }
        let pool = self.pool.clone();
        tokio::spawn(async move {
            if let Err(e) = api_keys::touch(&pool, key_id).await {
                tracing::warn!(error = %e, %key_id, "could not record when an API key was last used");
            }
        });
    }

    /// Forgets a revoked key (by its hash) at once on this instance.
    pub fn forget(&self, key_hash: &[u8]) {
        self.keys.forget(key_hash);
    }
}

/// The bearer credential of a request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    CoreState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Some(key) = bearer(parts) else {
            return Err(ApiError::unauthorized(
                "send an API key as `Authorization: Bearer hk_...`",
            ));
        };
        if !key.starts_with(api_keys::KEY_PREFIX) {
            return Err(ApiError::unauthorized(
                "this route needs an organization API key (hk_...)",
            ));
        }
        CoreState::from_ref(state)
            .auth
            .check(key)
            .await?
            .ok_or_else(|| ApiError::unauthorized("the API key is unknown or revoked"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Option<Caller> {
        Some(Caller {
            org_id: Uuid::now_v7(),
            key_id: Uuid::now_v7(),
        })
    }

    #[test]
    fn a_lookup_that_raced_a_revocation_is_not_kept() {
        let cache = key_cache();
        let hash = credential::hash("hk_raced");
        // A lookup reads the key while it is still active...
        let ticket = cache.ticket();
        // ...the key is revoked and forgotten before the lookup gets to cache its answer...
        cache.forget(&hash);
        // ...so the stale answer is not kept.
        assert!(!cache.remember(ticket, hash.clone(), caller()));
        assert_eq!(cache.get(&hash), None);
        // A lookup that started after the revocation is kept as usual.
        let ticket = cache.ticket();
        assert!(cache.remember(ticket, hash.clone(), None));
        assert_eq!(cache.get(&hash), Some(None));
    }

    #[test]
    fn a_forgotten_key_is_gone_at_once() {
        let cache = key_cache();
        let hash = credential::hash("hk_known");
        let known = caller();
        assert!(cache.remember(cache.ticket(), hash.clone(), known));
        assert_eq!(cache.get(&hash), Some(known));
        cache.forget(&hash);
        assert_eq!(cache.get(&hash), None);
    }
}
