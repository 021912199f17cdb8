//! The conversation runtime end to end: a persona with the seed's tools talks through a scripted
//! fake LLM, its tool calls reach the recording receiver, and what the LLM is sent is checked.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::engine::{create_tool, seed_at};
use crate::fake_llm::{call, Answer, FakeLlm, Say};
use crate::harness::{session, Org, Receiver, Reply, SseEvent, SseStream, TestApp};

const KEY: &str = "sk-conversation-secret-0001";
const PROMPT: &str =
    "You are Acme's support agent. If an order is delayed, create a support ticket.";

/// An LLM pointing at `fake`, a persona with these tools and that LLM, and a started session.
pub(crate) async fn talkative(
    app: &TestApp,
    org: &Org,
    fake: &FakeLlm,
    provider: &str,
    tools: &[Value],
) -> (String, String) {
    let (status, llm) = org
        .post(
            app,
            "/v1/llms",
            &json!({"name": "fake", "provider": provider, "model": "test-model",
                    "baseUrl": fake.base_url(provider == "openai"), "apiKey": KEY,
                    "timeoutSeconds": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{llm}");
    let mut ids = Vec::new();
    for tool in tools {
        ids.push(create_tool(app, org, tool).await);
    }
    let (status, persona) = org
        .post(
            app,
            "/v1/personas",
            &json!({"name": "Support", "systemPrompt": PROMPT, "llmId": llm["id"], "toolIds": ids}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{persona}");
    session(app, org, json!({"personaId": persona["id"]})).await
}

pub(crate) async fn say(app: &TestApp, org: &Org, session_id: &str, content: &str) -> Value {
    let (status, body) = org
        .post(
            app,
            &format!("/v1/sessions/{session_id}/messages?wait=true"),
            &json!({"content": content}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Every event of the session so far, replayed from the start: as many as the table holds
/// (a turn's speech deltas that pile up during a commit are one event, so their number is not
/// known in advance).
pub(crate) async fn all_events(app: &TestApp, org: &Org, session_id: &str) -> Vec<SseEvent> {
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM session_events WHERE session_id = $1::uuid")
            .bind(session_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let mut stream = SseStream::open(
        &app.url(&format!("/v1/sessions/{session_id}/events")),
        Some(&org.key),
        Some("0"),
    )
    .await;
    stream.take(stored as usize, Duration::from_secs(10)).await
}

/// The status of each tool call a turn's result lists, in order.
pub(crate) fn statuses(turn: &Value) -> Vec<String> {
    turn["toolCalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .collect()
}

fn names(events: &[SseEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

#[tokio::test]
async fn an_order_question_is_answered_with_the_tracking_number() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let store = Receiver::start(Reply::json(
        200,
        json!({"orderId": "ORD-12345", "status": "shipped", "trackingNumber": "1Z999AA10123456784"}),
    ))
    .await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![
        Say::Text("Let me check that. "),
        call(
            "call_abc123",
            "check_order_status",
            r#"{"orderId": "ORD-12345"}"#,
        ),
    ]))
    .then(Answer::openai(vec![Say::Text(
        "Your order ORD-12345 has shipped; the tracking number is 1Z999AA10123456784.",
    )]));
    let tool = seed_at("check_order_status", &store);
    let (session_id, _) = talkative(&app, &org, &fake, "openai", std::slice::from_ref(&tool)).await;

    let turn = say(
        &app,
        &org,
        &session_id,
        "What's the status of my order ORD-12345?",
    )
    .await;
    let reply = turn["reply"]["content"].as_str().unwrap();
    assert!(reply.contains("1Z999AA10123456784"), "{turn}");
    assert_eq!(turn["reply"]["interrupted"], false);
    assert_eq!(turn["sessionEnded"], false);
    assert!(turn.get("error").is_none(), "{turn}");
    assert_eq!(turn["toolCalls"][0]["toolCallId"], "call_abc123");
    assert_eq!(turn["toolCalls"][0]["toolName"], "check_order_status");
    assert_eq!(turn["toolCalls"][0]["status"], "completed");

    // The webhook got the arguments the LLM streamed, signed, as /tool-calls sends them.
    let hits = store.requests();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "/orders/status");
    assert_eq!(hits[0].json(), json!({"orderId": "ORD-12345"}));
    assert_eq!(hits[0].header("authorization"), "Bearer YOUR_API_KEY");
    assert!(hits[0].header("webhook-signature").starts_with("v1,"));

    // What the LLM was sent: the system prompt, the conversation, the tools in its format.
    let sent = fake.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].path, "/v1/chat/completions");
    assert_eq!(sent[0].header("authorization"), format!("Bearer {KEY}"));
    assert_eq!(sent[0].body["model"], "test-model");
    assert_eq!(sent[0].body["stream"], true);
    assert_eq!(
        sent[0].body["messages"],
        json!([
            {"role": "system", "content": PROMPT},
            {"role": "user", "content": "What's the status of my order ORD-12345?"},
        ])
    );
    assert_eq!(
        sent[0].body["tools"],
        json!([{"type": "function", "function": {
            "name": "check_order_status", "description": tool["description"],
            "parameters": tool["parameters"]}}])
    );
    assert_eq!(
        sent[1].body["messages"][2],
        json!({"role": "assistant", "content": "Let me check that. ", "tool_calls": [
            {"id": "call_abc123", "type": "function",
             "function": {"name": "check_order_status", "arguments": "{\"orderId\": \"ORD-12345\"}"}}]})
    );
    let result: Value =
        serde_json::from_str(sent[1].body["messages"][3]["content"].as_str().unwrap()).unwrap();
    assert_eq!(sent[1].body["messages"][3]["role"], "tool");
    assert_eq!(sent[1].body["messages"][3]["tool_call_id"], "call_abc123");
    assert_eq!(result["trackingNumber"], "1Z999AA10123456784");

    // The conversation, tool exchange included.
    let (status, list) = org
        .get(&app, &format!("/v1/sessions/{session_id}/messages"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let roles: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "persona", "tool", "persona"]);
    assert_eq!(list["data"][1]["toolCalls"][0]["toolCallId"], "call_abc123");
    assert_eq!(list["data"][2]["toolCallId"], "call_abc123");
    assert_eq!(list["data"][3]["id"], turn["reply"]["id"]);
    assert_eq!(list["meta"]["total"], 4);

    // The events, in order, with the SDK's names; the call log has the call under the LLM's id.
    let (_, calls) = org
        .get(&app, &format!("/v1/sessions/{session_id}/tool-calls"))
        .await;
    assert_eq!(calls["data"][0]["toolCallId"], "call_abc123");
    let events = all_events(&app, &org, &session_id).await;
    let seen = names(&events);
    assert_eq!(seen[0], "messageStreamEvent");
    assert_eq!(events[0].data["role"], "user");
    assert_eq!(events[0].data["endOfSpeech"], true);
    assert_eq!(seen[1], "messageHistoryUpdated");
    assert!(seen.contains(&"toolCallStarted") && seen.contains(&"toolCallCompleted"));
    // The stream tells the story in order: the call's end comes before the words of the round
    // that its result made possible.
    let completed = seen.iter().position(|e| *e == "toolCallCompleted").unwrap();
    let answer_starts = events
        .iter()
        .position(|e| {
            e.event == "messageStreamEvent"
                && e.data["content"].as_str().unwrap().starts_with("Your ")
        })
        .unwrap();
    assert!(completed < answer_starts, "{seen:?}");
    let last_speech = events
        .iter()
        .rev()
        .find(|e| e.event == "messageStreamEvent")
        .unwrap();
    assert_eq!(last_speech.data["endOfSpeech"], true);
    assert_eq!(last_speech.data["role"], "persona");
    assert_eq!(*seen.last().unwrap(), "messageHistoryUpdated");
    let history = &events.last().unwrap().data["messages"];
    assert_eq!(history.as_array().unwrap().len(), 3, "{history}");
    assert!(!events.iter().any(|e| e.data.to_string().contains(KEY)));
}

#[tokio::test]
async fn a_delayed_order_gets_a_ticket_in_the_same_turn() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let store = Receiver::start(Reply::json(200, json!({"ticketId": 789}))).await;
    store.then(Reply::json(
        200,
        json!({"orderId": "ORD-777", "status": "delayed"}),
    ));
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![call(
        "call_1",
        "check_order_status",
        r#"{"orderId":"ORD-777"}"#,
    )]))
    .then(Answer::openai(vec![call(
        "call_2",
        "create_support_ticket",
        r#"{"subject":"Order ORD-777 delayed","description":"Customer asks about a delayed order","priority":"high"}"#,
    )]))
    .then(Answer::openai(vec![Say::Text(
        "I checked your order and it's delayed. I've created support ticket #789 to investigate.",
    )]));
    let tools = [
        seed_at("check_order_status", &store),
        seed_at("create_support_ticket", &store),
    ];
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &tools).await;

    let turn = say(&app, &org, &session_id, "Where is my order ORD-777?").await;
    let reply = turn["reply"]["content"].as_str().unwrap();
    assert!(
        reply.contains("delayed") && reply.contains("#789"),
        "{turn}"
    );
    let called: Vec<&str> = turn["toolCalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["toolName"].as_str().unwrap())
        .collect();
    assert_eq!(called, ["check_order_status", "create_support_ticket"]);
    let hits = store.requests();
    assert_eq!(hits[0].json(), json!({"orderId": "ORD-777"}));
    assert_eq!(hits[1].json()["priority"], "high");
    // The third request holds both exchanges, each result after its call.
    let third = &fake.requests()[2].body["messages"];
    let roles: Vec<&str> = third
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "tool", "assistant", "tool"]
    );
    assert!(third[5]["content"].as_str().unwrap().contains("789"));
}

#[tokio::test]
async fn calls_of_one_response_run_concurrently_and_a_failure_is_explained() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let slow = Receiver::start(
        Reply::json(200, json!({"status": "shipped"})).delayed(Duration::from_millis(600)),
    )
    .await;
    let broken = Receiver::start(
        Reply::json(503, json!({"message": "ticket system down"}))
            .delayed(Duration::from_millis(600)),
    )
    .await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![
        call("call_a", "check_order_status", r#"{"orderId":"ORD-1"}"#),
        call(
            "call_b",
            "create_support_ticket",
            r#"{"subject":"s","description":"d"}"#,
        ),
    ]))
    .then(Answer::openai(vec![Say::Text(
        "Your order has shipped, but our ticket system is down right now, so I could not open a ticket.",
    )]));
    let tools = [
        seed_at("check_order_status", &slow),
        seed_at("create_support_ticket", &broken),
    ];
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &tools).await;
    let turn = say(&app, &org, &session_id, "Check ORD-1 and open a ticket").await;
    assert_eq!(turn["toolCalls"][0]["status"], "completed");
    assert_eq!(turn["toolCalls"][1]["status"], "failed");
    // Both requests left before either 600 ms answer came back: the calls ran side by side.
    let (a, b) = (slow.requests()[0].at, broken.requests()[0].at);
    let gap = a.max(b).duration_since(a.min(b));
    assert!(gap < Duration::from_millis(500), "{gap:?}");
    // The LLM is given the error and the endpoint's answer, so it can explain.
    let second = &fake.requests()[1].body["messages"];
    let failed: Value = serde_json::from_str(second[4]["content"].as_str().unwrap()).unwrap();
    assert_eq!(second[4]["tool_call_id"], "call_b");
    assert_eq!(failed["error"]["kind"], "http_status");
    assert_eq!(failed["result"]["status"], 503);
    assert_eq!(failed["result"]["body"]["message"], "ticket system down");
    assert!(turn["reply"]["content"]
        .as_str()
        .unwrap()
        .contains("ticket system is down"));
}

