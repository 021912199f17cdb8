//! `POST /v1/tools/{id}/test`: runs a stored tool for real, outside any session, and shows the
//! request exactly as sent and the answer; `?dryRun=true` builds the request without sending it.

use std::time::Instant;

use axum::extract::State;
use axum::Json;
use serde_json::Value;
use uuid::Uuid;

use hookline_core::http::{ApiError, Caller, Checked, InPath, QueryMap};
use hookline_core::ids::ToolId;
use hookline_core::repo::tools;
use hookline_schema::{ArgumentValidator, ToolDefinition, Violations};

use super::EngineState;
use crate::call::variables::Scope;
use crate::outgoing::path_value_problems;
use crate::requests::ToolTestRequest;
use crate::views::ToolTestView;
use hookline_core::http::problem::responses::{
    BadRequest, NotFound, TooLarge, Unauthorized, Unavailable,
};

#[utoipa::path(
    post, path = "/v1/tools/{id}/test", tag = "tools",
    summary = "Run a webhook tool for real (or build its request with ?dryRun=true)",
    description = "Body `{arguments}`. Answers `{request: {method, url, headers (masked), body}, \
        response: {status, headers, body}, executionTime, error?}`. An MCP server (`subtype: mcp`) \
        is tested by listing its tools: `response.body.tools` holds `{name, description, inputSchema, \
        allowed}` each (arguments are not used).",
    operation_id = "testTool",
    security(("apiKey" = [])),
    params(("id" = uuid::Uuid, Path), ("dryRun" = Option<bool>, Query)),
    request_body = ToolTestRequest,
    responses(
        (status = 200, description = "What was sent and what came back", body = ToolTestView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = TooLarge),
        (status = 422, description = "Not a webhook tool, or arguments that do not fit its parameters", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 503, response = Unavailable)
    )
)]
pub async fn test(
    State(state): State<EngineState>,
    caller: Caller,
    InPath(ToolId(id)): InPath<ToolId>,
    query: QueryMap,
    Checked(body): Checked<ToolTestRequest>,
) -> Result<Json<ToolTestView>, ApiError> {
    let dry_run = query.flag("dryRun")?;
    let stored = tools::get(&state.core.pool, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("tool"))?;
    testable(&stored.tool.definition)?;
    if matches!(&stored.tool.definition, ToolDefinition::Server(w) if w.is_mcp()) {
        // An MCP server is tested by listing its tools (`response.body.tools`).
        let started = Instant::now();
        let (request, outcome) = state.engine.test_source(caller.org_id, &stored.tool).await;
        return Ok(Json(ToolTestView::attempt(
            request, outcome, started, false,
        )));
    }
    let ToolTestRequest {
        arguments,
        variables,
    } = body;
    let arguments = Value::Object(arguments);
    check_arguments(&state, &stored.tool.definition, &arguments).await?;
    let call_id = Uuid::now_v7().to_string();
    let engine = &state.engine;
    let scope = Scope::Test(&variables);
    if dry_run {
        let started = Instant::now();
        let (view, refused) = engine
            .dry_run(caller.org_id, &stored.tool, &arguments, &call_id, scope)
            .await
            .map_err(|e| e.into_api_error())?;
        return Ok(Json(match refused {
            Some(outcome) => ToolTestView::attempt(Some(view), outcome, started, false),
            None => ToolTestView {
                request: Some(view),
                response: None,
                result: None,
                execution_time: 0,
                error: None,
            },
        }));
    }
    let started = Instant::now();
    let (request, outcome) = engine
        .attempt(caller.org_id, &stored.tool, &arguments, &call_id, scope)
        .await;
    let outcome = engine
        .shape(caller.org_id, None, &stored.tool.definition, outcome)
        .await;
    Ok(Json(ToolTestView::attempt(request, outcome, started, true)))
}

/// Only webhook tools and MCP sources send something a test can show.
fn testable(definition: &ToolDefinition) -> Result<(), ApiError> {
    match definition {
        ToolDefinition::Server(w) if w.is_knowledge() => Err(ApiError::field(
            "subtype",
            "a knowledge tool sends no request: try its folders with POST /v1/knowledge/search",
        )),
        ToolDefinition::Server(_) => Ok(()),
        _ => Err(ApiError::field("type", "only webhook tools can be tested")),
    }
}

/// The arguments must fit the tool's parameters, and its URL's path values must be safe to
/// send, as for a call (every problem listed).
async fn check_arguments(
    state: &EngineState,
    definition: &ToolDefinition,
    arguments: &Value,
) -> Result<(), ApiError> {
    let schema = definition.llm_parameters();
    let args = arguments.clone();
    let mut problems = state
        .engine
        .checker
        .run(move || match ArgumentValidator::new(Some(&schema)) {
            Ok(validator) => validator.validate(&args),
            Err(e) => Violations::single("arguments", format!("cannot be checked: {e}")),
        })
        .await;
    if let (true, ToolDefinition::Server(webhook)) = (problems.is_empty(), definition) {
        problems = path_value_problems(webhook, arguments);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(problems))
    }
}
