//! The knowledge folders' vectors kept in memory, per process, for hybrid search's exact
//! similarity (docs/knowledge.md, "Exact or HNSW"). Reading a folder's vectors from Postgres is
//! most of what an exact search costs (6 KiB a chunk at 1536 dimensions), so each process reads
//! a folder once and keeps the copy while it is true and there is room.
//!
//! A copy is true while its folder's `vectors_version` (a column that every change to the
//! folder's vectors moves, in the statement making the change) is the one the copy was read at:
//! each search reads the versions of its folders (one indexed row each), so a document embedded
//! or deleted through any process is seen by the next search of every other. The copies hold at
//! most `HOOKLINE_KNOWLEDGE_VECTOR_CACHE_MB` together; the folder searched longest ago goes first,
//! and a folder larger than the whole room is searched from Postgres as before, never copied.
//!
//! The search over a copy is the same as over the rows streamed from Postgres (the same dot
//! products, the same ranking), so the two answer the same chunks in the same order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::StoreResult;
use crate::repo::knowledge::embeddings::{self, dot, Best, Nearest};
use crate::repo::knowledge::folders::ModelStamp;
use crate::repo::llms::StoredLlm;

/// Vectors compared on the task serving the request at most; a larger search goes to a thread of
/// its own, so a long scan does not hold up the other requests of its runtime thread.
const INLINE_VECTORS: usize = 2_000;

/// Whose vectors a copy holds: one folder's, made by one embedding entry's model, for one
/// organization (which never reads another's copy: the key names it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FolderKey {
    pub org_id: Uuid,
    pub folder_id: Uuid,
    pub llm_id: Uuid,
    pub model: String,
}

/// One folder's vectors as read at `version`: `ids[i]`'s vector is
/// `flat[i * dimensions .. (i + 1) * dimensions]`, in chunk order.
#[derive(Debug)]
pub struct FolderVectors {
    pub version: i64,
    pub dimensions: usize,
    pub ids: Vec<i64>,
    pub flat: Vec<f32>,
}

impl FolderVectors {
    /// What the copy takes of the room.
    pub fn bytes(&self) -> usize {
        self.ids.len() * std::mem::size_of::<i64>() + self.flat.len() * std::mem::size_of::<f32>()
    }
}

/// The bytes one vector of `dimensions` takes in a copy (its chunk id with it).
pub fn bytes_per_vector(dimensions: usize) -> usize {
    dimensions * std::mem::size_of::<f32>() + std::mem::size_of::<i64>()
}

struct Held {
    vectors: Arc<FolderVectors>,
    /// When it was last searched, on [`Copies::clock`].
    used: u64,
}

#[derive(Default)]
struct Copies {
    held: HashMap<FolderKey, Held>,
    bytes: usize,
    clock: u64,
}

/// The process's copies. Cheap to clone (one set of copies shared).
#[derive(Clone)]
pub struct VectorCache {
    copies: Arc<Mutex<Copies>>,
    room: usize,
    /// One folder is read from Postgres at a time: searches that miss the same folder together
    /// wait for the first one's copy rather than each reading it.
    loading: Arc<tokio::sync::Mutex<()>>,
}

