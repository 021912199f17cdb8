//! A bounded cache whose invalidations win. A lookup reads the database without a lock, so it may
//! read a value just before it is changed (an API key revoked, signing secrets rotated) and finish
//! after the change dropped the cached entry; put back, the stale value would be served until it
//! expires. Each lookup therefore takes a ticket (the count of invalidations so far) before it
//! reads, and its answer is kept only if nothing was invalidated since. Invalidations are rare, so
//! a lookup that overlaps one merely goes uncached.

use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use moka::sync::Cache;

#[derive(Clone)]
pub struct FencedCache<K, V> {
    entries: Cache<K, V>,
    invalidations: Arc<Mutex<u64>>,
}

impl<K, V> FencedCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new(entries: Cache<K, V>) -> Self {
        Self {
            entries,
            invalidations: Arc::default(),
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key)
    }

    /// To take before reading what is to be cached.
    pub fn ticket(&self) -> u64 {
        *self.invalidations.lock().expect("invalidations lock")
    }

    /// Keeps a lookup's answer, unless something was invalidated after the lookup's `ticket`
    /// (the answer may predate it). False when it was not kept.
    pub fn remember(&self, ticket: u64, key: K, value: V) -> bool {
        // Held while inserting, so an invalidation cannot slip between the check and the insert.
        let invalidations = self.invalidations.lock().expect("invalidations lock");
        if *invalidations != ticket {
            return false;
        }
        self.entries.insert(key, value);
        true
    }

    /// Drops an entry whose value changed; call it after the change is committed.
    pub fn forget<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut invalidations = self.invalidations.lock().expect("invalidations lock");
        *invalidations += 1;
        self.entries.invalidate(key);
    }

    /// Drops every entry (when word of changes may have been missed).
    pub fn forget_all(&self) {
        let mut invalidations = self.invalidations.lock().expect("invalidations lock");
        *invalidations += 1;
        self.entries.invalidate_all();
    }
}

impl<V> FencedCache<uuid::Uuid, V>
where
    V: Clone + Send + Sync + 'static,
{
    /// Keeps this cache of session snapshots true to the event hub's word, from now on: a
    /// session whose snapshot was retaken ([`crate::hub::config_changed`], on any instance) is
    /// dropped, and everything when word may have been missed (the listener reconnected, or
    /// this cache fell behind). Call it before any snapshot is read to be kept.
    pub fn follow_retaken_sessions(&self, hub: &crate::hub::EventHub) {
        use crate::hub::ConfigNote;
        use tokio::sync::broadcast::error::RecvError;
        let mut notes = hub.watch_configs();
        let entries = self.clone();
        tokio::spawn(async move {
            loop {
                match notes.recv().await {
                    Ok(ConfigNote::Changed(id)) => entries.forget(&id),
                    Ok(ConfigNote::Reconnected) | Err(RecvError::Lagged(_)) => {
                        entries.forget_all();
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }
}