#[tokio::test]
async fn invalid_arguments_are_corrected_in_the_next_round() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let store = Receiver::start(Reply::json(200, json!({"status": "shipped"}))).await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![
        call("call_1", "check_order_status", r#"{"email": 5}"#),
        call("call_2", "check_order_status", r#"{"orderId": "ORD-1""#),
        call("call_3", "cancel_everything", r#"{}"#),
    ]))
    .then(Answer::openai(vec![call(
        "call_4",
        "check_order_status",
        r#"{"orderId": "ORD-1"}"#,
    )]))
    .then(Answer::openai(vec![Say::Text("It has shipped.")]));
    let tools = [seed_at("check_order_status", &store)];
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &tools).await;
    let turn = say(&app, &org, &session_id, "ORD-1?").await;
    assert_eq!(turn["reply"]["content"], "It has shipped.");
    let statuses: Vec<&str> = turn["toolCalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "refused", "refused", "completed"]);
    // Only the corrected call reached the endpoint.
    assert_eq!(store.requests().len(), 1);
    assert_eq!(store.requests()[0].json(), json!({"orderId": "ORD-1"}));
    let second = &fake.requests()[1].body["messages"];
    let result = |i: usize| -> Value {
        serde_json::from_str(second[i]["content"].as_str().unwrap()).unwrap()
    };
    assert_eq!(result(3)["error"]["kind"], "invalid_arguments");
    let problems = result(3)["error"]["errors"].to_string();
    assert!(
        problems.contains("orderId") && problems.contains("email"),
        "{problems}"
    );
    assert_eq!(result(4)["error"]["kind"], "invalid_arguments");
    assert_eq!(result(5)["error"]["kind"], "unknown_tool");
    assert!(result(5)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("check_order_status"));
}

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