impl VectorCache {
    /// Copies holding at most `room` bytes together (0: none are kept, every search reads
    /// Postgres).
    pub fn new(room: usize) -> Self {
        Self {
            copies: Arc::default(),
            room,
            loading: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Copies> {
        self.copies.lock().expect("vector copies")
    }

    /// The copy of the folder read at `version` or later, with vectors of `dimensions`.
    pub fn get(
        &self,
        key: &FolderKey,
        version: i64,
        dimensions: usize,
    ) -> Option<Arc<FolderVectors>> {
        let mut copies = self.lock();
        copies.clock += 1;
        let now = copies.clock;
        let held = copies.held.get_mut(key)?;
        if held.vectors.version < version || held.vectors.dimensions != dimensions {
            return None;
        }
        held.used = now;
        Some(held.vectors.clone())
    }

    /// The most vectors of `dimensions` a folder may have to be copied.
    pub fn fits(&self, dimensions: usize) -> usize {
        self.room / bytes_per_vector(dimensions).max(1)
    }

    /// Keeps a copy (unless one read later is kept already), dropping the copies searched
    /// longest ago until it fits. False when it was not kept.
    pub fn keep(&self, key: FolderKey, vectors: Arc<FolderVectors>) -> bool {
        let size = vectors.bytes();
        if size > self.room {
            return false;
        }
        let mut copies = self.lock();
        if let Some(held) = copies.held.get(&key) {
            if held.vectors.version > vectors.version {
                return false;
            }
        }
        if let Some(old) = copies.held.remove(&key) {
            copies.bytes -= old.vectors.bytes();
        }
        while copies.bytes + size > self.room {
            let Some(oldest) = copies
                .held
                .iter()
                .min_by_key(|(_, h)| h.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(gone) = copies.held.remove(&oldest) {
                copies.bytes -= gone.vectors.bytes();
            }
        }
        copies.clock += 1;
        let used = copies.clock;
        copies.bytes += size;
        copies.held.insert(key, Held { vectors, used });
        true
    }

    /// Bytes the copies hold now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

/// Organizations whose embedding model a process keeps at most; past it the whole map starts
/// again (a model is one read away, and this many organizations searching is rare).
const MODELS_HELD: usize = 10_000;

/// Each organization's embedding model and the dimensions of its vectors, as this process last
/// read them, so a hybrid search does not read them again (two statements a search). A copy
/// is used only while it matches the [`ModelStamp`] the search's first statement read
/// (`folders::search_scope`): a new entry, a changed one or none at all is seen by the next
/// search of every process, with nothing to send between them. The dimensions cannot change
/// under a stamp while the model has vectors (a batch of another length is refused); when the
/// vectors went and came back with another length, the first search that sees the query's
/// length differ forgets the copy. A re-sealed API key keeps its `updated_at`, but the
/// process holding the old sealed value still holds the key that opens it (old keys are
/// dropped by a restart).
#[derive(Clone, Default)]
pub struct EmbeddingModels {
    held: Arc<Mutex<HashMap<Uuid, (StoredLlm, i32)>>>,
}

impl EmbeddingModels {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (StoredLlm, i32)>> {
        self.held.lock().expect("embedding models")
    }

    /// The organization's model and its vectors' dimensions, if the copy is the one `stamp`
    /// names.
    pub fn get(&self, org_id: Uuid, stamp: &ModelStamp) -> Option<(StoredLlm, i32)> {
        let held = self.lock();
        let (llm, dimensions) = held.get(&org_id)?;
        (llm.id == stamp.llm_id && llm.updated_at == stamp.updated_at)
            .then(|| (llm.clone(), *dimensions))
    }

    pub fn keep(&self, org_id: Uuid, llm: StoredLlm, dimensions: i32) {
        let mut held = self.lock();
        if held.len() >= MODELS_HELD && !held.contains_key(&org_id) {
            held.clear();
        }
        held.insert(org_id, (llm, dimensions));
    }

    pub fn forget(&self, org_id: Uuid) {
        self.lock().remove(&org_id);
    }
}

/// Exact nearest neighbours among the vectors `llm_id`'s `model` made for the organization's
/// folders among `folder_ids`: the same answer as [`embeddings::nearest`] (which it falls back
/// to when a folder is too large to copy), from the copies in memory.
#[allow(clippy::too_many_arguments)]
pub async fn nearest(
    pool: &PgPool,
    cache: &VectorCache,
    org_id: Uuid,
    folder_ids: &[Uuid],
    llm_id: Uuid,
    model: &str,
    query: &[f32],
    max: usize,
    depth: usize,
) -> StoreResult<Nearest> {
    let dimensions = query.len();
    let versions = embeddings::folder_versions(pool, org_id, folder_ids).await?;
    let mut copies = Vec::with_capacity(versions.len());
    for (folder_id, version) in versions {
        let key = FolderKey {
            org_id,
            folder_id,
            llm_id,
            model: model.to_owned(),
        };
        if let Some(copy) = cache.get(&key, version, dimensions) {
            copies.push(copy);
            continue;
        }
        let loading = cache.loading.lock().await;
        // Another search may have read it while this one waited.
        if let Some(copy) = cache.get(&key, version, dimensions) {
            copies.push(copy);
            continue;
        }
        let mut conn = pool.acquire().await?;
        let read = embeddings::load_folder(
            &mut conn,
            folder_id,
            llm_id,
            model,
            dimensions,
            cache.fits(dimensions),
        )
        .await?;
        drop(loading);
        let Some((ids, flat)) = read else {
            // Too large to keep: compared as it streams from Postgres, as without copies.
            return embeddings::nearest(
                &mut conn,
                org_id,
                folder_ids,
                llm_id,
                model,
                query,
                i64::try_from(max).unwrap_or(i64::MAX),
                depth,
            )
            .await;
        };
        let copy = Arc::new(FolderVectors {
            version,
            dimensions,
            ids,
            flat,
        });
        cache.keep(key, copy.clone());
        copies.push(copy);
    }
    let count: usize = copies.iter().map(|c| c.ids.len()).sum();
    if count <= INLINE_VECTORS {
        return Ok(compare(&copies, query, max, depth));
    }
    let query = query.to_vec();
    Ok(
        tokio::task::spawn_blocking(move || compare(&copies, &query, max, depth))
            .await
            .expect("the comparison does not panic"),
    )
}

/// The `depth` most similar of the first `max` vectors of the copies (in folder, then chunk
/// order).
pub fn compare(copies: &[Arc<FolderVectors>], query: &[f32], max: usize, depth: usize) -> Nearest {
    let dimensions = query.len().max(1);
    let count: usize = copies.iter().map(|c| c.ids.len()).sum();
    let mut best = Best::new(depth);
    let mut left = max;
    for copy in copies {
        let take = copy.ids.len().min(left);
        for (id, vector) in copy.ids[..take]
            .iter()
            .zip(copy.flat.chunks_exact(dimensions))
        {
            best.offer(*id, dot(vector, query));
        }
        left -= take;
    }
    Nearest {
        chunks: best.ranked(),
        truncated: count > max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(folder: u128) -> FolderKey {
        FolderKey {
            org_id: Uuid::from_u128(1),
            folder_id: Uuid::from_u128(folder),
            llm_id: Uuid::from_u128(2),
            model: "m".to_owned(),
        }
    }

    fn copy(version: i64, vectors: usize) -> Arc<FolderVectors> {
        Arc::new(FolderVectors {
            version,
            dimensions: 2,
            ids: (0..vectors as i64).collect(),
            flat: vec![0.5; vectors * 2],
        })
    }

    #[test]
    fn the_copy_searched_longest_ago_goes_first() {
        // Room for 10 vectors of 2 dimensions (16 bytes each).
        let cache = VectorCache::new(160);
        assert_eq!(cache.fits(2), 10);
        assert!(cache.keep(key(1), copy(0, 4)));
        assert!(cache.keep(key(2), copy(0, 4)));
        assert!(cache.get(&key(1), 0, 2).is_some());
        assert!(cache.keep(key(3), copy(0, 4)));
        assert!(cache.get(&key(2), 0, 2).is_none(), "searched longest ago");
        assert!(cache.get(&key(1), 0, 2).is_some());
        assert!(cache.get(&key(3), 0, 2).is_some());
        assert_eq!(cache.bytes(), 128);
        assert!(!cache.keep(key(4), copy(0, 11)), "larger than the room");
    }

    #[test]
    fn a_copy_older_than_the_version_read_is_no_copy() {
        let cache = VectorCache::new(1024);
        cache.keep(key(1), copy(3, 2));
        assert!(cache.get(&key(1), 4, 2).is_none());
        assert!(cache.get(&key(1), 3, 2).is_some());
        assert!(cache.get(&key(1), 3, 3).is_none(), "other dimensions");
        assert!(!cache.keep(key(1), copy(2, 2)), "older than the one kept");
        assert!(cache.get(&key(1), 3, 2).is_some());
    }

    #[test]
    fn the_dot_product_is_the_plain_sum() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 / 10.0).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 / 40.0).collect();
        let plain: f64 = a
            .iter()
            .zip(&b)
            .map(|(x, y)| f64::from(*x) * f64::from(*y))
            .sum();
        assert!((f64::from(dot(&a, &b)) - plain).abs() < 1e-4);
    }

    #[test]
    fn only_the_first_max_vectors_are_compared() {
        let near = Arc::new(FolderVectors {
            version: 0,
            dimensions: 2,
            ids: vec![10, 11, 12],
            flat: vec![1.0, 0.0, 0.6, 0.8, 0.0, 1.0],
        });
        let found = compare(std::slice::from_ref(&near), &[0.0, 1.0], 2, 5);
        assert_eq!(found.chunks.iter().map(|c| c.0).collect::<Vec<_>>(), [11]);
        assert!(found.truncated);
        let found = compare(&[near], &[0.0, 1.0], 3, 5);
        assert_eq!(
            found.chunks.iter().map(|c| c.0).collect::<Vec<_>>(),
            [12, 11]
        );
        assert!(!found.truncated);
    }
}
