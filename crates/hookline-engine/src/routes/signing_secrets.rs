//! `GET /v1/signing-secrets` and `POST /v1/signing-secrets/rotate`.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use hookline_core::http::{ApiError, Caller};
use hookline_core::repo::signing_secrets;

use super::EngineState;

#[utoipa::path(
    get, path = "/v1/signing-secrets", tag = "signing",
    summary = "The secrets that sign requests now, in full (receivers need them to verify)",
    security(("apiKey" = [])),
    responses((status = 200, description = "`{data: [{id, secret, createdAt, expiresAt}]}`, newest first"))
)]
pub async fn list(
    State(state): State<EngineState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let secrets = signing_secrets::active(
        &state.core.pool,
        &state.core.settings.secrets,
        caller.org_id,
    )
    .await?;
    let data: Vec<Value> = secrets
        .iter()
        .map(|s| {
            json!({"id": s.id, "secret": s.secret.expose(), "createdAt": s.created_at, "expiresAt": s.expires_at})
        })
        .collect();
    Ok(Json(json!({"data": data})))
}

#[utoipa::path(
    post, path = "/v1/signing-secrets/rotate", tag = "signing",
    summary = "Add a new signing secret; the current ones keep signing beside it for 24 hours",
    security(("apiKey" = [])),
    responses((status = 200, description = "The secrets that sign now, as GET answers"))
)]
pub async fn rotate(
    State(state): State<EngineState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let mut tx = state.core.pool.begin().await?;
    signing_secrets::rotate(&mut tx, &state.core.settings.secrets, caller.org_id).await?;
    tx.commit().await?;
    state.engine.caches.forget_secrets(caller.org_id);
    tracing::info!(org_id = %caller.org_id, "signing secret rotated");
    list(State(state), caller).await
}
