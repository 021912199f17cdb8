//! Knowledge tools: the LLM's `query` is searched in the tool's folders of the session's
//! organization (the knowledge crate's search, as `POST /v1/knowledge/search` runs it) and the
//! best chunks are its result, cut to `HOOKLINE_KNOWLEDGE_TOOL_RESULT_BYTES`.

use serde_json::{json, Value};

use hookline_core::repo::knowledge::folders;
use hookline_core::ErrorKind;
use hookline_knowledge::requests::SearchRequest;
use hookline_knowledge::views::SearchResult;
use hookline_schema::{knowledge_tool, WebhookTool};

use super::settle::StartedCall;
use super::{CallAnswer, CallError, Engine};
use crate::outcome::Outcome;

impl Engine {
    /// Runs a knowledge tool's search and settles the call with what it found.
    pub(crate) async fn knowledge_call(
        &self,
        call: &StartedCall<'_>,
        tool: &WebhookTool,
    ) -> Result<CallAnswer, CallError> {
        let outcome = self.search(call, tool).await?;
        Ok(self.settle(call, None, outcome, 0).await)
    }

    async fn search(
        &self,
        call: &StartedCall<'_>,
        tool: &WebhookTool,
    ) -> Result<Outcome, CallError> {
        let org_id = call.session.org_id;
        // The folders were the organization's when the tool was saved (or the session started);
        // one deleted since is said so, rather than searched as if it were empty.
        let scope = folders::search_scope(&self.pool, org_id, &tool.document_folder_ids).await?;
        let gone: Vec<String> = tool
            .document_folder_ids
            .iter()
            .filter(|id| !scope.owned.contains(id))
            .map(|id| id.to_string())
            .collect();
        if !gone.is_empty() {
            return Ok(Outcome::failed(
                ErrorKind::ToolError,
                format!(
                    "this tool's knowledge {} {} no longer {} (deleted since the tool was saved)",
                    if gone.len() == 1 { "folder" } else { "folders" },
                    gone.join(", "),
                    if gone.len() == 1 { "exists" } else { "exist" }
                ),
            ));
        }
        let query = call.arguments["query"].as_str().unwrap_or_default();
        let request = SearchRequest {
            query: query.to_owned(),
            folder_ids: tool.document_folder_ids.clone(),
            limit: Some(i64::from(knowledge_tool::limit(tool))),
        };
        let model = scope.model.as_ref();
        match hookline_knowledge::search::run(&self.core, &self.embedder, org_id, &request, model)
            .await
        {
            Ok(found) => {
                let max = self.settings.knowledge.tool_result_bytes;
                let (result, truncated) = bounded(&found.results, max);
                let mut outcome = Outcome::completed(result);
                outcome.truncated = truncated;
                Ok(outcome)
            }
            Err(e) => {
                tracing::warn!(error = ?e, "knowledge tool search failed");
                Ok(Outcome::failed(
                    ErrorKind::ToolError,
                    "the knowledge search failed; try again",
                ))
            }
        }
    }
}

/// The results, best first, as many whole ones as fit `max` bytes of JSON; the first that does
/// not fit is kept with its content cut (when there is room for some of it), the rest dropped.
fn bounded(results: &[SearchResult], max: usize) -> (Value, bool) {
    // `{"results":[]}` and a comma between two results.
    let mut used = 14;
    let mut kept: Vec<Value> = Vec::with_capacity(results.len());
    for r in results {
        let item = serde_json::to_value(r).expect("a search result serializes");
        let size = item.to_string().len() + usize::from(!kept.is_empty());
        if used + size <= max {
            used += size;
            kept.push(item);
            continue;
        }
        // What the rest of the result takes without its content (escaping aside, which the
        // check below accounts for by measuring again).
        let mut cut_item = item;
        let room = max.saturating_sub(used + size - r.content.len() + 1);
        if room >= MIN_CUT_CONTENT {
            let mut text = hookline_core::text::cut(&r.content, room).to_owned();
            loop {
                cut_item["content"] = Value::String(text.clone());
                let size = cut_item.to_string().len() + usize::from(!kept.is_empty());
                if used + size <= max || text.is_empty() {
                    break;
                }
                let shorter = text.len().saturating_sub(64);
                text = hookline_core::text::cut(&text, shorter).to_owned();
            }
            if !text.is_empty() {
                kept.push(cut_item);
            }
        }
        return (json!({ "results": kept }), true);
    }
    (json!({ "results": kept }), false)
}

/// A cut result's content is kept only if this much of it fits: less says nothing.
const MIN_CUT_CONTENT: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;
    use hookline_knowledge::views::ChunkSource;
    use uuid::Uuid;

    fn result(content: &str) -> SearchResult {
        SearchResult {
            document_id: Uuid::nil(),
            filename: "returns.md".into(),
            folder_id: Uuid::nil(),
            content: content.into(),
            score: 0.5,
            source: ChunkSource {
                page: None,
                heading: Some("Returns".into()),
                row: None,
                line: None,
            },
        }
    }

    #[test]
    fn results_are_kept_whole_while_they_fit_then_cut() {
        let all = vec![
            result(&"a".repeat(1000)),
            result(&"b".repeat(1000)),
            result("c"),
        ];
        let (whole, truncated) = bounded(&all, 16 * 1024);
        assert!(!truncated);
        assert_eq!(whole["results"].as_array().unwrap().len(), 3);

        let (cut, truncated) = bounded(&all, 1600);
        assert!(truncated);
        assert!(cut.to_string().len() <= 1600, "{}", cut.to_string().len());
        let kept = cut["results"].as_array().unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0]["content"].as_str().unwrap().len(), 1000);
        let second = kept[1]["content"].as_str().unwrap();
        assert!(second.len() >= MIN_CUT_CONTENT && second.len() < 1000);

        let (none, truncated) = bounded(&all, 100);
        assert!(truncated);
        assert!(none["results"].as_array().unwrap().is_empty());
    }
}
