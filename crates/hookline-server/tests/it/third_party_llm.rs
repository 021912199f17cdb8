//! Our runtime against an LLM server nobody on this project wrote: fakellm (PyPI), a mock of
//! OpenAI's and Anthropic's streaming APIs, run from the venv `scripts/test-venv` makes. The
//! scripted stand-in of `fake_llm.rs` streams as we read the specs; this one streams as its
//! authors read them (arguments cut mid-token, no `ping`, one word a chunk).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::conversations::say;
use crate::engine::seed_at;
use crate::harness::{free_port, session, test_venv, Receiver, Reply, TestApp};

/// A running fakellm, stopped when dropped.
struct FakeLlmServer {
    child: Child,
    port: u16,
}

impl Drop for FakeLlmServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_fakellm() -> FakeLlmServer {
    let port = free_port();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fakellm.yaml");
    let child = Command::new(test_venv().join("bin/fakellm"))
        .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--config", config])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("fakellm starts");
    let server = FakeLlmServer { child, port };
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let ready = format!("http://127.0.0.1:{port}/_fakellm/stats");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client
        .get(&ready)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "fakellm did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

#[tokio::test]
async fn a_mock_llm_from_pypi_calls_a_tool_and_answers_in_both_apis() {
    let fakellm = start_fakellm().await;
    let app = TestApp::spawn().await;
    let store = Receiver::start(Reply::json(
        200,
        json!({"orderId": "ORD-12345", "status": "shipped"}),
    ))
    .await;
    for (provider, base_url) in [
        ("openai", format!("http://127.0.0.1:{}/v1", fakellm.port)),
        ("anthropic", format!("http://127.0.0.1:{}", fakellm.port)),
    ] {
        let org = app.org(provider).await;
        let (_, llm) = org
            .post(
                &app,
                "/v1/llms",
                &json!({"name": "fakellm", "provider": provider, "model": "gpt-4o-mini",
                        "baseUrl": base_url, "apiKey": "sk-unused", "timeoutSeconds": 10}),
            )
            .await;
        let (_, tool) = org
            .post(&app, "/v1/tools", &seed_at("check_order_status", &store))
            .await;
        let (_, persona) = org
            .post(
                &app,
                "/v1/personas",
                &json!({"name": "Support", "llmId": llm["id"], "toolIds": [tool["id"]]}),
            )
            .await;
        let (session_id, _) = session(&app, &org, json!({"personaId": persona["id"]})).await;

        let turn = say(&app, &org, &session_id, "Where is my order ORD-12345?").await;
        assert_eq!(
            turn["toolCalls"][0]["toolName"], "check_order_status",
            "{provider}: {turn}"
        );
        assert_eq!(
            turn["toolCalls"][0]["status"], "completed",
            "{provider}: {turn}"
        );
        assert_eq!(
            turn["reply"]["content"], "Your order ORD-12345 has shipped.",
            "{provider}: {turn}"
        );
        let greeting = say(&app, &org, &session_id, "hello").await;
        assert!(greeting.get("error").is_none(), "{provider}: {greeting}");
    }
    // The arguments fakellm cut mid-token reached the webhook whole, once per API.
    let orders: Vec<_> = store
        .requests()
        .iter()
        .map(|r| r.json()["orderId"].clone())
        .collect();
    assert_eq!(orders, [json!("ORD-12345"), json!("ORD-12345")]);
}