/// A session ended while a turn's tool call runs: the turn's writer, which records that call's
/// end, finds the session ended without `sessionEnded` and writes it after the call's events
/// (once, numbered without gaps), as the call log does for calls made through `/tool-calls`.
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
async fn anthropic_flows_carry_tool_results_in_its_format() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let store = Receiver::start(Reply::json(
        200,
        json!({"status": "shipped", "trackingNumber": "1Z999"}),
    ))
    .await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::anthropic(vec![
        Say::Text("Checking."),
        call(
            "toolu_01",
            "check_order_status",
            r#"{"orderId": "ORD-12345"}"#,
        ),
    ]))
    .then(Answer::anthropic(vec![Say::Text(
        "It shipped: tracking number 1Z999.",
    )]));
    let tool = seed_at("check_order_status", &store);
    let (session_id, _) =
        talkative(&app, &org, &fake, "anthropic", std::slice::from_ref(&tool)).await;
    let turn = say(
        &app,
        &org,
        &session_id,
        "What's the status of my order ORD-12345?",
    )
    .await;
    assert!(
        turn["reply"]["content"].as_str().unwrap().contains("1Z999"),
        "{turn}"
    );
    assert_eq!(store.requests()[0].json(), json!({"orderId": "ORD-12345"}));
    let sent = fake.requests();
    assert_eq!(sent[0].path, "/v1/messages");
    assert_eq!(sent[0].header("x-api-key"), KEY);
    assert_eq!(sent[0].header("anthropic-version"), "2023-06-01");
    assert_eq!(sent[0].body["system"], PROMPT);
    assert_eq!(sent[0].body["max_tokens"], 1024);
    assert_eq!(
        sent[0].body["tools"],
        json!([{"name": "check_order_status", "description": tool["description"],
                "input_schema": tool["parameters"]}])
    );
    let messages = &sent[1].body["messages"];
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_01", "name": "check_order_status",
             "input": {"orderId": "ORD-12345"}}]})
    );
    assert_eq!(messages[2]["role"], "user");
    assert_eq!(messages[2]["content"][0]["type"], "tool_result");
    assert_eq!(messages[2]["content"][0]["tool_use_id"], "toolu_01");
    assert!(messages[2]["content"][0]["content"]
        .as_str()
        .unwrap()
        .contains("1Z999"));
}

