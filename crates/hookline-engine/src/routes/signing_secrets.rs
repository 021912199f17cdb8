//! `GET /v1/signing-secrets` and `POST /v1/signing-secrets/rotate`.

use axum::extract::State;
use axum::Json;
use hookline_core::http::problem::responses::{Unauthorized, Unavailable};

use hookline_core::http::{ApiError, Caller};
use hookline_core::repo::signing_secrets;

use super::EngineState;
use crate::views::{SigningSecretView, SigningSecretsView};

#[utoipa::path(
    get, path = "/v1/signing-secrets", tag = "signing",
    summary = "The secrets that sign requests now, in full (receivers need them to verify)",
    operation_id = "listSigningSecrets",
    security(("apiKey" = [])),
    responses(
        (status = 200, body = SigningSecretsView),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable)
    )
)]
pub async fn list(
    State(state): State<EngineState>,
    caller: Caller,
) -> Result<Json<SigningSecretsView>, ApiError> {
    let secrets = signing_secrets::active(
        &state.core.pool,
        &state.core.settings.secrets,
        caller.org_id,
    )
    .await?;
    let data = secrets
        .iter()
        .map(|s| SigningSecretView {
            id: s.id,
            secret: s.secret.expose().to_owned(),
            created_at: s.created_at,
            expires_at: s.expires_at,
        })
        .collect();
    Ok(Json(SigningSecretsView { data }))
}

#[utoipa::path(
    post, path = "/v1/signing-secrets/rotate", tag = "signing",
    summary = "Add a new signing secret; the current ones keep signing beside it for 24 hours",
    operation_id = "rotateSigningSecret",
    security(("apiKey" = [])),
    responses(
        (status = 200, description = "The secrets that sign now, as GET answers", body = SigningSecretsView),
        (status = 401, response = Unauthorized),
        (status = 503, response = Unavailable)
    )
)]
pub async fn rotate(
    State(state): State<EngineState>,
    caller: Caller,
) -> Result<Json<SigningSecretsView>, ApiError> {
    let mut tx = state.core.pool.begin().await?;
    signing_secrets::rotate(&mut tx, &state.core.settings.secrets, caller.org_id).await?;
    tx.commit().await?;
    state.engine.caches.forget_secrets(caller.org_id);
    tracing::info!(org_id = %caller.org_id, "signing secret rotated");
    list(State(state), caller).await
}
