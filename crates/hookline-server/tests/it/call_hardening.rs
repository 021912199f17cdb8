//! What a hostile tool definition, an LLM's arguments or a failing endpoint can no longer do:
//! fan-out schemas, path walking, leaking URLs through errors, extra query keys, plain HTTP in
//! production, dangling `$ref`s after the merge of body and query schemas.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::engine::{call, session_with};
use crate::harness::{
    error_fields, raw_settings, RawSettings, Receiver, Reply, SseStream, TestApp,
};

fn webhook(name: &str, url: String, parameters: Value) -> Value {
    json!({"type": "server", "subtype": "webhook", "name": name, "description": "d", "url": url,
        "method": "GET", "parameters": parameters})
}

#[tokio::test]
async fn a_fan_out_schema_is_refused_when_a_tool_is_defined_stored_or_inline() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let fan_out = hookline_schema::expansion::fan_out_schema(30);
    let tool = webhook("fan_out", "https://api.example.com/x".into(), fan_out);

    let (status, body) = org.post(&app, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["parameters"]);

    let (status, body) = org
        .post(
            &app,
            "/v1/auth/session-token",
            &json!({"personaConfig": {"name": "P", "tools": [tool]}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["personaConfig.tools[0].parameters"]);

    // A recursive schema never ends its own expansion: refused too, at once.
    let recursive = json!({"type": "object", "properties": {"next": {"$ref": "#"}}});
    let tool = webhook("recursive", "https://api.example.com/x".into(), recursive);
    let (status, body) = org.post(&app, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["parameters"]);

    // A tool stored before the budget existed: its calls fail at once instead of validating.
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    let tool = webhook("old", receiver.url("/x"), json!({"type": "object"}));
    let id = crate::engine::create_tool(&app, &org, &tool).await;
    sqlx::query(
        "UPDATE tools SET definition = json_build_object('type', 'server', 'subtype', 'webhook', \
         'name', 'old', 'description', 'd', 'url', $2::text, 'method', 'GET', \
         'parameters', $3::json) WHERE id = $1",
    )
    .bind(uuid::Uuid::parse_str(&id).unwrap())
    .bind(receiver.url("/x"))
    .bind(hookline_schema::expansion::fan_out_schema(30))
    .execute(&app.pool)
    .await
    .unwrap();
    let persona = json!({"name": "P", "toolIds": [id]});
    let (session_id, _) = crate::harness::session(&app, &org, persona).await;
    let started = std::time::Instant::now();
    let body = json!({"toolName": "old", "arguments": {"q": "x"}});
    let (_, a) = call(&app, &org, &session_id, body).await;
    assert_eq!(a["error"]["kind"], "invalid_arguments", "{a}");
    let message = a["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("parameter schema") && message.contains("$refs"),
        "{a}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn path_template_values_cannot_walk_up_the_path() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    let tool = webhook(
        "orders",
        receiver.url("/v1/tenants/{tenant}/users/{id}/orders"),
        json!({"type": "object", "properties": {"tenant": {"type": "string"}, "id": {"type": "string"}},
            "required": ["tenant", "id"]}),
    );
    let (session_id, _) = session_with(&app, &org, &[tool]).await;
    for bad in ["..", ".", "", "%2e%2E", "%2E", "../../admin"] {
        let (status, a) = call(
            &app,
            &org,
            &session_id,
            json!({"toolName": "orders", "arguments": {"tenant": "acme", "id": bad}}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{a}");
        assert_eq!(a["status"], "failed", "{bad}: {a}");
        assert_eq!(a["error"]["kind"], "invalid_arguments", "{bad}: {a}");
        assert_eq!(a["error"]["errors"][0]["field"], "arguments.id", "{bad}");
    }
    assert!(receiver.requests().is_empty(), "a walking path was sent");

    // A slash stays inside its segment: the template's segments are kept exactly.
    let (_, a) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "orders", "arguments": {"tenant": "acme", "id": "a/../b"}}),
    )
    .await;
    assert_eq!(a["error"]["kind"], "invalid_arguments", "{a}");
    let (_, a) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "orders", "arguments": {"tenant": "acme", "id": "a/b..c"}}),
    )
    .await;
    assert_eq!(a["status"], "completed", "{a}");
    assert_eq!(
        receiver.requests()[0].path,
        "/v1/tenants/acme/users/a%2Fb..c/orders"
    );
}

