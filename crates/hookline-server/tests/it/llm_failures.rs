//! An LLM that fails, loops or is refused ends the turn with a kind a person can act on; an LLM
//! entry can be tested, and its key never reaches the log.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::conversations::{all_events, conversation, say, talkative, KEY};
use crate::fake_llm::{call, Answer, FakeLlm, Say};
use crate::harness::TestApp;

#[tokio::test]
async fn llm_failures_end_the_turn_with_their_kind() {
    let app = TestApp::spawn().await;
    // 429 with Retry-After, then an answer: the turn succeeds after waiting.
    let org = app.org("a").await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::error(429, "slow down").with_header("retry-after", "1"))
        .then(Answer::openai(vec![Say::Text("Hello!")]));
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    let started = std::time::Instant::now();
    let turn = say(&app, &org, &session_id, "hi").await;
    assert_eq!(turn["reply"]["content"], "Hello!", "{turn}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(fake.requests().len(), 2);

    // 5xx three times: retried twice, then llm_unavailable; the user's message stays.
    let org = app.org("b").await;
    let fake = FakeLlm::start().await;
    for _ in 0..3 {
        fake.then(Answer::error(503, "overloaded"));
    }
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    let turn = say(&app, &org, &session_id, "hi").await;
    assert_eq!(turn["error"]["kind"], "llm_unavailable", "{turn}");
    assert!(turn["error"]["message"]
        .as_str()
        .unwrap()
        .contains("overloaded"));
    assert_eq!(turn["reply"], Value::Null);
    assert_eq!(fake.requests().len(), 3);
    let messages = conversation(&app, &org, &session_id).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["role"], "user");
    let events = all_events(&app, &org, &session_id).await;
    assert_eq!(events[2].event, "turnFailed");
    assert_eq!(events[2].data["turnId"], turn["turnId"]);
    assert_eq!(events[2].data["error"]["kind"], "llm_unavailable");

    // A 4xx is not retried: llm_error with the provider's message.
    let org = app.org("c").await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::error(400, "model 'test-model' does not exist"));
    let (session_id, _) = talkative(&app, &org, &fake, "anthropic", &[]).await;
    let turn = say(&app, &org, &session_id, "hi").await;
    assert_eq!(turn["error"]["kind"], "llm_error", "{turn}");
    assert!(turn["error"]["message"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
    assert_eq!(fake.requests().len(), 1);

    // An LLM that never finishes: llm_timeout (timeoutSeconds bounds each request).
    let org = app.org("d").await;
    let fake = FakeLlm::start().await;
    for _ in 0..3 {
        fake.then(Answer::openai(vec![Say::Text("Hmm")]).hanging());
    }
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    let (status, llm) = org.get(&app, "/v1/llms").await;
    assert_eq!(status, StatusCode::OK);
    let llm_id = llm["data"][0]["id"].as_str().unwrap();
    org.patch(
        &app,
        &format!("/v1/llms/{llm_id}"),
        &json!({"timeoutSeconds": 1}),
    )
    .await;
    let turn = say(&app, &org, &session_id, "hi").await;
    assert_eq!(turn["error"]["kind"], "llm_timeout", "{turn}");

    // Nothing anywhere holds the key.
    let everything = crate::harness::dump_database(&app.pool).await;
    assert!(!everything.contains(KEY));
}

#[tokio::test]
async fn a_loopback_llm_is_refused_in_production_mode() {
    let app = TestApp::spawn().await; // production mode, 127.0.0.0/8 allowed
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![Say::Text("never")]));
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    // The same database served without allowed networks.
    let strict = TestApp::spawn_with(crate::harness::RawSettings {
        database_url: app.settings.database_url.clone(),
        allowed_networks: String::new(),
        ..crate::harness::raw_settings()
    })
    .await;
    let turn = say(&strict, &org, &session_id, "hi").await;
    assert_eq!(turn["error"]["kind"], "llm_unavailable", "{turn}");
    assert!(!turn["error"]["message"]
        .as_str()
        .unwrap()
        .contains("127.0.0.1"));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn the_round_limit_ends_a_turn_that_never_answers() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    for i in 0..8 {
        let id: &'static str = Box::leak(format!("call_{i}").into_boxed_str());
        fake.then(Answer::openai(vec![call(id, "skip_turn", "{}")]));
    }
    let tools = [json!({"type": "system", "name": "skip_turn"})];
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &tools).await;
    let turn = say(&app, &org, &session_id, "loop").await;
    assert_eq!(turn["error"]["kind"], "round_limit", "{turn}");
    assert_eq!(turn["toolCalls"].as_array().unwrap().len(), 8);
    assert_eq!(fake.requests().len(), 8);
}

#[tokio::test]
async fn an_llm_can_be_tested() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![Say::Text("OK")]))
        .then(Answer::error(401, "invalid api key"));
    talkative(&app, &org, &fake, "openai", &[]).await;
    let (_, list) = org.get(&app, "/v1/llms").await;
    let path = format!("/v1/llms/{}/test", list["data"][0]["id"].as_str().unwrap());
    let (status, ok) = org.post(&app, &path, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    assert_eq!(ok["ok"], true);
    assert_eq!(ok["reply"], "OK");
    assert!(ok["executionTime"].is_i64());
    let sent = &fake.requests()[0];
    assert_eq!(sent.body["max_tokens"], 16);
    assert_eq!(sent.header("authorization"), format!("Bearer {KEY}"));
    let (status, refused) = org.post(&app, &path, &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error"]["kind"], "llm_error");
    assert!(!refused.to_string().contains(KEY));
    let other = app.org("globex").await;
    let (status, _) = other.post(&app, &path, &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_llm_key_never_reaches_the_log() {
    let log = std::env::temp_dir().join(format!("hookline-llm-log-{}.txt", uuid::Uuid::new_v4()));
    let db = crate::harness::fresh_database_url();
    let mut server = crate::harness::Server::start_logging_to(
        &db,
        &[("RUST_LOG", "debug"), ("HOOKLINE_LOG_FORMAT", "json")],
        Some(&log),
    )
    .await;
    let app = TestApp::attach(server.addr, &db).await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    // A turn that succeeds after a retry, a failing one, and a test.
    fake.then(Answer::error(503, "busy"))
        .then(Answer::openai(vec![Say::Text("Hi.")]))
        .then(Answer::error(401, "bad key"))
        .then(Answer::error(401, "bad key"));
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    assert_eq!(
        say(&app, &org, &session_id, "hello").await["reply"]["content"],
        "Hi."
    );
    assert_eq!(
        say(&app, &org, &session_id, "again").await["error"]["kind"],
        "llm_error"
    );
    let (_, list) = org.get(&app, "/v1/llms").await;
    let test = format!("/v1/llms/{}/test", list["data"][0]["id"].as_str().unwrap());
    org.post(&app, &test, &json!({})).await;
    assert_eq!(fake.requests().len(), 4);
    server.terminate().await;
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    assert!(!text.is_empty());
    assert!(!text.contains(KEY), "the key was logged");
    assert!(
        !text.contains(&KEY[KEY.len() - 8..]),
        "part of the key was logged"
    );
}
