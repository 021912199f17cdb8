//! A tenant chooses its LLM, so what an LLM streams is attacker input: every size and count a
//! turn takes from it is bounded, and past a bound the turn (or the call) ends with an error a
//! user can read, never with the instance's memory. And LLM servers that are not textbook
//! (interleaved parallel calls, a JSON answer to a streaming request) still work.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::conversations::{all_events, say, talkative};
use crate::engine::seed_at;
use crate::fake_llm::{call, Answer, FakeLlm, Say};
use crate::harness::{raw_settings, Receiver, Reply, TestApp};

fn openai_chunk(delta: Value, finish: Value) -> String {
    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    .to_string()
}

fn sse(data: &str) -> String {
    format!("data: {data}\n\n")
}

fn order_store() -> Reply {
    Reply::json(200, json!({"orderId": "ORD-1", "status": "shipped"}))
}

/// An OpenAI answer with one call whose arguments are `pieces` copies of a 8 KiB fragment.
fn huge_arguments(pieces: usize) -> Answer {
    let head = sse(&openai_chunk(
        json!({"tool_calls": [{"index": 0, "id": "call_big", "type": "function",
                "function": {"name": "check_order_status", "arguments": "{\"orderId\": \""}}]}),
        Value::Null,
    ));
    let piece = sse(&openai_chunk(
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "x".repeat(8192)}}]}),
        Value::Null,
    ));
    let tail = sse(&openai_chunk(
        json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"}"}}]}),
        Value::Null,
    )) + &sse(&openai_chunk(json!({}), json!("tool_calls")))
        + &sse("[DONE]");
    Answer::repeated("text/event-stream", head, piece, pieces, tail)
}

#[tokio::test]
async fn arguments_past_the_bound_are_refused_and_never_sent() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let store = Receiver::start(order_store()).await;
    let fake = FakeLlm::start().await;
    // 4 MiB of arguments (the bound is 1 MiB), then an answer once the LLM hears why.
    fake.then(huge_arguments(512))
        .then(Answer::openai(vec![Say::Text("That was too much, sorry.")]));
    let tool = seed_at("check_order_status", &store);
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[tool]).await;

    let turn = say(&app, &org, &session_id, "Where is ORD-1?").await;
    assert_eq!(turn["toolCalls"][0]["toolCallId"], "call_big", "{turn}");
    assert_eq!(turn["toolCalls"][0]["status"], "refused");
    assert_eq!(turn["toolCalls"][0]["error"]["kind"], "invalid_arguments");
    assert!(turn["toolCalls"][0]["id"].is_null());
    assert_eq!(turn["reply"]["content"], "That was too much, sorry.");
    assert!(store.requests().is_empty(), "the call must never be sent");

    // The LLM was told, in the call's result, and the stream shows the refusal.
    let second = &fake.requests()[1].body;
    let result = second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("a tool result");
    assert!(
        result["content"]
            .as_str()
            .unwrap()
            .contains("larger than 1048576 bytes"),
        "{result}"
    );
    let events = all_events(&app, &org, &session_id).await;
    let refused = events
        .iter()
        .find(|e| e.event == "toolCallRefused")
        .expect("a toolCallRefused event");
    assert_eq!(refused.data["toolCallId"], "call_big");
    assert_eq!(refused.data["error"]["kind"], "invalid_arguments");
}

