//! MCP servers as tool sources: a persona whose tool is an MCP server made with the official
//! SDK's MCPServer (remote_server.py) talks through the stand-in LLM; the server's tools are
//! offered as `<name>__<tool>`, called through the engine, and a server that is down is an event
//! and a tool error, never a failed turn.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::sdk::sdk_python;
use crate::conversations::{all_events, say};
use crate::fake_llm::{call, Answer, FakeLlm, Say};
use crate::harness::{free_port, session, Org, TestApp};

/// The SDK's MCP server on a port of its own, killed when dropped.
pub(super) struct RemoteServer {
    child: std::process::Child,
    port: u16,
}

impl RemoteServer {
    pub(super) async fn start() -> Self {
        let port = free_port();
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/mcp/remote_server.py");
        let child = std::process::Command::new(sdk_python())
            .arg(script)
            .arg(port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the MCP server never listened"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, port }
    }

    pub(super) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }
}

impl Drop for RemoteServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An MCP tool source named `orders` at `url`, allowing two of the server's three tools.
fn source(url: &str) -> Value {
    json!({"type": "server", "subtype": "mcp", "name": "orders",
           "description": "The order service's MCP server", "url": url,
           "headers": {"Authorization": "Bearer mcp-secret-123456"},
           "allowedTools": ["lookup_order", "cancel_order"]})
}

