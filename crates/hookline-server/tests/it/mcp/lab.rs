//! The Lab's MCP section on a persona's build page, in a real Chromium.

use serde_json::{json, Value};

use crate::harness::{Receiver, Reply, TestApp};
use crate::lab_support::{sign_in, snap_at};
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

#[tokio::test]
async fn the_mcp_tool_form_lists_the_servers_tools_tests_one_and_saves_the_allowed_ones() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let remote = super::sources::RemoteServer::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &org.key).await;
    browser.goto(&app.url("/lab/tools/new")).await;
    crate::lab_support::choose(&browser, ".tool-form [data-field=type] select", "mcp").await;
    browser
        .type_into(".tool-form [data-field=url] input", &remote.url())
        .await;

    // Listed before anything is saved: every tool, each allowed until switched off.
    browser.click(".tool-form .list-tools").await;
    browser
        .wait_text(".tool-form .mcp-listing", "3 tools listed")
        .await;
    let rows = browser
        .eval(
            "return [...document.querySelectorAll('.mcp-tools tr[data-tool]')].map((r) => [r.dataset.tool, r.querySelector('input').checked])",
            json!([]),
        )
        .await;
    assert_eq!(
        rows,
        json!([
            ["lookup_order", true],
            ["refund_order", true],
            ["cancel_order", true]
        ])
    );

    // Test one: its arguments box is filled from its schema; the server's answer shows.
    browser
        .click("button[aria-label='Test lookup_order']")
        .await;
    browser.clear(".mcp-test:not([hidden]) textarea").await;
    browser
        .type_into(
            ".mcp-test:not([hidden]) textarea",
            r#"{"order_id": "ORD-42"}"#,
        )
        .await;
    browser
        .click(".mcp-test:not([hidden]) .actions button")
        .await;
    let shown = browser
        .wait_text(".mcp-test:not([hidden]) .mcp-test-result", "has shipped")
        .await;
    assert!(shown.contains("Order ORD-42"), "{shown}");
    snap_at(&browser, "tool-mcp-listed", Some(".mcp-listing")).await;

    // One switched off, then saved: allowedTools holds the others.
    browser
        .click("input[aria-label='Allow refund_order']")
        .await;
    browser
        .type_into(".tool-form [data-field=name] input", "orders")
        .await;
    browser
        .type_into(
            ".tool-form [data-field=description] textarea",
            "The order service's MCP server",
        )
        .await;
    browser.click(".tool-form button[type=submit]").await;
    browser.wait_text("#flash", "Created orders").await;
    let id = browser.path().await.rsplit('/').next().unwrap().to_owned();
    let (_, saved) = org.get(&app, &format!("/v1/tools/{id}")).await;
    assert_eq!(saved["subtype"], "mcp", "{saved}");
    assert_eq!(
        saved["allowedTools"],
        json!(["lookup_order", "cancel_order"])
    );

    // Reopened, it is the MCP form again, and lists with the saved switches.
    browser
        .wait_text(
            ".tool-form .mcp-listing",
            "Allowed: lookup_order, cancel_order",
        )
        .await;
    browser.click(".tool-form .list-tools").await;
    browser
        .wait_text(".tool-form .mcp-listing", "3 tools listed")
        .await;
    let allowed = browser
        .eval(
            "return [...document.querySelectorAll('.mcp-tools tr[data-tool]')].map((r) => r.querySelector('input').checked)",
            json!([]),
        )
        .await;
    assert_eq!(allowed, json!([true, false, true]));
    assert!(browser.console_problems().await.is_empty());
}
