//! The conversation runtime end to end: a persona with the seed's tools talks through a scripted
//! fake LLM, its tool calls reach the recording receiver, and what the LLM is sent is checked.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::engine::{create_tool, seed_at};
use crate::fake_llm::{call, Answer, FakeLlm, Say};
use crate::harness::{session, Org, Receiver, Reply, SseEvent, SseStream, TestApp};

pub(crate) const KEY: &str = "sk-conversation-secret-0001";
pub(crate) const PROMPT: &str =
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

pub(crate) fn names(events: &[SseEvent]) -> Vec<&str> {
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

    the_llm_was_sent_the_prompt_the_conversation_and_the_tools(&fake, &tool);

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

    the_events_tell_the_turn_in_order(&app, &org, &session_id).await;
}

/// What the LLM was sent: the system prompt, the conversation, the tools in its format, then the
/// tool's exchange in the second round.
fn the_llm_was_sent_the_prompt_the_conversation_and_the_tools(fake: &FakeLlm, tool: &Value) {
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
}

/// The events, in order, with the SDK's names; the call log has the call under the LLM's id.
async fn the_events_tell_the_turn_in_order(app: &TestApp, org: &Org, session_id: &str) {
    let (_, calls) = org
        .get(app, &format!("/v1/sessions/{session_id}/tool-calls"))
        .await;
    assert_eq!(calls["data"][0]["toolCallId"], "call_abc123");
    let events = all_events(app, org, session_id).await;
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

/// A session ended while a turn's tool call runs: the turn's writer, which records that call's
/// end, finds the session ended without `sessionEnded` and writes it after the call's events
/// (once, numbered without gaps), as the call log does for calls made through `/tool-calls`.
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

pub(crate) async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited in vain for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn conversation(app: &TestApp, org: &Org, session_id: &str) -> Vec<Value> {
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