/// A persona with the source and an LLM at `fake`; a started session of it.
async fn persona_session(app: &TestApp, org: &Org, fake: &FakeLlm, tool: &Value) -> String {
    let (status, llm) = org
        .post(
            app,
            "/v1/llms",
            &json!({"name": "fake", "provider": "openai", "model": "test-model",
                    "baseUrl": fake.base_url(true), "timeoutSeconds": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{llm}");
    let (status, created) = org.post(app, "/v1/tools", tool).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["headers"]["Authorization"], "••••3456");
    let (status, persona) = org
        .post(
            app,
            "/v1/personas",
            &json!({"name": "Support", "systemPrompt": "Help with orders", "llmId": llm["id"],
                    "toolIds": [created["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{persona}");
    session(app, org, json!({"personaId": persona["id"]}))
        .await
        .0
}

/// The names of the tools the LLM was offered in its request.
fn offered(request: &Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The content of the tool messages the LLM was sent.
fn tool_messages(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_personas_mcp_server_offers_its_allowed_tools_and_answers_their_calls() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let remote = RemoteServer::start().await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![
        call(
            "call_1",
            "orders__lookup_order",
            r#"{"order_id": "ORD-12345"}"#,
        ),
        call(
            "call_2",
            "orders__cancel_order",
            r#"{"order_id": "ORD-12345"}"#,
        ),
    ]))
    .then(Answer::openai(vec![Say::Text(
        "It has shipped (1Z999AA10123456784) and can no longer be cancelled.",
    )]));
    let session_id = persona_session(&app, &org, &fake, &source(&remote.url())).await;

    let turn = say(&app, &org, &session_id, "Where is ORD-12345? Cancel it.").await;
    assert!(turn.get("error").is_none(), "{turn}");
    assert_eq!(turn["toolCalls"][0]["toolName"], "orders__lookup_order");
    assert_eq!(turn["toolCalls"][0]["status"], "completed", "{turn}");
    assert_eq!(turn["toolCalls"][1]["status"], "failed", "{turn}");

    let sent = fake.requests();
    // Offered as <name>__<tool>, with the server's own schema; refund_order is not allowed.
    assert_eq!(
        offered(&sent[0].body),
        ["orders__lookup_order", "orders__cancel_order"]
    );
    let schema = &sent[0].body["tools"][0]["function"]["parameters"];
    assert_eq!(schema["required"], json!(["order_id"]), "{schema}");
    // The results went back to the LLM: the server's text (it saw the sealed header, opened),
    // and the failure as an error the LLM can explain.
    let results = tool_messages(&sent[1].body);
    assert!(results[0].contains("1Z999AA10123456784"), "{results:?}");
    assert!(
        results[0].contains("Bearer mcp-secret-123456"),
        "{results:?}"
    );
    let failed: Value = serde_json::from_str(&results[1]).unwrap();
    assert_eq!(failed["error"]["kind"], "tool_error", "{failed}");
    assert!(
        failed["result"]
            .as_str()
            .unwrap()
            .contains("left the warehouse"),
        "{failed}"
    );

    // The calls are in the call log and on the event stream under the names the LLM used.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, calls) = org
        .get(&app, &format!("/v1/sessions/{session_id}/tool-calls"))
        .await;
    let logged: Vec<&str> = calls["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["toolName"].as_str().unwrap())
        .collect();
    assert!(logged.contains(&"orders__lookup_order"), "{calls}");
    let seen = all_events(&app, &org, &session_id).await;
    let started = seen
        .iter()
        .find(|e| e.event == "toolCallStarted")
        .expect("a toolCallStarted");
    assert_eq!(started.data["toolSubtype"], "mcp");
    assert!(started.data["toolName"]
        .as_str()
        .unwrap()
        .starts_with("orders__"));

    // A runtime of one's own is not offered the source as if it were one tool.
    let (_, exported) = org
        .get(&app, &format!("/v1/sessions/{session_id}/tools"))
        .await;
    assert_eq!(exported["tools"], json!([]), "{exported}");

    // Calling the source itself, or a tool it does not allow, is refused before anything runs.
    for name in ["orders", "orders__refund_order"] {
        let (status, problem) = org
            .post(
                &app,
                &format!("/v1/sessions/{session_id}/tool-calls"),
                &json!({"toolName": name, "arguments": {"order_id": "ORD-1"}}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {problem}"
        );
    }
}

#[tokio::test]
async fn a_server_that_is_down_is_an_event_and_a_tool_error_never_a_failed_turn() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let fake = FakeLlm::start().await;
    // Nothing listens there: the listing fails, and so does a call the LLM makes anyway.
    let url = format!("http://127.0.0.1:{}/mcp", free_port());
    fake.then(Answer::openai(vec![call(
        "call_1",
        "orders__lookup_order",
        r#"{"order_id": "ORD-1"}"#,
    )]))
    .then(Answer::openai(vec![Say::Text(
        "The order service is unreachable right now.",
    )]));
    let session_id = persona_session(&app, &org, &fake, &source(&url)).await;

    let turn = say(&app, &org, &session_id, "Where is ORD-1?").await;
    assert!(turn.get("error").is_none(), "{turn}");
    assert_eq!(
        turn["reply"]["content"],
        "The order service is unreachable right now."
    );
    assert_eq!(turn["toolCalls"][0]["status"], "failed");
    let sent = fake.requests();
    assert!(offered(&sent[0].body).is_empty(), "{:?}", sent[0].body);
    let failed: Value = serde_json::from_str(&tool_messages(&sent[1].body)[0]).unwrap();
    assert_eq!(failed["error"]["kind"], "connection", "{failed}");

    // The listing's failure is on the session's stream, naming the source.
    // (Events of the call log are readable within a second.)
    tokio::time::sleep(Duration::from_secs(1)).await;
    let seen = all_events(&app, &org, &session_id).await;
    let listing = seen
        .iter()
        .find(|e| e.event == "toolCallFailed" && e.data["toolName"] == "orders")
        .unwrap_or_else(|| panic!("no listing failure in {seen:?}"));
    assert!(
        listing.data["errorMessage"]
            .as_str()
            .unwrap()
            .contains("could not be listed"),
        "{:?}",
        listing.data
    );
}

#[tokio::test]
async fn testing_an_mcp_tool_source_lists_its_tools() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let remote = RemoteServer::start().await;
    let (status, created) = org.post(&app, "/v1/tools", &source(&remote.url())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["subtype"], "mcp");
    assert_eq!(
        created["allowedTools"],
        json!(["lookup_order", "cancel_order"])
    );
    let id = created["id"].as_str().unwrap();
    let (status, test) = org
        .post(&app, &format!("/v1/tools/{id}/test"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{test}");
    assert!(test.get("error").is_none(), "{test}");
    let tools = test["response"]["body"]["tools"].as_array().unwrap();
    let listed: Vec<(&str, bool)> = tools
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["allowed"] == true))
        .collect();
    assert_eq!(
        listed,
        [
            ("lookup_order", true),
            ("refund_order", false),
            ("cancel_order", true)
        ]
    );
    assert_eq!(test["request"]["headers"]["Authorization"], "••••3456");

    // What a source may not hold is refused, every problem named.
    let mut bad = source(&remote.url());
    bad["method"] = json!("GET");
    bad["allowedTools"] = json!(["ok", "not ok", "ok"]);
    bad["url"] = json!(format!("{}/{{tenant}}", remote.url()));
    let (status, problem) = org.post(&app, "/v1/tools", &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields = crate::harness::error_fields(&problem);
    for field in ["url", "allowedTools[1]", "allowedTools[2]", "method"] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
}

#[tokio::test]
async fn a_source_on_a_refused_destination_is_never_reached() {
    // Production mode with no network opened: a name that resolves to loopback is refused after
    // resolution, for the listing and for a call alike, and nothing reaches the server.
    let mut raw = crate::harness::raw_settings();
    raw.allowed_networks = String::new();
    let app = TestApp::spawn_with(raw).await;
    let org = app.org("acme").await;
    let remote = RemoteServer::start().await;
    // (No LLM: it would be refused the same way; the engine's route runs the call.)
    let url = format!("https://localhost:{}/mcp", remote.port);
    let (status, created) = org.post(&app, "/v1/tools", &source(&url)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (session_id, _) = session(&app, &org, json!({"toolIds": [created["id"]]})).await;
    let (status, answer) = org
        .post(
            &app,
            &format!("/v1/sessions/{session_id}/tool-calls"),
            &json!({"toolName": "orders__lookup_order", "arguments": {"order_id": "ORD-1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "failed");
    assert_eq!(answer["error"]["kind"], "blocked_destination", "{answer}");
    let id = created["id"].as_str().unwrap();
    let (_, test) = org
        .post(&app, &format!("/v1/tools/{id}/test"), &json!({}))
        .await;
    assert_eq!(test["error"]["kind"], "blocked_destination", "{test}");
}

#[tokio::test]
async fn a_server_is_listed_and_its_tools_called_before_it_is_saved() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let remote = RemoteServer::start().await;
    let target = json!({"url": remote.url(), "headers": {"Authorization": "Bearer typed-123456"}});

    let (status, listed) = org.post(&app, "/v1/tools/mcp/list", &target).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert!(listed.get("error").is_none(), "{listed}");
    let names: Vec<&str> = listed["response"]["body"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lookup_order", "refund_order", "cancel_order"]);
    assert_eq!(listed["request"]["headers"]["Authorization"], "••••3456");

    // One tool called, outside any session: the server's result, with the header sent.
    let mut call = target.clone();
    call["tool"] = json!("lookup_order");
    call["arguments"] = json!({"order_id": "ORD-7"});
    let (status, called) = org.post(&app, "/v1/tools/mcp/call", &call).await;
    assert_eq!(status, StatusCode::OK, "{called}");
    assert!(called.get("error").is_none(), "{called}");
    let text = called["response"]["body"]["content"][0]["text"]
        .as_str()
        .unwrap();
    assert!(text.contains("Order ORD-7 has shipped"), "{text}");
    assert!(text.contains("Bearer typed-123456"), "{text}");
    // A tool that fails says so as a tool error, with the server's words.
    call["tool"] = json!("cancel_order");
    let (_, failed) = org.post(&app, "/v1/tools/mcp/call", &call).await;
    assert_eq!(failed["error"]["kind"], "tool_error", "{failed}");
    let (status, sessions) = org.get(&app, "/v1/sessions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sessions["meta"]["total"], 0, "no session is involved");

    // Editing a saved source: its masked header stands for the stored value, to its origin only.
    let (status, created) = org.post(&app, "/v1/tools", &source(&remote.url())).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let mut again = json!({"url": remote.url(), "headers": {"Authorization": "••••3456"},
                           "toolId": created["id"], "tool": "lookup_order",
                           "arguments": {"order_id": "ORD-8"}});
    let (status, called) = org.post(&app, "/v1/tools/mcp/call", &again).await;
    assert_eq!(status, StatusCode::OK, "{called}");
    let text = called["response"]["body"]["content"][0]["text"]
        .as_str()
        .unwrap();
    assert!(text.contains("Bearer mcp-secret-123456"), "{text}");
    again["url"] = json!(format!("http://localhost:{}/mcp", remote.port));
    let (status, problem) = org.post(&app, "/v1/tools/mcp/call", &again).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        crate::harness::error_fields(&problem),
        ["headers.Authorization"]
    );

    // What a source may not be is refused as it would be saved, every problem named.
    let (status, problem) = org
        .post(
            &app,
            "/v1/tools/mcp/list",
            &json!({"url": "ftp://example.com", "headers": {"Host": "x"}, "tool": "lookup_order"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields = crate::harness::error_fields(&problem);
    assert!(fields.contains(&"tool".to_owned()), "{fields:?}");
    let (status, problem) = org
        .post(
            &app,
            "/v1/tools/mcp/list",
            &json!({"url": "ftp://example.com", "headers": {"Host": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields = crate::harness::error_fields(&problem);
    for field in ["url", "headers.Host"] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    let (status, problem) = org
        .post(&app, "/v1/tools/mcp/call", &json!({"url": remote.url()}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(crate::harness::error_fields(&problem), ["tool"]);
}
