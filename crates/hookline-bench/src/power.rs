//! Scenario 2p: scenario 2's awaited call made by a tool that uses the tool-power features
//! (docs/tool-power.md) — variables from the session token in its url and a header, a response
//! shaped by `select` and `maxBytes`, and an OAuth2 connection whose token is cached — so that its
//! cost over the plain call is measured in the same run (issue 25: ≤ 5 % more CPU).
//!
//! `response.assign` is left out on purpose: it stores a value in Postgres at every call, a write
//! the person who asks for it pays by design, not an overhead of the features above.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::Path;
use axum::routing::post;
use axum::{Form, Json, Router};
use serde_json::json;

use crate::api::Api;

/// The tool's name, as the scenario's requests call it.
pub const TOOL: &str = "check_order_power";

/// Token requests the target's token endpoint answered (a cached token keeps this at one or two
/// per run).
pub static TOKENS_ISSUED: AtomicU64 = AtomicU64::new(0);

/// The target's routes for this scenario: the order endpoint, answering what scenario 2's does
/// (so that the two calls differ only by the features), and an OAuth2 token endpoint.
pub fn target_routes() -> Router {
    Router::new()
        .route(
            "/power/{region}/orders",
            post(|Path(_region): Path<String>| async {
                Json(json!({"status": "shipped", "carrier": "UPS", "trackingNumber": "1Z999AA10123456784"}))
            }),
        )
        .route(
            "/power/token",
            post(|Form(form): Form<Vec<(String, String)>>| async move {
                TOKENS_ISSUED.fetch_add(1, Ordering::Relaxed);
                let granted = form.iter().any(|(k, v)| k == "grant_type" && v == "client_credentials");
                Json(json!({"access_token": if granted { "bench-access-token" } else { "" },
                            "token_type": "Bearer", "expires_in": 3600}))
            }),
        )
}

/// Makes the connection, the tool, a persona with it and `sessions` sessions whose tokens carry
/// the variables; their ids.
pub async fn sessions(
    api: &Api,
    target: SocketAddr,
    api_key: &str,
    sessions: usize,
) -> anyhow::Result<Vec<String>> {
    let connection = api
        .post(
            "/v1/connections",
            json!({"name": "bench-oauth", "type": "oauth2_client_credentials",
               "tokenUrl": format!("http://{target}/power/token"),
               "clientId": "bench", "clientSecret": "bench-client-secret", "scope": "orders:read"}),
            api_key,
        )
        .await?;
    let tool = api.post(
        "/v1/tools",
        json!({"type": "server", "subtype": "webhook", "name": TOOL, "description": "Check an order",
               "url": format!("http://{target}/power/{{{{region}}}}/orders?account={{{{account_id}}}}"),
               "method": "POST",
               "headers": {"X-Tenant": "{{tenant}}"},
               "connectionId": connection["id"],
               "parameters": {"type": "object", "properties": {"orderId": {"type": "string"}}, "required": ["orderId"]},
               "response": {"select": ["/status", "/trackingNumber"], "maxBytes": 512},
               "awaitResponse": true}),
        api_key,
    )
    .await?;
    let persona = api
        .post(
            "/v1/personas",
            json!({"name": "Bench power", "toolIds": [tool["id"]]}),
            api_key,
        )
        .await?;
    let mut ids = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let token = api.post(
            "/v1/auth/session-token",
            json!({"personaConfig": {"personaId": persona["id"], "variables": {
                      "region": "eu-west", "account_id": format!("acct-{i}"), "tenant": format!("tenant-{i}")}},
                   "expiresInSeconds": 86400}),
            api_key,
        )
        .await?;
        let bearer = token["sessionToken"].as_str().unwrap_or_default();
        let started = api.post("/v1/engine/session", json!({}), bearer).await?;
        ids.push(started["sessionId"].as_str().unwrap_or_default().to_owned());
    }
    Ok(ids)
}

/// Whether an answer is the shaped one: the two selected values, and not the carrier.
pub fn shaped(body: &[u8]) -> bool {
    let has = |needle: &[u8]| body.windows(needle.len()).any(|w| w == needle);
    has(b"\"completed\"") && has(b"1Z999AA10123456784") && !has(b"\"carrier\"")
}

/// Token requests answered so far (the report says how many a run needed).
pub fn tokens_issued() -> u64 {
    TOKENS_ISSUED.load(Ordering::Relaxed)
}
