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
use crate::engine::variables::Scope;
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
    if !matches!(stored.tool.definition, ToolDefinition::Server(_)) {
        return Err(ApiError::field("type", "only webhook tools can be tested"));
    }
    if matches!(&stored.tool.definition, ToolDefinition::Server(w) if w.is_knowledge()) {
        return Err(ApiError::field(
            "subtype",
            "a knowledge tool sends no request: try its folders with POST /v1/knowledge/search",
        ));
    }
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
            .build(
                caller.org_id,
                &stored.tool,
                &arguments,
                &call_id,
                Scope::Test(&variables),
            )
            .await
            .map_err(|e| e.into_api_error())?;
        let mut view = built.masked_view();
        if let ToolDefinition::Server(webhook) = &stored.tool.definition {
            let started = Instant::now();
            if let Err(outcome) = engine
                .show_authorization(caller.org_id, webhook.connection_id, &mut view)
                .await
            {
                return Ok(Json(ToolTestView::attempt(
                    Some(view),
                    outcome,
                    started,
                    false,
                )));
            }
        }
        return Ok(Json(ToolTestView {
            request: Some(view),
            response: None,
            result: None,
            execution_time: 0,
            error: None,
        }));
    }
    let started = Instant::now();
    let (request, outcome) = engine
        .attempt(
            caller.org_id,
            &stored.tool,
            &arguments,
            &call_id,
            Scope::Test(&variables),
        )
        .await;
    let outcome = engine
        .shape(caller.org_id, None, &stored.tool.definition, outcome)
        .await;
    Ok(Json(ToolTestView::attempt(request, outcome, started, true)))
}