/// Whether a result is an error is how its call ended, stored with the result, not a guess from
/// its text: an endpoint that answers 200 with an `error` field of its own answered.
#[tokio::test]
async fn the_llm_is_told_a_result_is_an_error_only_when_its_call_failed() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let answered = Receiver::start(Reply::json(200, json!({"error": "no such coupon"}))).await;
    let broken = Receiver::start(Reply::json(500, json!({"message": "down"}))).await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::anthropic(vec![
        call("toolu_a", "check_order_status", r#"{"orderId": "ORD-1"}"#),
        call(
            "toolu_b",
            "create_support_ticket",
            r#"{"subject": "s", "description": "d"}"#,
        ),
    ]))
    .then(Answer::anthropic(vec![Say::Text("Done.")]))
    .then(Answer::anthropic(vec![Say::Text("Still here.")]));
    let tools = [
        seed_at("check_order_status", &answered),
        seed_at("create_support_ticket", &broken),
    ];
    let (session_id, _) = talkative(&app, &org, &fake, "anthropic", &tools).await;
    say(&app, &org, &session_id, "Check ORD-1 and open a ticket").await;
    // The next turn reads the results back from the database: the same flags.
    say(&app, &org, &session_id, "Thanks").await;
    for sent in &fake.requests()[1..] {
        let results = &sent.body["messages"][2]["content"];
        assert_eq!(results[0]["tool_use_id"], "toolu_a", "{results}");
        assert_eq!(results[0].get("is_error"), None, "{results}");
        assert_eq!(results[1]["tool_use_id"], "toolu_b", "{results}");
        assert_eq!(results[1]["is_error"], true, "{results}");
    }
    assert_eq!(fake.requests().len(), 3);
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

