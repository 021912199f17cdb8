//! `POST /v1/auth/session-token`: parse, call [`crate::issue_token`], answer the view.

use axum::extract::State;
use axum::Json;
use hookline_core::http::problem::responses::{
    BadRequest, Invalid, TooLarge, Unauthorized, Unavailable,
};
use hookline_core::http::{ApiError, Caller, Checked, CoreState};

use crate::requests::SessionTokenRequest;
use crate::service::{issue_token, TokenRequest};
use crate::views::SessionTokenView;

#[utoipa::path(
    post, path = "/v1/auth/session-token", tag = "sessions",
    summary = "Issue a single-use session token for a stored or ephemeral persona",
    operation_id = "issueSessionToken",
    security(("apiKey" = [])),
    request_body = SessionTokenRequest,
    responses(
        (status = 200, body = SessionTokenView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 409, description = "Two tools with one name", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    )
)]
pub async fn issue(
    State(state): State<CoreState>,
    caller: Caller,
    Checked(request): Checked<TokenRequest>,
) -> Result<Json<SessionTokenView>, ApiError> {
    Ok(Json(issue_token(&state, caller.org_id, request).await?))
}
