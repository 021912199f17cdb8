//! `POST /v1/tools/import`: read the body (an OpenAPI document is larger than the API's usual
//! 1 MiB bodies), call [`crate::service::import`], answer the report.

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hookline_core::http::problem::responses::{
    BadRequest, Invalid, TooLarge, Unauthorized, Unavailable,
};
use hookline_core::http::{ApiError, Caller, CoreState, QueryMap};

use crate::import_wire::{ImportInput, ImportView};
use crate::service::import;

/// The most a body may take beyond the document's own bound: JSON escaping of the text (every
/// newline and quote) and the other fields.
fn body_limit(state: &CoreState) -> usize {
    state.settings.import.max_bytes.saturating_mul(2) + 64 * 1024
}

/// One draft webhook tool per operation of an OpenAPI 3.0/3.1 document, each checked like a
/// created tool; `?dryRun=true` shows the drafts without creating them.
#[utoipa::path(
    post, path = "/v1/tools/import", tag = "tools",
    summary = "Import webhook tools from an OpenAPI document",
    operation_id = "importTools",
    security(("apiKey" = [])),
    params(("dryRun" = Option<bool>, Query, description = "Check and show the drafts, create nothing")),
    request_body = ImportInput,
    responses(
        (status = 200, description = "A dry run, or nothing created: every operation with its draft or why it was refused", body = ImportView),
        (status = 201, description = "At least one tool created: every operation with its tool or why it was refused", body = ImportView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    )
)]
pub async fn import(
    State(state): State<CoreState>,
    caller: Caller,
    query: QueryMap,
    body: Body,
) -> Result<(StatusCode, Json<ImportView>), ApiError> {
    let dry_run = query.flag("dryRun")?;
    let bytes = axum::body::to_bytes(body, body_limit(&state))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is larger than an import may be (twice HOOKLINE_IMPORT_MAX_BYTES)",
            )
        })?;
    if bytes.contains(&0) {
        return Err(ApiError::field(
            "openapi",
            "must not contain the NUL character (U+0000)",
        ));
    }
    let body: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))?;
    let request = import::parse(&state, &body)?;
    let report = import::import(&state, caller.org_id, request, dry_run).await?;
    let status = if report.created > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)))
}
