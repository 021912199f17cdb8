//! An MCP session spread over instances: `tools/call` runs on a copy of the session kept in each
//! instance's memory, and these tests hold that copy to what the database says. A session ended
//! or a key revoked on one instance is refused by the next call on another; tools a client listed
//! anew on one instance are what its calls run on another.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{persona, Mcp};
use crate::engine::call;
use crate::harness::{raw_settings, two_instances, RawSettings, Receiver, Reply, TestApp};

/// The same MCP session, spoken to through another instance.
fn through<'a>(app: &'a TestApp, mcp: &Mcp<'_>) -> Mcp<'a> {
    Mcp {
        app,
        key: mcp.key.clone(),
        persona_id: mcp.persona_id.clone(),
        session: mcp.session.clone(),
    }
}

fn call_body(id: i64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "check_order_status", "arguments": {"orderId": "ORD-1"}}})
}

#[tokio::test]
async fn a_session_ended_on_one_instance_is_refused_by_the_next_call_on_another() {
    let (a, b) = two_instances(raw_settings).await;
    let org = a.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"status": "shipped"}))).await;
    let persona_id = persona(&a, &org, &receiver).await;
    let mut on_a = Mcp::new(&a, &org, &persona_id);
    on_a.initialize().await;
    let on_b = through(&b, &on_a);
    // Calls on both instances, so each keeps the session in memory.
    for (n, mcp) in [&on_a, &on_b].into_iter().enumerate() {
        let reply = mcp
            .call_tool(n as i64, "check_order_status", json!({"orderId": "ORD-1"}))
            .await;
        assert_eq!(reply["result"]["isError"], false, "{reply}");
    }
    receiver.wait_for(2, Duration::from_secs(5)).await;

    let ended = a
        .client
        .delete(on_a.url())
        .bearer_auth(&org.key)
        .header("mcp-session-id", on_a.session.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);

    // No word needed: the call's start finds the session ended, on either instance, at once.
    for mcp in [&on_b, &on_a] {
        let (status, _, problem) = mcp.post(&call_body(9)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("initialize again"),
            "{problem}"
        );
    }
    // A call of a tool the session does not offer is refused the same way, not as an unknown tool.
    let (status, _, problem) = on_b
        .post(&json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call",
                      "params": {"name": "no_such_tool"}}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert_eq!(
        receiver.requests().len(),
        2,
        "a call of the ended session went out"
    );
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once_here_and_within_a_second_elsewhere() {
    let (a, b) = two_instances(raw_settings).await;
    let org = a.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"status": "shipped"}))).await;
    let persona_id = persona(&a, &org, &receiver).await;
    let (status, created) = org
        .post(&a, "/v1/api-keys", &json!({"name": "assistant"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let mut on_a = Mcp::new(&a, &org, &persona_id);
    on_a.key = created["key"].as_str().unwrap().to_owned();
    on_a.initialize().await;
    let on_b = through(&b, &on_a);
    for (n, mcp) in [&on_a, &on_b].into_iter().enumerate() {
        let reply = mcp
            .call_tool(n as i64, "check_order_status", json!({"orderId": "ORD-1"}))
            .await;
        assert_eq!(reply["result"]["isError"], false, "{reply}");
    }
    receiver.wait_for(2, Duration::from_secs(5)).await;

    let key_id = created["id"].as_str().unwrap();
    let (status, _) = org.delete(&a, &format!("/v1/api-keys/{key_id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, problem) = on_a.post(&call_body(5)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    // The other instance trusts a looked-up key for a second (docs/api.md).
    tokio::time::sleep(hookline_core::http::auth::CACHE_TTL + Duration::from_millis(200)).await;
    let (status, _, problem) = on_b.post(&call_body(6)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("revoked"),
        "{problem}"
    );
    assert_eq!(
        receiver.requests().len(),
        2,
        "a call with the revoked key went out"
    );
}

#[tokio::test]
async fn tools_listed_anew_on_one_instance_are_what_the_calls_run_on_another() {
    let (a, b) = two_instances(raw_settings).await;
    let org = a.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"status": "shipped"}))).await;
    let persona_id = persona(&a, &org, &receiver).await;
    let (_, stored) = org.get(&a, &format!("/v1/personas/{persona_id}")).await;
    let webhook_id = stored["toolIds"][0].as_str().unwrap().to_owned();
    let mut on_a = Mcp::new(&a, &org, &persona_id);
    on_a.initialize().await;
    let on_b = through(&b, &on_a);
    let reply = on_b
        .call_tool(1, "check_order_status", json!({"orderId": "ORD-1"}))
        .await;
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    assert_eq!(
        receiver.wait_for(1, Duration::from_secs(5)).await[0].path,
        "/orders/status"
    );

    // A tool attached and listed on A: B's kept copy does not have it, so B reads the session
    // again rather than call the tool unknown.
    let (status, tool) = org
        .post(
            &a,
            "/v1/tools",
            &json!({"type": "server", "subtype": "webhook", "name": "cancel_order",
                    "description": "Cancel an order", "url": receiver.url("/orders/cancel")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tool}");
    let tool_id = tool["id"].as_str().unwrap();
    let (status, _) = org
        .post(
            &a,
            &format!("/v1/personas/{persona_id}/tools/{tool_id}"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    on_a.request(2, "tools/list", json!({})).await;
    let reply = on_b.call_tool(3, "cancel_order", json!({})).await;
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    assert_eq!(
        receiver.wait_for(2, Duration::from_secs(5)).await[1].path,
        "/orders/cancel"
    );

    // A tool B keeps changed and listed on A: the retaken snapshot's word reaches B, whose
    // calls then go where the tool now points (without the word they never would).
    let (status, updated) = org
        .patch(
            &a,
            &format!("/v1/tools/{webhook_id}"),
            &json!({"url": receiver.url("/orders/status-v2")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    on_a.request(4, "tools/list", json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut id = 5;
    loop {
        let reply = on_b
            .call_tool(id, "check_order_status", json!({"orderId": "ORD-1"}))
            .await;
        assert_eq!(reply["result"]["isError"], false, "{reply}");
        let last = receiver
            .wait_for(id as usize - 2, Duration::from_secs(5))
            .await;
        if last.last().unwrap().path == "/orders/status-v2" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B still calls the tool as it was"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        id += 1;
    }
}

/// An MCP session's id is a session id like any other: its calls may also come through
/// `POST /v1/sessions/{id}/tool-calls`, whose engine keeps session snapshots in memory too. A
/// tool changed and listed anew over MCP is what those calls run next, on another instance.
#[tokio::test]
async fn tools_listed_anew_over_mcp_are_what_the_sessions_tool_calls_run_too() {
    let (a, b) = two_instances(raw_settings).await;
    let org = a.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"status": "shipped"}))).await;
    let persona_id = persona(&a, &org, &receiver).await;
    let (_, stored) = org.get(&a, &format!("/v1/personas/{persona_id}")).await;
    let webhook_id = stored["toolIds"][0].as_str().unwrap().to_owned();
    let mut on_a = Mcp::new(&a, &org, &persona_id);
    on_a.initialize().await;
    let session_id = on_a.session.clone().expect("an MCP session id");
    let body = json!({"toolName": "check_order_status", "arguments": {"orderId": "ORD-1"}});
    // B's engine reads the session and keeps its snapshot.
    let (status, answer) = call(&b, &org, &session_id, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "completed", "{answer}");

    let (status, updated) = org
        .patch(
            &a,
            &format!("/v1/tools/{webhook_id}"),
            &json!({"url": receiver.url("/orders/status-v2")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    on_a.request(2, "tools/list", json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut sent = 1;
    loop {
        let (status, answer) = call(&b, &org, &session_id, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        sent += 1;
        let got = receiver.wait_for(sent, Duration::from_secs(5)).await;
        if got.last().unwrap().path == "/orders/status-v2" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B's /tool-calls still runs the tool as it was"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `GET` streams of one MCP session are capped per instance, and count with the event
/// streams against the instance's cap; a closed stream frees its place.
#[tokio::test]
async fn mcp_streams_are_capped() {
    let app = TestApp::spawn_with(RawSettings {
        mcp_streams_per_session: 1,
        streams_per_instance: 2,
        ..raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    let persona_id = persona(&app, &org, &receiver).await;
    let mut one = Mcp::new(&app, &org, &persona_id);
    one.initialize().await;
    let open = |mcp: &Mcp<'_>| {
        app.client
            .get(mcp.url())
            .bearer_auth(&org.key)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", mcp.session.as_deref().unwrap())
            .send()
    };
    let first = one.open_stream().await;
    let refused = open(&one).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let problem: Value = refused.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("HOOKLINE_MCP_STREAMS_PER_SESSION"),
        "{problem}"
    );

    // Another session has a place of its own, and fills the instance.
    let mut two = Mcp::new(&app, &org, &persona_id);
    two.initialize().await;
    let _second = two.open_stream().await;
    let mut three = Mcp::new(&app, &org, &persona_id);
    three.initialize().await;
    let refused = open(&three).await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let problem: Value = refused.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("HOOKLINE_STREAMS_PER_INSTANCE"),
        "{problem}"
    );

    // The client goes away: its place is given back.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let again = open(&one).await.unwrap();
        if again.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "the place was never freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