#[tokio::test]
async fn an_endless_reply_ends_the_turn_and_keeps_what_was_said() {
    let mut raw = raw_settings();
    raw.turn_round_chars = 5_000;
    let app = TestApp::spawn_with(raw).await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    // 200,000 pieces of 4 characters: far past the bound, and more events than it allows.
    let head = sse(&openai_chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    ));
    let piece = sse(&openai_chunk(json!({"content": "bla "}), Value::Null));
    fake.then(Answer::repeated(
        "text/event-stream",
        head,
        piece,
        200_000,
        sse("[DONE]"),
    ));
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;

    let turn = say(&app, &org, &session_id, "Talk to me").await;
    assert_eq!(turn["error"]["kind"], "reply_too_long", "{turn}");
    let reply = turn["reply"]["content"].as_str().unwrap();
    assert_eq!(reply.chars().count(), 5_000);
    assert!(reply.starts_with("bla bla "));

    // What was said is stored as the persona's message, and the events that carried it are
    // far fewer than the pieces (deltas coalesce while the database is busy).
    let (status, messages) = org
        .get(&app, &format!("/v1/sessions/{session_id}/messages"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let persona = messages["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "persona")
        .unwrap();
    assert_eq!(persona["content"].as_str().unwrap().chars().count(), 5_000);
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM session_events WHERE event = 'messageStreamEvent'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(stored <= 1_252, "{stored} speech events for 1,250 pieces");
}

#[tokio::test]
async fn calls_past_the_bound_per_response_are_refused_not_run() {
    let mut raw = raw_settings();
    raw.turn_calls_per_response = 3;
    let app = TestApp::spawn_with(raw).await;
    let org = app.org("acme").await;
    let store = Receiver::start(order_store()).await;
    let fake = FakeLlm::start().await;
    let ids: Vec<&'static str> = (0..40)
        .map(|i| &*Box::leak(format!("call_{i}").into_boxed_str()))
        .collect();
    let calls = ids
        .iter()
        .map(|id| call(id, "check_order_status", r#"{"orderId": "ORD-1"}"#))
        .collect();
    fake.then(Answer::openai(calls))
        .then(Answer::openai(vec![Say::Text("Done.")]));
    let tool = seed_at("check_order_status", &store);
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[tool]).await;

    let turn = say(&app, &org, &session_id, "Check them all").await;
    let calls = turn["toolCalls"].as_array().unwrap();
    // Three run, three refused (twice the bound is kept to tell the LLM), the rest ignored.
    assert_eq!(calls.len(), 6, "{turn}");
    let statuses: Vec<&str> = calls
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "completed",
            "completed",
            "completed",
            "refused",
            "refused",
            "refused"
        ]
    );
    assert_eq!(calls[3]["error"]["kind"], "too_many_calls");
    assert_eq!(store.requests().len(), 3);
    let second = &fake.requests()[1].body;
    let results = second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .count();
    assert_eq!(results, 6, "every kept call has its result");
}

#[tokio::test]
async fn calls_past_the_bound_per_turn_are_refused() {
    let mut raw = raw_settings();
    raw.turn_calls = 2;
    let app = TestApp::spawn_with(raw).await;
    let org = app.org("acme").await;
    let store = Receiver::start(order_store()).await;
    let fake = FakeLlm::start().await;
    for id in ["call_a", "call_b", "call_c"] {
        fake.then(Answer::openai(vec![call(
            id,
            "check_order_status",
            r#"{"orderId": "ORD-1"}"#,
        )]));
    }
    fake.then(Answer::openai(vec![Say::Text("Enough.")]));
    let tool = seed_at("check_order_status", &store);
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[tool]).await;

    let turn = say(&app, &org, &session_id, "Check it again and again").await;
    let statuses: Vec<&str> = turn["toolCalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["completed", "completed", "refused"], "{turn}");
    assert_eq!(turn["toolCalls"][2]["error"]["kind"], "too_many_calls");
    assert_eq!(store.requests().len(), 2);
    assert_eq!(turn["reply"]["content"], "Enough.");
}

#[tokio::test]
async fn interleaved_parallel_calls_both_run() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let store = Receiver::start(order_store()).await;
    let fake = FakeLlm::start().await;
    let header = |i: u64, id: &str| {
        openai_chunk(
            json!({"tool_calls": [{"index": i, "id": id, "type": "function",
                    "function": {"name": "check_order_status", "arguments": ""}}]}),
            Value::Null,
        )
    };
    let piece = |i: u64, args: &str| {
        openai_chunk(
            json!({"tool_calls": [{"index": i, "function": {"arguments": args}}]}),
            Value::Null,
        )
    };
    let body = [
        header(0, "call_a"),
        header(1, "call_b"),
        piece(0, "{\"orderId\": "),
        piece(1, "{\"orderId\": "),
        piece(0, "\"ORD-1\"}"),
        piece(1, "\"ORD-2\"}"),
        openai_chunk(json!({}), json!("tool_calls")),
        "[DONE]".into(),
    ]
    .iter()
    .map(|d| sse(d))
    .collect::<String>();
    fake.then(Answer::whole(200, "text/event-stream", body))
        .then(Answer::openai(vec![Say::Text("Both shipped.")]));
    let tool = seed_at("check_order_status", &store);
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[tool]).await;

    let turn = say(&app, &org, &session_id, "ORD-1 and ORD-2?").await;
    let statuses: Vec<&str> = turn["toolCalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["completed", "completed"], "{turn}");
    let mut orders: Vec<String> = store
        .requests()
        .iter()
        .map(|r| r.json()["orderId"].as_str().unwrap().to_owned())
        .collect();
    orders.sort();
    assert_eq!(orders, ["ORD-1", "ORD-2"]);
}