/// Posts without waiting; returns the accepted `{id, turnId}`.
pub(crate) async fn post_message(
    app: &TestApp,
    org: &Org,
    session_id: &str,
    content: &str,
) -> Value {
    let (status, body) = org
        .post(
            app,
            &format!("/v1/sessions/{session_id}/messages"),
            &json!({"content": content}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited in vain for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn conversation(app: &TestApp, org: &Org, session_id: &str) -> Vec<Value> {
    let (_, list) = org
        .get(
            app,
            &format!("/v1/sessions/{session_id}/messages?perPage=100"),
        )
        .await;
    list["data"].as_array().unwrap().clone()
}

pub(crate) const LONG: &str =
    "Let me tell you everything about our shipping policy, which has many parts \
    and goes on for quite a while before it gets to the point you asked about.";

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

/// Posts a first message whose answer streams slowly, waits for its first words, then a second
/// message to `second_app`: the first reply is cut and kept as interrupted.
async fn interrupt_from(app: &TestApp, second_app: &TestApp) {
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![Say::Text(LONG)]).paced(Duration::from_millis(100)))
        .then(Answer::openai(vec![Say::Text(
            "Sure, here is the short answer.",
        )]));
    let (session_id, _) = talkative(app, &org, &fake, "openai", &[]).await;
    let first = post_message(app, &org, &session_id, "Tell me about shipping").await;
    // Let a few words stream out.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let second = say(
        second_app,
        &org,
        &session_id,
        "Just the short answer please",
    )
    .await;
    assert_eq!(
        second["reply"]["content"], "Sure, here is the short answer.",
        "{second}"
    );
    let messages = conversation(app, &org, &session_id).await;
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "persona", "user", "persona"],
        "{messages:?}"
    );
    assert_eq!(messages[1]["turnId"], first["turnId"]);
    assert_eq!(messages[1]["interrupted"], true);
    let partial = messages[1]["content"].as_str().unwrap();
    assert!(
        !partial.is_empty() && LONG.starts_with(partial) && partial != LONG,
        "{partial}"
    );
    assert_eq!(messages[3]["interrupted"], false);
    // The next request saw the partial reply before the new message.
    let sent = &fake.requests()[1].body["messages"];
    assert_eq!(sent[2], json!({"role": "assistant", "content": partial}));
    assert_eq!(sent[3]["content"], "Just the short answer please");
    // The interrupted reply's last event says so.
    let mut stream = SseStream::open(
        &app.url(&format!("/v1/sessions/{session_id}/events")),
        Some(&org.key),
        Some("0"),
    )
    .await;
    loop {
        let e = stream.take(1, Duration::from_secs(10)).await.remove(0);
        if e.event == "messageStreamEvent"
            && e.data["turnId"] == first["turnId"]
            && e.data["role"] == "persona"
        {
            if e.data["interrupted"] == true {
                assert_eq!(e.data["endOfSpeech"], false);
                break;
            }
            assert_eq!(
                e.data["endOfSpeech"], false,
                "the cut reply never ended normally"
            );
        }
    }
}

#[tokio::test]
async fn a_new_message_interrupts_the_running_turn() {
    let app = TestApp::spawn().await;
    interrupt_from(&app, &app).await;
}

#[tokio::test]
async fn a_message_on_another_instance_interrupts_the_turn() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn_with(crate::harness::RawSettings {
        database_url: a.settings.database_url.clone(),
        ..crate::harness::raw_settings()
    })
    .await;
    interrupt_from(&a, &b).await;
}

