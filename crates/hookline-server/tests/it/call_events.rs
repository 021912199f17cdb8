//! A session's tool-call events: streamed and replayed without gaps or doubles, across
//! instances, and the session's end as its last event.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::engine::{call, session_with};
use crate::harness::{session, Receiver, Reply, SseStream, TestApp};

#[tokio::test]
async fn events_stream_and_replay_without_gaps_or_doubles() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": 1}))).await;
    let tool = json!({"type": "server", "subtype": "webhook", "name": "ping", "description": "d", "url": receiver.url("/p")});
    let (session_id, secret) = session_with(&app, &org, &[tool]).await;
    let url = app.url(&format!("/v1/sessions/{session_id}/events"));
    let mut stream = SseStream::open(&url, Some(&secret), None).await;
    for i in 0..3 {
        let (_, a) = call(
            &app,
            &org,
            &session_id,
            json!({"toolCallId": format!("p{i}"), "toolName": "ping", "arguments": {"n": i}}),
        )
        .await;
        assert_eq!(a["status"], "completed");
    }
    let got = stream.take(6, Duration::from_secs(5)).await;
    let names: Vec<&str> = got.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        [
            "toolCallStarted",
            "toolCallCompleted",
            "toolCallStarted",
            "toolCallCompleted",
            "toolCallStarted",
            "toolCallCompleted"
        ]
    );
    let ids: Vec<&str> = got.iter().map(|e| e.id.as_deref().unwrap()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6"]);
    let completed = &got[1].data;
    assert_eq!(completed["sessionId"], session_id.as_str());
    assert_eq!(completed["toolCallId"], "p0");
    assert_eq!(completed["toolName"], "ping");
    assert_eq!(completed["toolType"], "server");
    assert_eq!(completed["toolSubtype"], "webhook");
    assert_eq!(completed["arguments"], json!({"n": 0}));
    assert_eq!(completed["result"], json!({"ok": 1}));
    assert!(
        completed["executionTime"].is_number()
            && completed["eventUid"].is_string()
            && completed["timestamp"].is_string()
    );

    // Reconnecting after event 2 replays 3..6 in order, then carries on with new ones.
    let mut again = SseStream::open(&url, Some(&org.key), Some("2")).await;
    let replayed = again.take(4, Duration::from_secs(5)).await;
    let ids: Vec<&str> = replayed.iter().map(|e| e.id.as_deref().unwrap()).collect();
    assert_eq!(ids, ["3", "4", "5", "6"]);
    receiver.then(Reply::json(503, json!({"error": "busy"})));
    call(
        &app,
        &org,
        &session_id,
        json!({"toolCallId": "p9", "toolName": "ping"}),
    )
    .await;
    let next = again.take(2, Duration::from_secs(5)).await;
    assert_eq!(next[1].event, "toolCallFailed");
    assert_eq!(next[1].id.as_deref(), Some("8"));
    assert!(next[1].data["errorMessage"]
        .as_str()
        .unwrap()
        .contains("503"));
    // A first connection gets new events only.
    let mut fresh = SseStream::open(&format!("{url}?clientSecret={secret}"), None, None).await;
    org.post(&app, &format!("/v1/sessions/{session_id}/end"), &json!({}))
        .await;
    let last = fresh.take(1, Duration::from_secs(5)).await;
    assert_eq!(last[0].event, "sessionEnded");
    assert_eq!(last[0].id.as_deref(), Some("9"));
}

#[tokio::test]
async fn an_event_on_one_instance_reaches_a_stream_on_another() {
    let first = TestApp::spawn().await;
    let second = TestApp::spawn_with(crate::harness::RawSettings {
        database_url: first.settings.database_url.clone(),
        ..crate::harness::raw_settings()
    })
    .await;
    let org = first.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"from": "a"}))).await;
    let tool = json!({"type": "server", "subtype": "webhook", "name": "ping", "description": "d", "url": receiver.url("/p")});
    let (session_id, secret) = session_with(&first, &org, &[tool]).await;
    let mut on_second = SseStream::open(
        &second.url(&format!("/v1/sessions/{session_id}/events")),
        Some(&secret),
        None,
    )
    .await;
    let (_, a) = call(&first, &org, &session_id, json!({"toolName": "ping"})).await;
    assert_eq!(a["status"], "completed");
    let got = on_second.take(2, Duration::from_secs(5)).await;
    assert_eq!(got[1].event, "toolCallCompleted");
    assert_eq!(got[1].data["result"], json!({"from": "a"}));
}

#[tokio::test]
async fn end_call_ends_the_session() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (session_id, secret) = session(
        &app,
        &org,
        json!({"tools": [{"type": "system", "name": "end_call"}]}),
    )
    .await;
    let mut events = SseStream::open(
        &app.url(&format!("/v1/sessions/{session_id}/events")),
        Some(&secret),
        None,
    )
    .await;
    let (status, a) = call(&app, &org, &session_id, json!({"toolName": "end_call"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(a["status"], "completed");
    let got = events.take(3, Duration::from_secs(5)).await;
    let names: Vec<&str> = got.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        ["toolCallStarted", "toolCallCompleted", "sessionEnded"]
    );
    assert_eq!(got[0].data["toolType"], "system");
    let (_, s) = org.get(&app, &format!("/v1/sessions/{session_id}")).await;
    assert_eq!(s["status"], "ended");
}
