//! How a conversation ends: `end_call` ends the session after the reply, a session ended while a
//! turn's call runs ends after it, and a session whose persona has no LLM takes no message.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::conversations::{all_events, names, post_message, say, talkative, wait_until};
use crate::engine::seed_at;
use crate::fake_llm::{call, Answer, FakeLlm, Say};
use crate::harness::{session, Receiver, Reply, SseStream, TestApp};

#[tokio::test]
async fn end_call_ends_the_session_after_the_reply() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![call("call_end", "end_call", "{}")]))
        .then(Answer::openai(vec![Say::Text("Goodbye!")]));
    let tools = [json!({"type": "system", "name": "end_call"})];
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &tools).await;
    let turn = say(&app, &org, &session_id, "That's all, bye").await;
    assert_eq!(turn["sessionEnded"], true);
    assert_eq!(turn["reply"]["content"], "Goodbye!");
    let second = &fake.requests()[1].body["messages"];
    assert_eq!(second[3]["content"], r#"{"status":"ok"}"#);
    let events = all_events(&app, &org, &session_id).await;
    let seen = names(&events);
    let speech_end = seen
        .iter()
        .rposition(|e| *e == "messageStreamEvent")
        .unwrap();
    let ended = seen.iter().position(|e| *e == "sessionEnded").unwrap();
    assert!(ended > speech_end, "{seen:?}");
    let (_, read) = org.get(&app, &format!("/v1/sessions/{session_id}")).await;
    assert_eq!(read["status"], "ended");
    let (status, _) = org
        .post(
            &app,
            &format!("/v1/sessions/{session_id}/messages"),
            &json!({"content": "hello?"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_session_ended_during_a_turns_call_ends_after_the_call() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let store = Receiver::start(
        Reply::json(200, json!({"orderId": "ORD-1", "status": "shipped"}))
            .delayed(Duration::from_millis(300)),
    )
    .await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![call(
        "call_1",
        "check_order_status",
        r#"{"orderId":"ORD-1"}"#,
    )]))
    .then(Answer::openai(vec![Say::Text("It has shipped.")]));
    let tools = [seed_at("check_order_status", &store)];
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &tools).await;
    post_message(&app, &org, &session_id, "Where is ORD-1?").await;
    wait_until("the tool call", || store.requests().len() == 1).await;
    let (status, _) = org
        .post(&app, &format!("/v1/sessions/{session_id}/end"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    // The stream closes after `sessionEnded`, before 100.
    let events = SseStream::open(
        &app.url(&format!("/v1/sessions/{session_id}/events")),
        Some(&org.key),
        Some("0"),
    )
    .await
    .take(100, Duration::from_secs(10))
    .await;
    let seen = names(&events);
    let completed = seen.iter().position(|e| *e == "toolCallCompleted");
    let ended = seen.iter().position(|e| *e == "sessionEnded");
    assert!(
        matches!((completed, ended), (Some(c), Some(e)) if c < e && e == seen.len() - 1),
        "{seen:?}"
    );
    let ids: Vec<i64> = events
        .iter()
        .map(|e| e.id.as_deref().unwrap().parse().unwrap())
        .collect();
    assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>(), "{seen:?}");
}

#[tokio::test]
async fn a_session_without_an_llm_cannot_take_messages() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (session_id, secret) = session(&app, &org, json!({"name": "Plain"})).await;
    let path = format!("/v1/sessions/{session_id}/messages");
    let (status, body) = org.post(&app, &path, &json!({"content": "hi"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["type"], "urn:hookline:problem:no-llm");
    let (status, body) = org.post(&app, &path, &json!({"content": ""})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = org.post(&app, &path, &json!({"contnt": "hi"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(crate::harness::error_fields(&body), ["content", "contnt"]);
    // The browser may read the conversation with its client secret; another org sees nothing.
    let (status, list) = app
        .call(reqwest::Method::GET, &path, Some(&secret), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["meta"]["total"], 0);
    let other = app.org("globex").await;
    let (status, _) = other.get(&app, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