#[tokio::test]
async fn connection_errors_name_no_url_anywhere_they_reach() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}/x?apikey=SECRET123");
    let tool = webhook("refused", url.clone(), json!({"type": "object"}));
    let (session_id, secret) = session_with(&app, &org, &[tool]).await;
    let mut events = SseStream::open(
        &app.url(&format!(
            "/v1/sessions/{session_id}/events?clientSecret={secret}"
        )),
        None,
        Some("0"),
    )
    .await;
    let (_, answer) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "refused", "arguments": {}}),
    )
    .await;
    assert_eq!(answer["error"]["kind"], "connection", "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "could not connect: the endpoint refused the connection"
    );
    assert!(!answer.to_string().contains("SECRET123"), "{answer}");

    let seen = events.take(2, Duration::from_secs(5)).await;
    assert_eq!(seen[1].event, "toolCallFailed");
    for event in &seen {
        assert!(!event.data.to_string().contains("SECRET123"), "{event:?}");
    }

    tokio::time::sleep(Duration::from_millis(1000)).await;
    let id = answer["id"].as_str().unwrap();
    let (status, mut logged) = org.get(&app, &format!("/v1/tool-calls/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(logged["error"], answer["error"]);
    // The request is logged exactly as sent (its URL is the tool's, which this key can read
    // anyway); nothing else in the log repeats it.
    assert_eq!(logged["request"]["url"], url);
    logged["request"] = Value::Null;
    assert!(!logged.to_string().contains("SECRET123"), "{logged}");
}

#[tokio::test]
async fn only_declared_arguments_are_sent_and_the_urls_query_keys_stay_fixed() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    let tool = webhook(
        "items",
        receiver.url("/items?scope=read"),
        json!({"type": "object", "properties": {"scope": {"type": "string"}, "q": {"type": "string"}}}),
    );
    let (session_id, _) = session_with(&app, &org, &[tool]).await;
    let (_, a) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "items", "arguments": {"scope": "admin", "q": "x", "undeclared": "y"}}),
    )
    .await;
    assert_eq!(a["status"], "completed", "{a}");
    assert_eq!(
        receiver.requests()[0].query.as_deref(),
        Some("scope=read&q=x")
    );
}

#[tokio::test]
async fn a_production_server_refuses_plain_http_saved_by_a_development_server() {
    let production = raw_settings();
    let app = TestApp::spawn_with(production.clone()).await;
    let dev = TestApp::spawn_with(RawSettings {
        env: hookline_core::Mode::Development,
        ..production
    })
    .await;
    let org = dev.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    let port = receiver.addr.port();
    let plain = |name: &str, host: &str| {
        json!({"type": "server", "subtype": "webhook", "name": name, "description": "d",
            "url": format!("http://{host}:{port}/x")})
    };
    // localhost resolves into the allowed networks, but a host name over http is not allowed in
    // production; a literal address in HOOKLINE_ALLOWED_NETWORKS is.
    let (session_id, _) = session_with(
        &dev,
        &org,
        &[
            plain("by_name", "localhost"),
            plain("by_address", "127.0.0.1"),
        ],
    )
    .await;
    let (_, a) = call(&app, &org, &session_id, json!({"toolName": "by_name"})).await;
    assert_eq!(a["status"], "failed", "{a}");
    assert_eq!(a["error"]["kind"], "blocked_destination", "{a}");
    assert_eq!(a["error"]["message"], "the destination is not allowed");
    assert!(receiver.requests().is_empty(), "plain http was sent");
    let (_, a) = call(&app, &org, &session_id, json!({"toolName": "by_address"})).await;
    assert_eq!(a["status"], "completed", "{a}");
    // The development server itself still calls it.
    let (_, a) = call(&dev, &org, &session_id, json!({"toolName": "by_name"})).await;
    assert_eq!(a["status"], "completed", "{a}");
}

#[tokio::test]
async fn a_blocked_destination_does_not_name_the_address() {
    let app = TestApp::spawn_with(RawSettings {
        allowed_networks: String::new(),
        ..raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let tool = json!({"type": "server", "subtype": "webhook", "name": "local", "description": "d",
        "url": "https://localhost:9/x"});
    let (session_id, _) = session_with(&app, &org, &[tool]).await;
    let (_, a) = call(&app, &org, &session_id, json!({"toolName": "local"})).await;
    assert_eq!(a["error"]["kind"], "blocked_destination", "{a}");
    assert_eq!(a["error"]["message"], "the destination is not allowed");
}

/// Finds the object holding `$defs` in an exported tool, whatever the format's envelope.
fn schema_with_defs(value: &Value) -> Option<&Value> {
    match value {
        Value::Object(map) if map.contains_key("$defs") => Some(value),
        Value::Object(map) => map.values().find_map(schema_with_defs),
        Value::Array(items) => items.iter().find_map(schema_with_defs),
        _ => None,
    }
}

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(target) if k == "$ref" => out.push(target.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn body_and_query_definitions_both_resolve_in_every_export_and_in_a_real_call() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"ok": true}))).await;
    let tool = json!({"type": "server", "subtype": "webhook", "name": "search", "description": "d",
        "url": receiver.url("/search"),
        "parameters": {"type": "object", "$defs": {"term": {"type": "string", "minLength": 2}},
            "properties": {"term": {"$ref": "#/$defs/term"}}, "required": ["term"]},
        "queryParameters": {"type": "object", "$defs": {"page": {"type": "integer", "minimum": 1}},
            "properties": {"page": {"$ref": "#/$defs/page"}}}});
    let (session_id, _) = session_with(&app, &org, std::slice::from_ref(&tool)).await;
    for format in ["openai", "anthropic", "mcp"] {
        let (status, exported) = org
            .get(
                &app,
                &format!("/v1/sessions/{session_id}/tools?format={format}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{exported}");
        let schema = schema_with_defs(&exported["tools"][0]).expect("definitions exported");
        let mut found = Vec::new();
        refs(schema, &mut found);
        assert_eq!(found.len(), 2, "{format}: {schema}");
        for target in found {
            let pointer = target.trim_start_matches('#');
            assert!(
                schema.pointer(pointer).is_some(),
                "{format}: {target} dangles"
            );
        }
    }
    let (_, a) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "search", "arguments": {"term": "shoes", "page": 2}}),
    )
    .await;
    assert_eq!(a["status"], "completed", "{a}");
    let sent = &receiver.requests()[0];
    assert_eq!(sent.query.as_deref(), Some("page=2"));
    assert_eq!(sent.json(), json!({"term": "shoes"}));
    let (_, a) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "search", "arguments": {"term": "s", "page": 0}}),
    )
    .await;
    assert_eq!(a["error"]["kind"], "invalid_arguments", "{a}");
    assert_eq!(a["error"]["errors"].as_array().unwrap().len(), 2, "{a}");

    // Colliding names with other content are refused where they are defined.
    let mut clash = tool;
    clash["name"] = json!("clash");
    clash["queryParameters"]["$defs"]["term"] = json!({"type": "integer"});
    let (status, body) = org.post(&app, "/v1/tools", &clash).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["queryParameters.$defs.term"]);
}

