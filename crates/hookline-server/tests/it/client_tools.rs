//! Client tools: a call the browser carries out, its result posted back with the session's
//! client secret, awaited or not, and timed out when no result comes.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::engine::call;
use crate::harness::{session, SseStream, TestApp};

/// Posts a client tool call's result as the browser does, with the session's client secret.
async fn post_result(
    app: &TestApp,
    session_id: &str,
    secret: &str,
    call_id: &str,
    body: Value,
) -> StatusCode {
    let path = format!("/v1/sessions/{session_id}/tool-calls/{call_id}/result");
    let (status, _) = app
        .call(Method::POST, &path, Some(secret), Some(&body))
        .await;
    status
}

#[tokio::test]
async fn client_tools_round_trip_and_time_out() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let tools = json!([
        {"type": "client", "name": "pick_size", "description": "Ask the page", "awaitResult": true, "resultTimeoutSeconds": 5},
        {"type": "client", "name": "pick_fast", "description": "Ask the page", "awaitResult": true, "resultTimeoutSeconds": 1},
        {"type": "client", "name": "show_product", "description": "Show it"}
    ]);
    let (session_id, secret) = session(&app, &org, json!({"tools": tools})).await;
    let mut events = SseStream::open(
        &app.url(&format!(
            "/v1/sessions/{session_id}/events?clientSecret={secret}"
        )),
        None,
        None,
    )
    .await;

    // The browser hears of the call and answers it while the runtime waits.
    let waiting = call(
        &app,
        &org,
        &session_id,
        json!({"toolCallId": "c1", "toolName": "pick_size", "arguments": {"sku": "A"}}),
    );
    let browser = async {
        let started = events.take(1, Duration::from_secs(5)).await;
        assert_eq!(started[0].event, "toolCallStarted");
        assert_eq!(started[0].data["toolType"], "client");
        assert_eq!(started[0].data["toolSubtype"], Value::Null);
        let result = json!({"result": {"size": "M"}});
        let status = post_result(&app, &session_id, &secret, "c1", result).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    };
    let ((status, answer), ()) = tokio::join!(waiting, browser);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["status"], "completed");
    assert_eq!(answer["result"], json!({"size": "M"}));
    let done = events.take(1, Duration::from_secs(5)).await;
    assert_eq!(done[0].event, "toolCallCompleted");
    assert_eq!(done[0].data["result"], json!({"size": "M"}));

    // Nobody answers: client_timeout after about a second.
    let started = Instant::now();
    let (_, answer) = call(
        &app,
        &org,
        &session_id,
        json!({"toolCallId": "c2", "toolName": "pick_fast"}),
    )
    .await;
    assert_eq!(answer["status"], "failed");
    assert_eq!(answer["error"]["kind"], "client_timeout");
    assert!(
        started.elapsed() >= Duration::from_millis(900)
            && started.elapsed() < Duration::from_secs(4)
    );
    let status = post_result(&app, &session_id, &secret, "c2", json!({"result": 1})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Without awaitResult: 202 at once, answered later.
    let (status, answer) = call(
        &app,
        &org,
        &session_id,
        json!({"toolCallId": "c3", "toolName": "show_product"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(answer["status"], "pending");
    let status = post_result(
        &app,
        &session_id,
        &secret,
        "c3",
        json!({"error": "the user closed it"}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, logged) = org
        .get(
            &app,
            &format!("/v1/tool-calls/{}", answer["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(logged["status"], "failed");
    assert_eq!(logged["error"]["message"], "the user closed it");
    let status = post_result(&app, &session_id, &secret, "nope", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