/// A session whose persona's one tool, `issue_refund`, disables interruptions and is answered
/// after `delay`. The LLM calls it, then says `after_refund`, then `next` (to a later message).
/// Returns once "Refund ORD-9" was posted and the refund's request has reached the webhook,
/// with the session, the webhook and the LLM (keep them: dropping one stops it).
pub(crate) async fn refund_under_way(
    app: &TestApp,
    org: &Org,
    delay: Duration,
    after_refund: &'static str,
    next: &'static str,
) -> (String, Receiver, FakeLlm) {
    let store = Receiver::start(Reply::json(200, json!({"refund": "issued"})).delayed(delay)).await;
    let mut refund = seed_at("check_order_status", &store);
    refund["name"] = json!("issue_refund");
    refund["disableInterruptions"] = json!(true);
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![call(
        "call_r",
        "issue_refund",
        r#"{"orderId":"ORD-9"}"#,
    )]))
    .then(Answer::openai(vec![Say::Text(after_refund)]))
    .then(Answer::openai(vec![Say::Text(next)]));
    let (session_id, _) = talkative(app, org, &fake, "openai", &[refund]).await;
    post_message(app, org, &session_id, "Refund ORD-9").await;
    wait_until("the refund call", || !store.requests().is_empty()).await;
    (session_id, store, fake)
}

#[tokio::test]
async fn a_tool_that_disables_interruptions_lets_its_turn_finish() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (session_id, _store, fake) = refund_under_way(
        &app,
        &org,
        Duration::from_millis(800),
        "Your refund is issued.",
        "You're welcome.",
    )
    .await;
    let second = say(&app, &org, &session_id, "thanks").await;
    assert_eq!(second["reply"]["content"], "You're welcome.");
    let messages = conversation(&app, &org, &session_id).await;
    let persona: Vec<(&str, bool)> = messages
        .iter()
        .filter(|m| m["role"] == "persona")
        .map(|m| (m["content"].as_str().unwrap(), m["interrupted"] == true))
        .collect();
    assert_eq!(
        persona,
        [
            ("", false),
            ("Your refund is issued.", false),
            ("You're welcome.", false)
        ]
    );
    // The refund's result was given right after its call, before the later message.
    let sent = &fake.requests()[1].body["messages"];
    assert_eq!(sent[2]["tool_calls"][0]["id"], "call_r");
    assert_eq!(sent[3]["role"], "tool");
}

