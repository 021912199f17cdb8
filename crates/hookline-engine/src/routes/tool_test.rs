//! `POST /v1/tools/{id}/test`: runs a stored tool for real, outside any session, and shows the
//! request exactly as sent and the answer; `?dryRun=true` builds the request without sending it.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use hookline_core::http::{parse_id, ApiError, Caller, JsonBody, QueryMap};
use hookline_core::repo::tools;
use hookline_schema::fields::Fields;
use hookline_schema::{ArgumentValidator, ToolDefinition, Violations};

use super::EngineState;
use crate::request::path_value_problems;

#[utoipa::path(
    post, path = "/v1/tools/{id}/test", tag = "tools",
    summary = "Run a webhook tool for real (or build its request with ?dryRun=true)",
    description = "Body `{arguments}`. Answers `{request: {method, url, headers (masked), body}, \
        response: {status, headers, body}, executionTime, error?}`.",
    security(("apiKey" = [])),
    params(("id" = uuid::Uuid, Path), ("dryRun" = Option<bool>, Query)),
    request_body = Object,
    responses(
        (status = 200, description = "What was sent and what came back"),
        (status = 404, description = "No such tool", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Not a webhook tool, or arguments that do not fit its parameters", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json")
    )
)]
pub async fn test(
    State(state): State<EngineState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
    body: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id, "tool")?;
    let dry_run = query.flag("dryRun")?;
    let stored = tools::get(&state.core.pool, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("tool"))?;
    if !matches!(stored.tool.definition, ToolDefinition::Server(_)) {
        return Err(ApiError::field("type", "only webhook tools can be tested"));
    }
    let mut v = Violations::new();
    let arguments = match body.0.as_object() {
        None => {
            v.wrong_type("", "a JSON object");
            Value::Null
        }
        Some(map) => {
            let mut f = Fields::new(map, "", &mut v);
            let arguments = f.object("arguments").cloned().unwrap_or_else(Map::new);
            f.finish("a tool test");
            Value::Object(arguments)
        }
    };
    v.into_result(()).map_err(ApiError::invalid)?;
    let schema = stored.tool.definition.llm_parameters();
    let args = arguments.clone();
    let mut problems = state
        .engine
        .checker
        .run(move || match ArgumentValidator::new(Some(&schema)) {
            Ok(validator) => validator.validate(&args),
            Err(e) => Violations::single("arguments", format!("cannot be checked: {e}")),
        })
        .await;
    if let (true, ToolDefinition::Server(webhook)) = (problems.is_empty(), &stored.tool.definition)
    {
        problems = path_value_problems(webhook, &arguments);
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid(problems));
    }
    let call_id = Uuid::now_v7().to_string();
    let engine = &state.engine;
    if dry_run {
        let built = engine
            .build(caller.org_id, &stored.tool, &arguments, &call_id)
            .await
            .map_err(|e| e.into_api_error())?;
        return Ok(Json(
            json!({"request": built.masked_view(), "response": null, "executionTime": 0}),
        ));
    }
    let started = Instant::now();
    let (request, outcome) = engine
        .attempt(caller.org_id, &stored.tool, &arguments, &call_id)
        .await;
    let mut answer = json!({
        "request": request,
        "response": outcome.response,
        "executionTime": started.elapsed().as_millis() as i64,
    });
    if let Some(error) = &outcome.error {
        answer["error"] = error.clone();
    }
    Ok(Json(answer))
}
