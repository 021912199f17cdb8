//! `POST /v1/llms/{id}/test`: one short request to the LLM, through the same client, rules and
//! retries as a turn, to check its address, key and model before a persona relies on it.

use std::time::Instant;

use axum::extract::State;
use axum::Json;
use futures::StreamExt;

use hookline_core::http::{ApiError, Caller, InPath};
use hookline_core::ids::LlmId;
use hookline_core::repo::llms;

use crate::llm::{self, ReadBounds, Target};
use crate::provider::{Delta, Msg, RequestParts};
use crate::views::{LlmTestResult, TurnError};
use crate::ConversationState;

/// What the LLM is asked.
const PROMPT: &str = "Reply with the single word: OK";
/// Enough for a short answer; some models spend a few tokens before the word.
const TEST_MAX_TOKENS: i32 = 16;

#[utoipa::path(
    post, path = "/v1/llms/{id}/test", tag = "llms", summary = "Send one short request to the LLM",
    operation_id = "testLlm",
    security(("apiKey" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, body = LlmTestResult, description = "`ok` false with `error` when the LLM could not be reached or refused"),
        (status = 401, response = hookline_core::http::problem::responses::Unauthorized),
        (status = 404, response = hookline_core::http::problem::responses::NotFound)
    )
)]
pub async fn test(
    State(ConversationState { runtime, .. }): State<ConversationState>,
    caller: Caller,
    InPath(LlmId(id)): InPath<LlmId>,
) -> Result<Json<LlmTestResult>, ApiError> {
    let core = &runtime.core;
    let llm = llms::get(&core.pool, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("LLM"))?;
    let api_key = llm
        .open_key(&core.settings.secrets)
        .map_err(ApiError::internal)?;
    let target = Target { llm, api_key };
    let messages = [Msg::User(PROMPT.into())];
    let body = target.api().body(&RequestParts {
        model: &target.llm.model,
        system: None,
        messages: &messages,
        tools: Vec::new(),
        temperature: None,
        max_tokens: Some(TEST_MAX_TOKENS),
        follow_up: None,
    });
    let started = Instant::now();
    let outcome = async {
        let mut stream = llm::stream(
            &runtime.engine,
            &target,
            &body,
            ReadBounds::from(&core.settings.turns),
        )
        .await?;
        let mut reply = String::new();
        while let Some(delta) = stream.next().await {
            match delta? {
                Delta::Text(t) => reply.push_str(&t),
                Delta::Done(_) => break,
                Delta::Call(_) | Delta::Refused(..) => {}
            }
        }
        Ok::<_, llm::LlmFailure>(reply)
    }
    .await;
    let ms = started.elapsed().as_millis() as i64;
    let (reply, error) = match outcome {
        Ok(reply) => (Some(reply), None),
        Err(f) => (None, Some(TurnError::new(f.kind(), f.to_string()))),
    };
    Ok(Json(LlmTestResult {
        ok: error.is_none(),
        execution_time: ms,
        reply,
        error,
    }))
}
