//! The Lab's MCP section on a persona's build page, in a real Chromium.

use serde_json::{json, Value};

use crate::harness::{Receiver, Reply, TestApp};
use crate::lab_browser::{sign_in, snap_at};
use crate::webdriver::Browser;

#[tokio::test]
async fn the_build_page_shows_the_personas_mcp_url_and_client_configurations() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let receiver = Receiver::start(Reply::json(200, json!({}))).await;
    let persona_id = super::persona(&app, &org, &receiver).await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &org.key).await;
    browser
        .goto(&app.url(&format!("/lab/build/{persona_id}")))
        .await;
    let url = app.url(&format!("/v1/mcp/personas/{persona_id}"));
    assert_eq!(browser.wait_text("#mcp-url", "/v1/mcp/").await, url);
    snap_at(&browser, "build-mcp-section", Some(".mcp-section")).await;

    // The configurations name the URL and keep the key out (an environment variable instead).
    let configs = browser
        .eval(
            "return [...document.querySelectorAll('.mcp-section pre')].map((e) => e.textContent)",
            json!([]),
        )
        .await;
    let configs: Vec<&str> = configs
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(configs.len(), 3, "{configs:?}");
    assert!(configs.iter().all(|c| c.contains(&url)), "{configs:?}");
    assert!(!configs.iter().any(|c| c.contains(&org.key)), "{configs:?}");
    let cursor: Value = serde_json::from_str(configs[0]).unwrap();
    assert_eq!(cursor["mcpServers"]["support"]["url"], url.as_str());
    assert_eq!(
        cursor["mcpServers"]["support"]["headers"]["Authorization"],
        "Bearer ${env:HOOKLINE_API_KEY}"
    );

    // What the page shows is the endpoint a client initializes at.
    let mut client = super::Mcp::new(&app, &org, &persona_id);
    assert_eq!(client.url(), url);
    assert_eq!(client.initialize().await["serverInfo"]["title"], "Support");
}
