//! Search over an organization's ready documents. Lexical: Postgres full-text search with English
//! stemming, headings weighted above text, phrases and exclusions in web-search syntax, and every
//! word also taken as the beginning of a longer one ("refun" finds "refunds"). Hybrid, when the
//! organization has an embedding model: that ranking fused with the semantic one ([`hybrid`]).

use super::KnowledgeError;
use hookline_core::http::CoreState;
use hookline_core::repo::knowledge::chunks;
use hookline_core::repo::knowledge::folders::{self, ModelStamp};
use hookline_schema::Violations;
use uuid::Uuid;

use super::hybrid::{self, Semantic};
use crate::embeddings::Embedder;
use crate::requests::SearchRequest;
use crate::views::{Ranking, SearchResult, SearchResults};

/// Words of a query taken as prefixes at most: a long query's prefixes add little and cost
/// index lookups.
const MAX_PREFIX_WORDS: usize = 8;

/// Searches the folders, which must all be the organization's (422 naming `folderIds[i]`
/// otherwise, the same answer for a folder that does not exist and one of another organization).
pub async fn search(
    state: &CoreState,
    embedder: &Embedder,
    org_id: Uuid,
    request: &SearchRequest,
) -> Result<SearchResults, KnowledgeError> {
    let scope = folders::search_scope(&state.pool, org_id, &request.folder_ids).await?;
    let mut v = Violations::new();
    for (i, id) in request.folder_ids.iter().enumerate() {
        if !scope.owned.contains(id) {
            v.rule(
                format!("folderIds[{i}]"),
                "is not a folder of your organization",
            );
        }
    }
    v.into_result(()).map_err(KnowledgeError::Invalid)?;
    run(state, embedder, org_id, request, scope.model.as_ref()).await
}

/// The search itself, for a caller that read the search's scope already
/// (`folders::search_scope`: the folders are the organization's, and `model` is its embedding
/// model if it has one; a knowledge tool's folders were checked when it was saved, and one
/// deleted since finds nothing). Lexical, fused with the semantic ranking when the organization
/// has an embedding model and vectors from it.
pub async fn run(
    state: &CoreState,
    embedder: &Embedder,
    org_id: Uuid,
    request: &SearchRequest,
    model: Option<&ModelStamp>,
) -> Result<SearchResults, KnowledgeError> {
    let limit = request.limit();
    let lexically = |notice| async move {
        let found = lexical(state, org_id, request, limit).await?;
        Ok(SearchResults {
            results: found.into_iter().map(SearchResult::from).collect(),
            ranking: Ranking::Lexical,
            notice,
        })
    };
    let Some(embedding) = hybrid::embedding(state, org_id, model).await? else {
        return lexically(None).await;
    };
    // The query is embedded (a round trip to the model) while Postgres ranks by words.
    let (semantic, lexical) = tokio::join!(
        hybrid::semantic(state, embedder, org_id, request, embedding),
        lexical(state, org_id, request, hybrid::DEPTH.max(limit)),
    );
    let (chunks, notice) = match semantic? {
        Semantic::Ranked { chunks, notice } => (chunks, notice),
        // Ranked again at the lexical search's own depth: the same answer as without a model.
        Semantic::Failed(why) => return lexically(Some(why)).await,
    };
    let results = hybrid::fuse(state, org_id, lexical?, &chunks, limit).await?;
    Ok(SearchResults {
        results: results.into_iter().map(SearchResult::from).collect(),
        ranking: Ranking::Hybrid,
        notice,
    })
}

/// The best `limit` chunks by Postgres full-text search.
async fn lexical(
    state: &CoreState,
    org_id: Uuid,
    request: &SearchRequest,
    limit: i64,
) -> Result<Vec<chunks::Found>, KnowledgeError> {
    let words = Words::of(&request.query);
    let mut conn = state.pool.acquire().await?;
    Ok(chunks::search(
        &mut conn,
        org_id,
        &request.folder_ids,
        chunks::Query {
            text: &request.query,
            any_word: &words.any(),
            two_words: &words.two(),
            words: &words.wanted,
        },
        limit,
        i64::from(state.settings.knowledge.search_candidates),
    )
    .await?)
}

/// A query's words, kept to letters and digits so that no tsquery syntax of the caller's is ever
/// read as such: the wanted ones (each also taken as the beginning of a longer word, `refun:*`)
/// and the excluded ones (`-spam`).
struct Words {
    wanted: Vec<String>,
    excluded: Vec<String>,
}

impl Words {
    fn of(query: &str) -> Self {
        let word = |w: &str| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        };
        let (excluded, wanted): (Vec<&str>, Vec<&str>) =
            query.split_whitespace().partition(|w| w.starts_with('-'));
        Self {
            wanted: wanted
                .into_iter()
                .map(word)
                .filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case("or"))
                .take(MAX_PREFIX_WORDS)
                .map(|w| format!("{w}:*"))
                .collect(),
            excluded: excluded
                .into_iter()
                .map(word)
                .filter(|w| !w.is_empty())
                .collect(),
        }
    }

    /// A `to_tsquery` text finding a chunk with any of the words and none of the excluded ones:
    /// `(refun:* | polic:*) & !spam`. A question an LLM asks rarely has every one of its words in
    /// the passage that answers it; the ranking puts chunks with more of them (and the whole
    /// phrase) first.
    fn any(&self) -> String {
        if self.wanted.is_empty() {
            return String::new();
        }
        self.but_excluded(format!("({})", self.wanted.join(" | ")))
    }

    /// A `to_tsquery` text finding a chunk with at least two of the words: `(a:* & b:*) | (a:* &
    /// c:*) | (b:* & c:*)`. Empty for fewer than three words (two words are the query's own
    /// "every word").
    fn two(&self) -> String {
        if self.wanted.len() < 3 {
            return String::new();
        }
        let mut pairs = Vec::new();
        for (i, a) in self.wanted.iter().enumerate() {
            for b in &self.wanted[i + 1..] {
                pairs.push(format!("({a} & {b})"));
            }
        }
        self.but_excluded(format!("({})", pairs.join(" | ")))
    }

    fn but_excluded(&self, mut text: String) -> String {
        for w in &self.excluded {
            text.push_str(&format!(" & !{w}"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::Words;

    #[test]
    fn words_keep_only_words() {
        let any = |q: &str| Words::of(q).any();
        assert_eq!(any("refun polic"), "(refun:* | polic:*)");
        assert_eq!(
            any("\"late fee\" or -spam it's"),
            "(late:* | fee:* | its:*) & !spam"
        );
        assert_eq!(any("&|!():*' <->"), "");
        assert_eq!(any("-only"), "");
    }

    #[test]
    fn two_words_are_every_pair() {
        let two = |q: &str| Words::of(q).two();
        assert_eq!(two("refund policy"), "");
        assert_eq!(
            two("late fee refund -spam"),
            "((late:* & fee:*) | (late:* & refund:*) | (fee:* & refund:*)) & !spam"
        );
        assert_eq!(two("a b c d e f g h i j").matches('&').count(), 28);
    }
}