#[tokio::test]
async fn a_json_answer_to_a_streaming_request_is_read_whole_in_both_apis() {
    for provider in ["openai", "anthropic"] {
        let app = TestApp::spawn().await;
        let org = app.org("acme").await;
        let store = Receiver::start(order_store()).await;
        let fake = FakeLlm::start().await;
        let (asked, answered) = if provider == "openai" {
            (
                json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
                       "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                           "role": "assistant", "content": null,
                           "tool_calls": [{"id": "call_1", "type": "function", "function": {
                               "name": "check_order_status", "arguments": "{\"orderId\":\"ORD-1\"}"}}]}}]}),
                json!({"id": "chatcmpl-2", "object": "chat.completion", "created": 1, "model": "m",
                       "choices": [{"index": 0, "finish_reason": "stop", "message": {
                           "role": "assistant", "content": "It has shipped."}}]}),
            )
        } else {
            (
                json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
                       "stop_reason": "tool_use", "content": [
                           {"type": "tool_use", "id": "toolu_1", "name": "check_order_status",
                            "input": {"orderId": "ORD-1"}}]}),
                json!({"id": "msg_2", "type": "message", "role": "assistant", "model": "m",
                       "stop_reason": "end_turn",
                       "content": [{"type": "text", "text": "It has shipped."}]}),
            )
        };
        fake.then(Answer::whole(200, "application/json", asked.to_string()))
            .then(Answer::whole(200, "application/json", answered.to_string()));
        let tool = seed_at("check_order_status", &store);
        let (session_id, _) = talkative(&app, &org, &fake, provider, &[tool]).await;

        let turn = say(&app, &org, &session_id, "Where is ORD-1?").await;
        assert_eq!(
            turn["toolCalls"][0]["status"], "completed",
            "{provider}: {turn}"
        );
        assert_eq!(turn["reply"]["content"], "It has shipped.", "{provider}");
        assert_eq!(store.requests()[0].json()["orderId"], "ORD-1");
    }
}

/// A stream the APIs never send fails the turn with `llm_error` naming what was wrong.
async fn failed_turn(app: &TestApp, answer: Answer) -> Value {
    let org = app
        .org(&format!("org-{}", uuid::Uuid::new_v4().simple()))
        .await;
    let fake = FakeLlm::start().await;
    fake.then(answer);
    let (session_id, _) = talkative(app, &org, &fake, "openai", &[]).await;
    say(app, &org, &session_id, "Hello").await
}