/// A production server that allows no private network, and a development server (loopback
/// allowed) on the same database: a tool the second defines, the first must refuse to call.
async fn production_and_development() -> (TestApp, TestApp) {
    let strict = crate::harness::RawSettings {
        allowed_networks: String::new(),
        ..crate::harness::raw_settings()
    };
    let app = TestApp::spawn_with(strict.clone()).await;
    let dev = TestApp::spawn_with(crate::harness::RawSettings {
        database_url: strict.database_url,
        env: hookline_core::Mode::Development,
        ..crate::harness::raw_settings()
    })
    .await;
    (app, dev)
}

#[tokio::test]
async fn production_refuses_loopback_in_every_spelling_and_sends_nothing() {
    let (app, dev) = production_and_development().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    let port = receiver.addr.port();
    let tool = |name: &str, url: String| json!({"type": "server", "subtype": "webhook", "name": name, "description": "d", "url": url});

    // A host name is checked after resolution: localhost is loopback.
    let (session_id, _) = session_with(
        &app,
        &org,
        &[tool("local", format!("https://localhost:{port}/x"))],
    )
    .await;
    let (_, a) = call(&app, &org, &session_id, json!({"toolName": "local"})).await;
    assert_eq!(a["status"], "failed");
    assert_eq!(a["error"]["kind"], "blocked_destination", "{a}");

    // Literal addresses are refused when the tool is defined...
    let literals = [
        "127.0.0.1",
        "[::1]",
        "0.0.0.0",
        "[::ffff:127.0.0.1]",
        "2130706433",
    ];
    for host in literals {
        let (status, body) = org
            .post(
                &app,
                "/v1/tools",
                &tool("lit", format!("https://{host}:{port}/x")),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{host}");
        assert_eq!(error_fields(&body), ["url"], "{host}");
    }
    // ...and when a tool defined in development mode is run by a server in production mode.
    let tools: Vec<Value> = literals
        .iter()
        .enumerate()
        .map(|(i, host)| tool(&format!("lit_{i}"), format!("http://{host}:{port}/x")))
        .collect();
    let (session_id, _) = session_with(&dev, &org, &tools).await;
    for (i, host) in literals.iter().enumerate() {
        let body = json!({"toolName": format!("lit_{i}")});
        let (_, a) = call(&app, &org, &session_id, body).await;
        assert_eq!(a["error"]["kind"], "blocked_destination", "{host}: {a}");
    }
    assert!(
        receiver.requests().is_empty(),
        "a blocked destination was reached"
    );
}

#[tokio::test]
async fn a_dry_run_reports_a_destination_the_call_would_refuse_and_sends_nothing() {
    let (app, dev) = production_and_development().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    // Defined in development mode, where loopback is allowed; tested on a production server.
    let tool = json!({"type": "server", "subtype": "webhook", "name": "local", "description": "d",
                      "url": format!("http://127.0.0.1:{}/x", receiver.addr.port())});
    let (status, created) = org.post(&dev, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();

    let (status, dry) = org
        .post(
            &app,
            &format!("/v1/tools/{id}/test?dryRun=true"),
            &json!({"arguments": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    assert_eq!(dry["error"]["kind"], "blocked_destination", "{dry}");
    assert_eq!(dry["request"]["method"], "POST", "{dry}");
    assert!(dry["response"].is_null(), "{dry}");
    assert!(
        receiver.requests().is_empty(),
        "a dry run reached the endpoint"
    );
}