#[tokio::test]
async fn client_and_fire_and_forget_tools_give_the_llm_what_the_contract_says() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let crm = Receiver::start(Reply::json(200, json!({"saved": true}))).await;
    let mut log_lead = seed_at("check_order_status", &crm);
    log_lead["name"] = json!("log_lead");
    log_lead["awaitResponse"] = json!(false);
    let tools = [
        log_lead,
        json!({"type": "client", "name": "show_map", "description": "Show a map in the page"}),
        json!({"type": "client", "name": "ask_confirmation", "description": "Ask the user to confirm",
               "awaitResult": true, "resultTimeoutSeconds": 20}),
    ];
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![
        call("call_lead", "log_lead", r#"{"orderId":"L-1"}"#),
        call("call_map", "show_map", "{}"),
        call("call_ask", "ask_confirmation", "{}"),
    ]))
    .then(Answer::openai(vec![Say::Text("Thanks for confirming.")]));
    let (session_id, secret) = talkative(&app, &org, &fake, "openai", &tools).await;
    let accepted = post_message(&app, &org, &session_id, "Yes, go ahead").await;

    // The browser answers the awaited client call with its client secret.
    let calls_path = format!("/v1/sessions/{session_id}/tool-calls");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, calls) = org.get(&app, &calls_path).await;
        if calls["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["toolCallId"] == "call_ask")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the client call never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, _) = app
        .call(
            reqwest::Method::POST,
            &format!("{calls_path}/call_ask/result"),
            Some(&secret),
            Some(&json!({"result": {"confirmed": true}})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    wait_until("the second LLM request", || fake.requests().len() == 2).await;
    let sent = &fake.requests()[1].body["messages"];
    let result =
        |i: usize| -> Value { serde_json::from_str(sent[i]["content"].as_str().unwrap()).unwrap() };
    assert_eq!(result(3), json!({"status": "accepted"}));
    assert_eq!(result(4), json!({"status": "sent"}));
    assert_eq!(result(5), json!({"confirmed": true}));
    // The fire-and-forget call is delivered on its own.
    crm.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(crm.requests()[0].json(), json!({"orderId": "L-1"}));
    let messages = {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let m = conversation(&app, &org, &session_id).await;
            if m.last()
                .is_some_and(|m| m["content"] == "Thanks for confirming.")
            {
                break m;
            }
            assert!(std::time::Instant::now() < deadline, "{m:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    assert_eq!(messages[0]["turnId"], accepted["turnId"]);
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

#[tokio::test]
async fn messages_piling_up_behind_a_turn_hold_no_connections() {
    // Forty messages at once: more than a session's burst allows by default.
    let app = TestApp::spawn_with(crate::harness::RawSettings {
        session_message_burst: 100,
        ..crate::harness::raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let (session_id, _store, fake) = refund_under_way(
        &app,
        &org,
        Duration::from_secs(3),
        "Refund issued.",
        "Answering your last message.",
    )
    .await;
    // More waiting messages than the pool has connections (32).
    for i in 0..40 {
        post_message(&app, &org, &session_id, &format!("hello {i}")).await;
    }
    // The API still answers while they wait.
    let started = std::time::Instant::now();
    let (status, _) = org.get(&app, "/v1/llms").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Only the newest message gets a turn of its own; the LLM is asked three times in all.
    wait_until("the last answer", || fake.requests().len() == 3).await;
    let last = &fake.requests()[2].body["messages"];
    let users: Vec<&Value> = last
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .collect();
    assert_eq!(users.len(), 41);
    assert_eq!(users[40]["content"], "hello 39");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.requests().len(), 3);
}

/// Turns running at once on more sessions than the main pool has connections all answer. A
/// running turn holds a connection for its lock; when those came from the main pool, 64 turns at
/// once on the default pool of 32 stalled the instance until the pool's acquire timeout (bench
/// scenario 6 at 64 connections, stop 19: 13 turns/s, half failed). At this small scale the old
/// code got through too, only slower (6.5 s against 3.5 s here), so this checks that turns
/// beyond the pool answer; the stall itself is measured in the benchmark, not timed here.
#[tokio::test]
async fn turns_of_many_sessions_run_at_once_whatever_the_pool_size() {
    // One connection in the main pool: a turn holds none while it runs (its session's turn is a
    // lease), so twelve turns of ~1 s each overlap. A turn holding a connection for an advisory
    // lock ran them one after another, in 12 s (and the event hub's LISTEN, taking the main
    // pool's connection, left none for the API).
    let app = TestApp::spawn_with(crate::harness::RawSettings {
        database_pool_size: 1,
        ..crate::harness::raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    for _ in 0..12 {
        fake.then(
            Answer::openai(vec![Say::Text("Here to help.")]).paced(Duration::from_millis(200)),
        );
    }
    let (first, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    let (status, personas) = org.get(&app, "/v1/personas").await;
    assert_eq!(status, StatusCode::OK, "{personas}");
    let persona = personas["data"][0]["id"].clone();
    let mut sessions = vec![first];
    for _ in 0..11 {
        sessions.push(session(&app, &org, json!({"personaId": persona})).await.0);
    }
    let started = std::time::Instant::now();
    let turns = sessions.iter().map(|id| say(&app, &org, id, "hello"));
    for turn in futures::future::join_all(turns).await {
        assert_eq!(turn["reply"]["content"], "Here to help.", "{turn}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the turns did not all run at once: {:?}",
        started.elapsed()
    );
    assert_eq!(fake.requests().len(), 12);
}

#[tokio::test]
async fn a_sessions_turn_has_one_holder_until_given_back_or_its_lease_ends() {
    use hookline_core::repo::locks::{release_turns, renew_turn, take_turn};
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    let id = uuid::Uuid::parse_str(&session_id).unwrap();
    let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let lease = Duration::from_secs(2);
    let db = &app.pool;
    let taken = |holder| async move {
        take_turn(db, id, holder, 0, lease, false)
            .await
            .unwrap()
            .locked
    };
    let give_back = |holder| async move { release_turns(db, &[id], &[holder]).await.unwrap() };

    assert!(taken(a).await);
    assert!(!taken(b).await, "two holders at once");
    // Renewed (for a minute), the lease outlives its first term.
    assert!(renew_turn(db, id, a, Duration::from_secs(60))
        .await
        .unwrap());
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert!(!taken(b).await, "a renewed lease was taken over");
    // Given back, it is taken at once, and a renewal arriving late does not bring it back.
    give_back(a).await;
    assert!(!renew_turn(db, id, a, lease).await.unwrap());
    assert!(taken(b).await);
    // Not renewed (its holder died), it is taken once it ends, and its holder cannot renew it.
    assert!(!taken(a).await);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert!(taken(a).await);
    assert!(!renew_turn(db, id, b, lease).await.unwrap());
    // Giving back a turn one no longer holds leaves the holder's lease alone.
    give_back(b).await;
    assert!(!taken(b).await);
    // A message newer than the one a turn answers: the turn is not taken, and says why.
    give_back(a).await;
    let overtaken = take_turn(db, id, b, -1, lease, false).await.unwrap();
    assert_eq!((overtaken.locked, overtaken.latest_user_seq), (false, 0));
}

#[tokio::test]
async fn a_turn_left_by_a_dead_instance_runs_once_its_lease_ends() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![Say::Text("Back again.")]));
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    // An instance took the session's turn and died: its lease has two seconds left.
    sqlx::query(
        "INSERT INTO session_turns (session_id, holder, lease_until)
         VALUES ($1, $2, now() + interval '2 seconds')",
    )
    .bind(uuid::Uuid::parse_str(&session_id).unwrap())
    .bind(uuid::Uuid::now_v7())
    .execute(&app.pool)
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let turn = say(&app, &org, &session_id, "Anyone there?").await;
    assert_eq!(turn["reply"]["content"], "Back again.", "{turn}");
    assert!(
        started.elapsed() > Duration::from_millis(1500),
        "ran beside the dead instance's turn after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_stopping_instance_gives_back_its_running_turns() {
    let db = crate::harness::fresh_database_url();
    let mut server = crate::harness::Server::start(&db, &[]).await;
    let app = TestApp::attach(server.addr, &db).await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![Say::Text("Let me think")]).hanging())
        .then(Answer::openai(vec![Say::Text("Here now.")]));
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    post_message(&app, &org, &session_id, "Hello?").await;
    wait_until("the LLM is asked", || fake.requests().len() == 1).await;
    // Stopped mid-turn (SIGTERM): the turn's lease is given back, so another instance answers
    // the next message at once rather than when the lease runs out (30 s).
    assert!(server.terminate().await.success());
    let other = TestApp::spawn_with(crate::harness::RawSettings {
        database_url: db.clone(),
        ..crate::harness::raw_settings()
    })
    .await;
    let started = std::time::Instant::now();
    let turn = say(&other, &org, &session_id, "Anyone there?").await;
    assert_eq!(turn["reply"]["content"], "Here now.", "{turn}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited {:?} for the stopped instance's lease",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_turn_whose_lease_was_taken_over_stops() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![Say::Text("Let me think")]).hanging());
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[]).await;
    let id = uuid::Uuid::parse_str(&session_id).unwrap();
    // The LLM's own timeout (5 s) would end the turn as the first renewal (at 5 s) comes.
    let (_, llms) = org.get(&app, "/v1/llms").await;
    let llm_id = llms["data"][0]["id"].as_str().unwrap();
    let (status, _) = org
        .patch(
            &app,
            &format!("/v1/llms/{llm_id}"),
            &json!({"timeoutSeconds": 30}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // While the LLM hangs, another holder takes the session's turn (as if this turn's lease had
    // run out while its process stalled): the turn's next renewal finds it gone and stops.
    let taken_over = async {
        wait_until("the LLM is asked", || fake.requests().len() == 1).await;
        sqlx::query(
            "UPDATE session_turns SET holder = $1, lease_until = now() + interval '1 minute'
             WHERE session_id = $2",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    };
    let (turn, ()) = tokio::join!(say(&app, &org, &session_id, "Hello?"), taken_over);
    assert_eq!(turn["reply"]["content"], "Let me think", "{turn}");
    assert_eq!(turn["reply"]["interrupted"], true, "{turn}");
}
