//! Hybrid ranking: the query's vector from the organization's embedding model, compared with
//! the folders' chunk vectors by exact cosine similarity (over the copies each process keeps in
//! memory, `hookline_core::vectors`), and that ranking fused with the
//! lexical one by reciprocal rank fusion. When the model cannot embed the query in time, the
//! search ranks lexically and says so (`notice`), rather than failing.

use super::KnowledgeError;
use std::collections::HashMap;

use hookline_core::http::CoreState;
use hookline_core::repo::knowledge::chunks::{self, Found};
use hookline_core::repo::knowledge::embeddings;
use hookline_core::repo::knowledge::folders::ModelStamp;
use hookline_core::repo::llms::{self, StoredLlm};
use uuid::Uuid;

use crate::embeddings::{EmbedBounds, Embedder, Model};
use crate::requests::SearchRequest;

/// How deep each ranking is read before they are fused: well past the largest `limit` (20), so
/// a chunk ranked fairly by both rankings is not lost below either's cut.
pub const DEPTH: i64 = 50;
/// The fusion's constant: a chunk's score is the sum of 1 / (K + rank) over the rankings that
/// found it. 60 is the value the method was published with; it keeps the first ranks of one
/// ranking from outweighing a chunk both rankings place well.
pub const RRF_K: f32 = 60.0;

/// The semantic side of a search.
pub enum Semantic {
    /// The model could not embed the query: lexical search alone, and why.
    Failed(String),
    /// Chunk ids, most similar first, and what to tell about how they were found.
    Ranked {
        chunks: Vec<i64>,
        notice: Option<String>,
    },
}

/// The organization's embedding model and the dimensions of the vectors it made, when it has
/// one and it made some: a search is then hybrid.
pub struct Embedding {
    llm: StoredLlm,
    dimensions: i32,
}

/// The organization's embedding model, if a search can rank by meaning with it: `model` (what
/// the search's first statement read) names one that made vectors. Read from Postgres only
/// when this process holds no copy of it (`hookline_core::vectors::EmbeddingModels`).
pub async fn embedding(
    state: &CoreState,
    org_id: Uuid,
    model: Option<&ModelStamp>,
) -> Result<Option<Embedding>, KnowledgeError> {
    let Some(stamp) = model.filter(|m| m.has_vectors) else {
        return Ok(None);
    };
    if let Some((llm, dimensions)) = state.models.get(org_id, stamp) {
        return Ok(Some(Embedding { llm, dimensions }));
    }
    let Some(llm) = llms::embedding_model(&state.pool, org_id).await? else {
        return Ok(None);
    };
    let Some(dimensions) = embeddings::dimensions(&state.pool, llm.id, &llm.model).await? else {
        return Ok(None);
    };
    state.models.keep(org_id, llm.clone(), dimensions);
    Ok(Some(Embedding { llm, dimensions }))
}

/// Ranks the folders' chunks by their vectors' similarity to the query's.
pub async fn semantic(
    state: &CoreState,
    embedder: &Embedder,
    org_id: Uuid,
    request: &SearchRequest,
    Embedding { llm, dimensions }: Embedding,
) -> Result<Semantic, KnowledgeError> {
    let settings = &state.settings.knowledge;
    let failed = |why: String| {
        tracing::warn!(org_id = %org_id, reason = %why, "knowledge search ranked lexically: the query could not be embedded");
        Ok(Semantic::Failed(format!(
            "ranked by words only: the query could not be embedded ({why})"
        )))
    };
    let model = match Model::open(llm, &state.settings.secrets) {
        Ok(model) => model,
        Err(e) => return failed(e.to_string()),
    };
    let bounds = EmbedBounds {
        dimensions: settings.embed_dimensions,
        response_bytes: settings.embed_response_bytes,
        time: settings.query_embed_time.min(model.timeout()),
    };
    let query = match embedder
        .embed(&model, std::slice::from_ref(&request.query), bounds)
        .await
    {
        Ok(mut vectors) => vectors.pop().unwrap_or_default(),
        Err(e) => return failed(e.to_string()),
    };
    if i32::try_from(query.len()).ok() != Some(dimensions) {
        // The dimensions kept may be from vectors since deleted: read them again next time.
        state.models.forget(org_id);
        return failed(format!(
            "its vector has {} dimensions, the documents' have {dimensions}",
            query.len()
        ));
    }
    let max = settings.semantic_chunks;
    let nearest = hookline_core::vectors::nearest(
        &state.pool,
        &state.vectors,
        org_id,
        &request.folder_ids,
        model.llm.id,
        &model.llm.model,
        &query,
        max,
        DEPTH as usize,
    )
    .await?;
    let notice = nearest.truncated.then(|| {
        format!(
            "the folders hold more than {max} vectors; meaning was compared for {max} of them \
             (HOOKLINE_KNOWLEDGE_SEMANTIC_CHUNKS)"
        )
    });
    Ok(Semantic::Ranked {
        chunks: nearest.chunks.into_iter().map(|(id, _)| id).collect(),
        notice,
    })
}

/// The best `limit` chunks of the two rankings fused, each scored by [`rrf`]; chunks only the
/// semantic ranking found are read here.
pub async fn fuse(
    state: &CoreState,
    org_id: Uuid,
    lexical: Vec<Found>,
    semantic: &[i64],
    limit: i64,
) -> Result<Vec<Found>, KnowledgeError> {
    let lexical_ids: Vec<i64> = lexical.iter().map(|f| f.id).collect();
    let mut fused = rrf(&[&lexical_ids, semantic]);
    fused.truncate(usize::try_from(limit).unwrap_or(0));
    let mut by_id: HashMap<i64, Found> = lexical.into_iter().map(|f| (f.id, f)).collect();
    let missing: Vec<i64> = fused
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !by_id.contains_key(id))
        .collect();
    if !missing.is_empty() {
        for found in chunks::by_ids(&state.pool, org_id, &missing).await? {
            by_id.insert(found.id, found);
        }
    }
    Ok(fused
        .into_iter()
        .filter_map(|(id, score)| {
            by_id.remove(&id).map(|mut found| {
                found.score = score;
                found
            })
        })
        .collect())
}

/// Reciprocal rank fusion: each chunk scores the sum of 1 / ([`RRF_K`] + rank) over the
/// rankings (best first, ranks from 1) that hold it; best first, ties by chunk id.
pub fn rrf(rankings: &[&[i64]]) -> Vec<(i64, f32)> {
    let mut scores: HashMap<i64, f32> = HashMap::new();
    for ranking in rankings {
        for (i, id) in ranking.iter().enumerate() {
            *scores.entry(*id).or_default() += 1.0 / (RRF_K + (i + 1) as f32);
        }
    }
    let mut fused: Vec<(i64, f32)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    fused
}

#[cfg(test)]
mod tests {
    use super::rrf;

    #[test]
    fn a_chunk_both_rankings_hold_comes_first() {
        // 7 is second lexically and second semantically: it beats each ranking's first.
        let fused = rrf(&[&[1, 7, 3], &[9, 7]]);
        let ids: Vec<i64> = fused.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [7, 1, 9, 3]);
        assert!((fused[0].1 - 2.0 / 62.0).abs() < 1e-6);
        assert!((fused[1].1 - 1.0 / 61.0).abs() < 1e-6);
        assert!(rrf(&[&[], &[]]).is_empty());
    }
}
