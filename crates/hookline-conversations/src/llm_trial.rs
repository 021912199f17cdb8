//! `POST /v1/llms/{id}/test`: one short request to the LLM, through the same client, rules and
//! retries as a turn, to check its address, key and model before a persona relies on it. An
//! embedding entry is tested by embedding one word, as knowledge search would.

use hookline_core::http::problem::responses::ByIdErrors;
use std::time::Instant;

use axum::extract::State;
use axum::Json;
use futures::StreamExt;

use hookline_core::http::{ApiError, Caller, InPath};
use hookline_core::ids::LlmId;
use hookline_core::repo::llms::{self, StoredLlm};
use hookline_knowledge::embeddings::{EmbedBounds, EmbedFailure, Model};
use hookline_schema::LlmKind;

use crate::llm::{self, ReadBounds, Target};
use crate::provider::{Delta, Msg, RequestParts};
use crate::views::{LlmTestResult, TurnError, TurnErrorKind};
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
        ByIdErrors
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
    if llm.kind() == LlmKind::Embedding {
        return Ok(Json(test_embedding(&runtime, llm).await));
    }
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

/// Embeds one word with the entry; `reply` says how many dimensions its vector has.
async fn test_embedding(runtime: &crate::Conversations, llm: StoredLlm) -> LlmTestResult {
    let core = &runtime.core;
    let started = Instant::now();
    let outcome = async {
        let model = Model::open(llm, &core.settings.secrets)?;
        let settings = &core.settings.knowledge;
        let bounds = EmbedBounds {
            dimensions: settings.embed_dimensions,
            response_bytes: settings.embed_response_bytes,
            time: model.timeout(),
        };
        let vectors = runtime
            .engine
            .embedder()
            .embed(&model, &["hello".to_owned()], bounds)
            .await?;
        Ok::<_, EmbedFailure>(vectors.first().map_or(0, Vec::len))
    }
    .await;
    let execution_time = started.elapsed().as_millis() as i64;
    match outcome {
        Ok(dimensions) => LlmTestResult {
            ok: true,
            execution_time,
            reply: Some(format!("a vector of {dimensions} dimensions")),
            error: None,
        },
        Err(failure) => {
            let kind = match failure {
                EmbedFailure::Unavailable(_) => TurnErrorKind::LlmUnavailable,
                EmbedFailure::Invalid(_) => TurnErrorKind::LlmError,
            };
            LlmTestResult {
                ok: false,
                execution_time,
                reply: None,
                error: Some(TurnError::new(kind, failure.to_string())),
            }
        }
    }
}
