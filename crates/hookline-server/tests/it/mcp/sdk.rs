//! The official MCP Python SDK (`mcp` on PyPI, pinned in scripts/test-requirements.txt) against Hookline:
//! a client nobody here wrote connects, lists and calls.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::persona;
use crate::harness::{Receiver, Reply, TestApp};

/// The python of the tests' venv, which has the SDK (scripts/test-requirements.txt).
pub(crate) fn sdk_python() -> String {
    crate::harness::test_venv()
        .join("bin/python")
        .to_string_lossy()
        .into_owned()
}

/// Runs one of the Python scripts beside this file with `args`; its stdout, parsed as JSON.
async fn run_script(script: &str, args: Vec<String>) -> Value {
    let python = sdk_python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/mcp")
        .join(script);
    // Off the runtime: the server under test answers the script on it meanwhile.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .args(args)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        out.status.success(),
        "the SDK client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn the_official_python_sdk_lists_and_calls_a_personas_tools() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({"status": "shipped"}))).await;
    let persona_id = persona(&app, &org, &receiver).await;
    let url = app.url(&format!("/v1/mcp/personas/{persona_id}"));

    let out = run_script(
        "sdk_client.py",
        vec![
            url,
            org.key.clone(),
            "check_order_status".into(),
            json!({"orderId": "ORD-12345"}).to_string(),
            json!({"orderId": 12345}).to_string(),
        ],
    )
    .await;

    assert_eq!(out["serverName"], "hookline");
    let names: Vec<&str> = out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["check_order_status"]);
    assert_eq!(
        out["tools"][0]["inputSchema"]["required"],
        json!(["orderId"])
    );
    assert_eq!(out["good"]["isError"], false, "{out}");
    let text: Value = serde_json::from_str(out["good"]["text"][0].as_str().unwrap()).unwrap();
    assert_eq!(text, json!({"status": "shipped"}));
    assert_eq!(out["bad"]["isError"], true, "{out}");
    assert!(
        out["bad"]["text"][0]
            .as_str()
            .unwrap()
            .contains("invalid_arguments"),
        "{out}"
    );
    let hits = receiver.requests();
    assert_eq!(hits.len(), 1, "only the good call reached the endpoint");
    assert_eq!(hits[0].json(), json!({"orderId": "ORD-12345"}));

    // The SDK ended its session on leaving (DELETE): it shows as ended, with its one call.
    let (status, sessions) = org.get(&app, "/v1/sessions").await;
    assert_eq!(status, StatusCode::OK);
    let session = &sessions["data"][0];
    assert_eq!(session["personaId"], persona_id.as_str());
    assert_eq!(session["status"], "ended", "{session}");
    let (_, calls) = org
        .get(
            &app,
            &format!(
                "/v1/sessions/{}/tool-calls",
                session["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(calls["meta"]["total"], 2, "{calls}");
}

#[tokio::test]
async fn the_official_python_sdk_hears_that_a_tool_changed_and_lists_it_anew() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    let persona_id = persona(&app, &org, &receiver).await;
    let (_, persona) = org.get(&app, &format!("/v1/personas/{persona_id}")).await;
    let tool_id = persona["toolIds"][0].as_str().unwrap();

    let out = run_script(
        "sdk_list_changed.py",
        vec![
            app.url(&format!("/v1/mcp/personas/{persona_id}")),
            org.key.clone(),
            app.url(&format!("/v1/tools/{tool_id}")),
            "Look up an order by its number".into(),
        ],
    )
    .await;

    assert_eq!(out["listChanged"], true, "{out}");
    assert_eq!(out["before"], json!(["Look up an order"]));
    assert!(out["notifications"].as_u64().unwrap() >= 1, "{out}");
    // The SDK's own cache of tools/list was dropped by the notification, and the session's
    // tools followed the persona's: the new description, not the one listed at first.
    let after = out["after"][0].as_str().unwrap();
    assert!(
        after.starts_with("Look up an order by its number ("),
        "{out}"
    );
}
