//! Lexical search over an organization's ready documents: Postgres full-text search with English
//! stemming, headings weighted above text, phrases and exclusions in web-search syntax, and every
//! word also taken as the beginning of a longer one ("refun" finds "refunds").

use hookline_core::http::{ApiError, CoreState};
use hookline_core::repo::knowledge::{chunks, folders};
use hookline_schema::Violations;
use uuid::Uuid;

use crate::requests::SearchRequest;
use crate::views::{SearchResult, SearchResults};

/// Words of a query taken as prefixes at most: a long query's prefixes add little and cost
/// index lookups.
const MAX_PREFIX_WORDS: usize = 8;

/// Searches the folders, which must all be the organization's (422 naming `folderIds[i]`
/// otherwise, the same answer for a folder that does not exist and one of another organization).
pub async fn search(
    state: &CoreState,
    org_id: Uuid,
    request: &SearchRequest,
) -> Result<SearchResults, ApiError> {
    check_folders(state, org_id, &request.folder_ids, "folderIds").await?;
    run(state, org_id, request).await
}

/// Checks that every one of `ids` is a folder of the organization; a 422 naming each that is not
/// as `field[i]`.
pub async fn check_folders(
    state: &CoreState,
    org_id: Uuid,
    ids: &[Uuid],
    field: &str,
) -> Result<(), ApiError> {
    let owned = folders::owned(&state.pool, org_id, ids).await?;
    let mut v = Violations::new();
    for (i, id) in ids.iter().enumerate() {
        if !owned.contains(id) {
            v.rule(
                format!("{field}[{i}]"),
                "is not a folder of your organization",
            );
        }
    }
    v.into_result(()).map_err(ApiError::invalid)
}

/// The search itself, for a caller that checked the folders already (a knowledge tool's folders
/// were checked when it was saved; one deleted since finds nothing).
pub async fn run(
    state: &CoreState,
    org_id: Uuid,
    request: &SearchRequest,
) -> Result<SearchResults, ApiError> {
    let found = chunks::search(
        &state.pool,
        org_id,
        &request.folder_ids,
        &request.query,
        &any_word(&request.query),
        request.limit(),
    )
    .await?;
    Ok(SearchResults {
        results: found.into_iter().map(SearchResult::from).collect(),
    })
}

/// The query's words as a `to_tsquery` text that finds a chunk holding any of them, each also
/// as the beginning of a longer word, and none of the excluded ones: `(refun:* | polic:*) &
/// !spam`. Only letters and digits are kept, so the text never holds tsquery syntax of the
/// caller's. A question an LLM asks rarely has every one of its words in the passage that
/// answers it; the ranking puts chunks with more of them (and the whole phrase) first.
fn any_word(query: &str) -> String {
    let word = |w: &str| {
        w.chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
    };
    let (excluded, wanted): (Vec<&str>, Vec<&str>) =
        query.split_whitespace().partition(|w| w.starts_with('-'));
    let wanted: Vec<String> = wanted
        .into_iter()
        .map(word)
        .filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case("or"))
        .take(MAX_PREFIX_WORDS)
        .map(|w| format!("{w}:*"))
        .collect();
    if wanted.is_empty() {
        return String::new();
    }
    let mut text = format!("({})", wanted.join(" | "));
    for w in excluded.into_iter().map(word).filter(|w| !w.is_empty()) {
        text.push_str(&format!(" & !{w}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::any_word;

    #[test]
    fn any_word_keeps_only_words() {
        assert_eq!(any_word("refun polic"), "(refun:* | polic:*)");
        assert_eq!(
            any_word("\"late fee\" or -spam it's"),
            "(late:* | fee:* | its:*) & !spam"
        );
        assert_eq!(any_word("&|!():*' <->"), "");
        assert_eq!(any_word("-only"), "");
    }
}
