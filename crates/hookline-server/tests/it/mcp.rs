//! Hookline as an MCP server, spoken to over HTTP as the Streamable HTTP transport says (and, in
//! `mcp/sdk.rs`, by the official MCP Python SDK).

mod instances;
mod lab;
mod sdk;
mod sources;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::engine::{signing_secret, verify};
use crate::harness::{raw_settings, Org, Receiver, Reply, TestApp};

/// A persona with a webhook tool (to `receiver`), a client tool and a system tool; returns its id.
pub(crate) async fn persona(app: &TestApp, org: &Org, receiver: &Receiver) -> String {
    let tools = [
        json!({"type": "server", "subtype": "webhook", "name": "check_order_status",
               "description": "Look up an order", "url": receiver.url("/orders/status"),
               "method": "POST", "headers": {"Authorization": "Bearer sk_live_abcdefgh1234"},
               "parameters": {"type": "object", "properties": {"orderId": {"type": "string"}},
                              "required": ["orderId"]}}),
        json!({"type": "client", "name": "show_product", "description": "Show a product"}),
        json!({"type": "system", "name": "end_call"}),
    ];
    let mut ids = Vec::new();
    for tool in tools {
        let (status, created) = org.post(app, "/v1/tools", &tool).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        ids.push(created["id"].clone());
    }
    let (status, persona) = org
        .post(
            app,
            "/v1/personas",
            &json!({"name": "Support", "systemPrompt": "Help", "toolIds": ids}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{persona}");
    persona["id"].as_str().unwrap().to_owned()
}

/// An MCP client speaking raw HTTP: it keeps the session id `initialize` answered with.
struct Mcp<'a> {
    app: &'a TestApp,
    key: String,
    persona_id: String,
    session: Option<String>,
}

impl<'a> Mcp<'a> {
    fn new(app: &'a TestApp, org: &Org, persona_id: &str) -> Self {
        Self {
            app,
            key: org.key.clone(),
            persona_id: persona_id.to_owned(),
            session: None,
        }
    }

    fn url(&self) -> String {
        self.app
            .url(&format!("/v1/mcp/personas/{}", self.persona_id))
    }

    /// POSTs one message with the session's headers and `extra` ones.
    async fn post_with(
        &self,
        body: &Value,
        extra: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        let mut request = self
            .app
            .client
            .post(self.url())
            .bearer_auth(&self.key)
            .header("accept", "application/json, text/event-stream")
            .json(body);
        if let Some(id) = &self.session {
            request = request
                .header("mcp-session-id", id)
                .header("mcp-protocol-version", "2025-06-18");
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, body)
    }

    async fn post(&self, body: &Value) -> (StatusCode, HeaderMap, Value) {
        self.post_with(body, &[]).await
    }

    /// A request that must be answered 200: its JSON-RPC answer.
    async fn request(&self, id: i64, method: &str, params: Value) -> Value {
        let (status, headers, body) = self
            .post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        assert_eq!(status, StatusCode::OK, "{method}: {body}");
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        assert_eq!(body["jsonrpc"], "2.0");
        assert_eq!(body["id"], id, "{body}");
        body
    }

    /// `initialize` and `notifications/initialized`; returns the initialize result.
    async fn initialize(&mut self) -> Value {
        let (status, headers, body) = self
            .post(
                &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"}}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.session = Some(headers["mcp-session-id"].to_str().unwrap().to_owned());
        let (status, _, acknowledged) = self
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(acknowledged, json!(""), "a 202 has no body");
        body["result"].clone()
    }

    /// Opens the session's GET stream (the server's own messages); answered 200 with an event
    /// stream once the server listens for them.
    async fn open_stream(&self) -> reqwest::Response {
        let response = self
            .app
            .client
            .get(self.url())
            .bearer_auth(&self.key)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", self.session.as_deref().unwrap())
            .header("mcp-protocol-version", "2025-06-18")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        response
    }

    async fn call_tool(&self, id: i64, name: &str, arguments: Value) -> Value {
        self.request(
            id,
            "tools/call",
            json!({"name": name, "arguments": arguments}),
        )
        .await
    }
}

/// The text a tool result carries, parsed as JSON.
fn result_json(reply: &Value) -> Value {
    let text = reply["result"]["content"][0]["text"].as_str().unwrap();
    serde_json::from_str(text).unwrap()
}

#[tokio::test]
async fn an_mcp_client_lists_and_calls_the_personas_server_tools_in_a_session_of_its_own() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"status": "shipped"}))).await;
    let persona_id = persona(&app, &org, &receiver).await;
    let mut mcp = Mcp::new(&app, &org, &persona_id);

    let init = mcp.initialize().await;
    assert_eq!(init["protocolVersion"], "2025-06-18");
    assert_eq!(init["capabilities"]["tools"], json!({"listChanged": true}));
    assert_eq!(init["serverInfo"]["name"], "hookline");
    assert_eq!(init["serverInfo"]["title"], "Support");

    // Only the server tool: an MCP client has no browser to run a client tool, no call to end.
    let listed = mcp.request(1, "tools/list", json!({})).await;
    assert_eq!(
        listed["result"]["tools"],
        json!([{"name": "check_order_status", "description": "Look up an order",
                "inputSchema": {"type": "object", "properties": {"orderId": {"type": "string"}},
                                "required": ["orderId"]}}])
    );

    let reply = mcp
        .call_tool(2, "check_order_status", json!({"orderId": "ORD-12345"}))
        .await;
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    assert_eq!(result_json(&reply), json!({"status": "shipped"}));

    // The endpoint got the call as /tool-calls sends it: arguments as the body, stored header,
    // signed with the organization's secret.
    let hits = receiver
        .wait_for(1, std::time::Duration::from_secs(5))
        .await;
    assert_eq!(hits[0].json(), json!({"orderId": "ORD-12345"}));
    assert_eq!(
        hits[0].header("authorization"),
        "Bearer sk_live_abcdefgh1234"
    );
    assert!(verify(&signing_secret(&app, &org).await, &hits[0]));

    // The MCP session is a Hookline session of the persona, with the call in its call log.
    let session_id = mcp.session.clone().unwrap();
    let (status, session) = org.get(&app, &format!("/v1/sessions/{session_id}")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["personaId"], persona_id.as_str());
    assert_eq!(session["status"], "active");
    // The call log is readable within a second of the answer.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let (_, calls) = org
        .get(&app, &format!("/v1/sessions/{session_id}/tool-calls"))
        .await;
    assert_eq!(calls["data"][0]["toolName"], "check_order_status");
    assert_eq!(calls["data"][0]["status"], "completed");
    assert_eq!(
        calls["data"][0]["arguments"],
        json!({"orderId": "ORD-12345"})
    );
}