#[tokio::test]
async fn malformed_answers_fail_the_turn_with_a_reason() {
    let app = TestApp::spawn().await;
    // A call without `index`.
    let no_index = sse(&openai_chunk(
        json!({"tool_calls": [{"id": "c", "type": "function",
                "function": {"name": "check_order_status", "arguments": "{}"}}]}),
        Value::Null,
    )) + &sse("[DONE]");
    let turn = failed_turn(&app, Answer::whole(200, "text/event-stream", no_index)).await;
    assert_eq!(turn["error"]["kind"], "llm_error", "{turn}");
    assert!(turn["error"]["message"]
        .as_str()
        .unwrap()
        .contains("`index`"));

    // A line that never ends (4 MiB without a line break; the bound is 2 MiB).
    let endless = Answer::repeated(
        "text/event-stream",
        "data: {\"choices\": [{\"delta\": {\"content\": \"".into(),
        "y".repeat(64 * 1024),
        64,
        "\"}}]}\n\n".into(),
    );
    let turn = failed_turn(&app, endless).await;
    assert_eq!(turn["error"]["kind"], "llm_error", "{turn}");
    assert!(
        turn["error"]["message"]
            .as_str()
            .unwrap()
            .contains("longer than 2097152 bytes"),
        "{turn}"
    );

    // An empty answer is not an empty success.
    let turn = failed_turn(&app, Answer::whole(200, "text/plain", String::new())).await;
    assert_eq!(turn["error"]["kind"], "llm_error", "{turn}");
    assert!(turn["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no events"));

    // An error answer's body is read only so far, and only its first KiB becomes the message.
    let huge_error = Answer::repeated(
        "text/plain",
        String::new(),
        "e".repeat(64 * 1024),
        256,
        String::new(),
    );
    let mut huge_error = huge_error;
    huge_error.status = 400;
    let turn = failed_turn(&app, huge_error).await;
    assert_eq!(turn["error"]["kind"], "llm_error", "{turn}");
    let message = turn["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("the LLM answered 400: eee"),
        "{message}"
    );
    assert!(message.len() < 1_100, "{} bytes", message.len());
}

#[tokio::test]
async fn the_history_sent_to_the_llm_is_bounded_by_size() {
    let mut raw = raw_settings();
    raw.turn_history_bytes = 25_000;
    let app = TestApp::spawn_with(raw).await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    for _ in 0..4 {
        fake.then(Answer::openai(vec![Say::Text("Noted.")]));
    }
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    for i in 0..4 {
        let long = format!("{i}{}", "z".repeat(9_999));
        say(&app, &org, &session_id, &long).await;
    }
    let last = &fake.requests()[3].body;
    let users: Vec<&str> = last["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| &m["content"].as_str().unwrap()[..1])
        .collect();
    // Each message is 10,000 characters: the two newest fit, the older ones are left out.
    assert_eq!(users, ["2", "3"]);
}

#[tokio::test]
async fn a_session_posting_too_fast_is_told_when_to_try_again() {
    let mut raw = raw_settings();
    raw.session_message_burst = 3;
    raw.session_messages_per_second = 0.5;
    let app = TestApp::spawn_with(raw).await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    let path = format!("/v1/sessions/{session_id}/messages");
    let hi = json!({"content": "hi"});
    for _ in 0..3 {
        assert_eq!(org.post(&app, &path, &hi).await.0, StatusCode::ACCEPTED);
    }
    let response = app
        .client
        .post(app.url(&format!("/v1/sessions/{session_id}/messages")))
        .bearer_auth(&org.key)
        .json(&json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "urn:hookline:problem:rate-limited");
}

#[tokio::test]
async fn a_reply_in_more_events_than_a_turn_may_store_ends_the_turn() {
    let mut raw = raw_settings();
    raw.turn_events = 20;
    let app = TestApp::spawn_with(raw).await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    // 400 words, 5 ms apart: each is its own event unless commits fall far behind.
    let words: &'static str = Box::leak("word ".repeat(400).into_boxed_str());
    fake.then(Answer::openai(vec![Say::Text(words)]).paced(std::time::Duration::from_millis(5)));
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;

    let turn = say(&app, &org, &session_id, "Talk to me").await;
    assert_eq!(turn["error"]["kind"], "reply_too_long", "{turn}");
    assert!(
        turn["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than 20 events"),
        "{turn}"
    );
    let said = turn["reply"]["content"].as_str().unwrap();
    assert!(
        said.starts_with("word word") && said.len() < 2_000,
        "{said}"
    );
}