#[tokio::test]
async fn a_failed_call_is_a_tool_error_the_model_reads_and_a_bad_request_a_protocol_error() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver =
        Receiver::start(Reply::json(503, json!({"message": "down for maintenance"}))).await;
    let persona_id = persona(&app, &org, &receiver).await;
    let mut mcp = Mcp::new(&app, &org, &persona_id);
    mcp.initialize().await;

    let reply = mcp
        .call_tool(1, "check_order_status", json!({"orderId": "ORD-1"}))
        .await;
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    let failed = result_json(&reply);
    assert_eq!(failed["error"]["kind"], "http_status", "{failed}");
    assert_eq!(failed["result"]["body"]["message"], "down for maintenance");

    // Arguments that break the schema: a tool error listing what to correct, nothing sent.
    let reply = mcp
        .call_tool(2, "check_order_status", json!({"orderId": 7}))
        .await;
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    let failed = result_json(&reply);
    assert_eq!(failed["error"]["kind"], "invalid_arguments", "{failed}");
    assert_eq!(failed["error"]["errors"][0]["field"], "arguments.orderId");
    assert_eq!(receiver.requests().len(), 1);

    // A tool the persona does not offer over MCP, a method it does not have, bad params.
    for (id, method, params, code) in [
        (3, "tools/call", json!({"name": "show_product"}), -32602),
        (4, "tools/call", json!({"name": "no_such_tool"}), -32602),
        (
            5,
            "tools/call",
            json!({"name": "check_order_status", "arguments": [1]}),
            -32602,
        ),
        (6, "tools/call", json!({}), -32602),
        (7, "resources/list", json!({}), -32601),
        (8, "initialize", json!({}), -32600),
    ] {
        let reply = mcp.request(id, method, params.clone()).await;
        assert_eq!(reply["error"]["code"], code, "{method} {params}: {reply}");
        assert!(reply.get("result").is_none());
    }
    let reply = mcp.request(9, "ping", json!({})).await;
    assert_eq!(reply["result"], json!({}));

    // What is not one JSON-RPC message of a session is refused at the HTTP level.
    let (status, _, problem) = mcp
        .post(&json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        problem["detail"].as_str().unwrap().contains("batch"),
        "{problem}"
    );
    let (status, _, problem) = mcp
        .post(&json!({"jsonrpc": "1.0", "id": 1, "method": "ping"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let no_session = Mcp::new(&app, &org, &persona_id);
    let (status, _, problem) = no_session
        .post(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("Mcp-Session-Id"));
    let (status, _, problem) = no_session
        .post_with(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            &[
                ("mcp-session-id", mcp.session.as_deref().unwrap()),
                ("mcp-protocol-version", "1999-01-01"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("2025-06-18"));
}

#[tokio::test]
async fn delete_ends_the_session_after_which_its_id_is_not_found() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    let persona_id = persona(&app, &org, &receiver).await;
    let mut mcp = Mcp::new(&app, &org, &persona_id);
    mcp.initialize().await;
    let session_id = mcp.session.clone().unwrap();

    // The stream of the server's own messages is a session's: without its id, 400.
    let response = app
        .client
        .get(mcp.url())
        .bearer_auth(&org.key)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let mut stream = mcp.open_stream().await;

    let ended = app
        .client
        .delete(mcp.url())
        .bearer_auth(&org.key)
        .header("mcp-session-id", &session_id)
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let (_, session) = org.get(&app, &format!("/v1/sessions/{session_id}")).await;
    assert_eq!(session["status"], "ended");
    // The session's stream closes with it.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while stream.chunk().await.ok().flatten().is_some() {}
    })
    .await;
    assert!(closed.is_ok(), "the stream outlived its session");

    let (status, _, problem) = mcp
        .post(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("initialize again"));
    // A new initialize opens a new session.
    mcp.session = None;
    mcp.initialize().await;
    assert_ne!(mcp.session.as_deref(), Some(session_id.as_str()));
}

#[tokio::test]
async fn the_origin_the_key_the_persona_and_the_session_are_all_checked() {
    let mut raw = raw_settings();
    raw.cors_origins = "https://app.example.com".into();
    let app = TestApp::spawn_with(raw).await;
    let acme = app.org("acme").await;
    let globex = app.org("globex").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    let persona_id = persona(&app, &acme, &receiver).await;
    let mut mcp = Mcp::new(&app, &acme, &persona_id);
    mcp.initialize().await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});

    // A page of another site (DNS rebinding) is refused before anything else; a listed one not.
    let (status, _, problem) = mcp
        .post_with(&list, &[("origin", "https://evil.example")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    assert_eq!(problem["status"], 403);
    let (status, _, _) = mcp
        .post_with(&list, &[("origin", "https://app.example.com")])
        .await;
    assert_eq!(status, StatusCode::OK);

    // No key, and another organization's key: its persona and its sessions are not found.
    let anonymous = app.client.post(mcp.url()).json(&list).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let mut foreign = Mcp::new(&app, &globex, &persona_id);
    let (status, _, _) = foreign
        .post(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    foreign.session = mcp.session.clone();
    let (status, _, _) = foreign.post(&list).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The session belongs to its persona: another persona's path does not reach it.
    let other = persona_named(&app, &acme, "Sales").await;
    let mut elsewhere = Mcp::new(&app, &acme, &other);
    elsewhere.session = mcp.session.clone();
    let (status, _, _) = elsewhere.post(&list).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = Mcp::new(&app, &acme, "not-a-uuid").post(&list).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn persona_named(app: &TestApp, org: &Org, name: &str) -> String {
    let (status, persona) = org
        .post(
            app,
            "/v1/personas",
            &json!({"name": name, "systemPrompt": "Sell"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{persona}");
    persona["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_knowledge_tool_is_offered_with_its_query_and_searched_over_mcp() {
    use crate::knowledge_tool::{folder_with, help_center, GUIDE};
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let folder = folder_with(&app, &org, "Help", "guide.md", GUIDE).await;
    let (status, tool) = org.post(&app, "/v1/tools", &help_center(&[&folder])).await;
    assert_eq!(status, StatusCode::CREATED, "{tool}");
    let (status, persona) = org
        .post(
            &app,
            "/v1/personas",
            &json!({"name": "Support", "systemPrompt": "Help", "toolIds": [tool["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{persona}");
    let mut mcp = Mcp::new(&app, &org, persona["id"].as_str().unwrap());
    mcp.initialize().await;

    let listed = mcp.request(1, "tools/list", json!({})).await;
    let offered = &listed["result"]["tools"][0];
    assert_eq!(offered["name"], "help_center");
    assert_eq!(offered["inputSchema"]["required"], json!(["query"]));
    assert_eq!(
        offered["inputSchema"]["properties"]["query"]["type"],
        "string"
    );

    let reply = mcp
        .call_tool(
            2,
            "help_center",
            json!({"query": "how long do refunds take"}),
        )
        .await;
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    let found = result_json(&reply);
    assert_eq!(found["results"][0]["filename"], "guide.md");
    assert_eq!(
        found["results"][0]["source"]["heading"],
        "Returns > Refunds"
    );
    assert!(
        found["results"][0]["content"]
            .as_str()
            .unwrap()
            .contains("14 days"),
        "{found}"
    );
}

/// The JSON-RPC messages of a GET stream read within `within` (keep-alive comments skipped).
async fn stream_messages(
    stream: &mut reqwest::Response,
    within: std::time::Duration,
) -> Vec<Value> {
    let mut text = String::new();
    let _ = tokio::time::timeout(within, async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains("\n\n") && text.contains("data:") {
                break;
            }
        }
    })
    .await;
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str(d.trim()).unwrap())
        .collect()
}

#[tokio::test]
async fn a_client_holding_the_stream_hears_that_the_personas_tools_changed_and_lists_them_anew() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"status": "shipped"}))).await;
    let persona_id = persona(&app, &org, &receiver).await;
    let (_, persona) = org.get(&app, &format!("/v1/personas/{persona_id}")).await;
    let webhook_id = persona["toolIds"][0].as_str().unwrap().to_owned();
    let mut mcp = Mcp::new(&app, &org, &persona_id);
    mcp.initialize().await;
    let mut stream = mcp.open_stream().await;
    let quiet = std::time::Duration::from_millis(500);
    let long = std::time::Duration::from_secs(10);

    // Another persona's change says nothing to this one's clients.
    let other = persona_named(&app, &org, "Sales").await;
    let (status, _) = org
        .post(
            &app,
            &format!("/v1/personas/{other}/tools/{webhook_id}"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stream_messages(&mut stream, quiet).await,
        Vec::<Value>::new()
    );

    // A tool of the persona updated: the notification, and the next list has the new words.
    let (status, updated) = org
        .patch(
            &app,
            &format!("/v1/tools/{webhook_id}"),
            &json!({"description": "Look up an order by its number"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let heard = stream_messages(&mut stream, long).await;
    assert_eq!(
        heard,
        [json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})]
    );
    let listed = mcp.request(1, "tools/list", json!({})).await;
    assert_eq!(
        listed["result"]["tools"][0]["description"],
        "Look up an order by its number"
    );

    // A new webhook attached: heard, listed, and callable in the same MCP session.
    let (status, tool) = org
        .post(
            &app,
            "/v1/tools",
            &json!({"type": "server", "subtype": "webhook", "name": "cancel_order",
                    "description": "Cancel an order", "url": receiver.url("/orders/cancel")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{tool}");
    let tool_id = tool["id"].as_str().unwrap();
    let (status, _) = org
        .post(
            &app,
            &format!("/v1/personas/{persona_id}/tools/{tool_id}"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stream_messages(&mut stream, long).await.len(), 1);
    let listed = mcp.request(2, "tools/list", json!({})).await;
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["check_order_status", "cancel_order"]);
    let reply = mcp.call_tool(3, "cancel_order", json!({})).await;
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    assert_eq!(receiver.wait_for(1, long).await[0].path, "/orders/cancel");

    // The persona's list patched without the first tool: heard, and gone from the session.
    let (status, _) = org
        .patch(
            &app,
            &format!("/v1/personas/{persona_id}"),
            &json!({"toolIds": [tool_id]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stream_messages(&mut stream, long).await.len(), 1);
    let listed = mcp.request(4, "tools/list", json!({})).await;
    assert_eq!(listed["result"]["tools"].as_array().unwrap().len(), 1);
    let reply = mcp
        .call_tool(5, "check_order_status", json!({"orderId": "ORD-1"}))
        .await;
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
}
