//! The Lab's connections (Settings), the connection picker of the webhook tool form, and the
//! "Import from OpenAPI" panel, in a real browser against the real app.

use serde_json::{json, Value};

use crate::lab_support::{choose, snap, snap_at, Lab};
use crate::webdriver::Browser;

const SECRET: &str = "cs_live_0123456789abcdef";
const PETSTORE_30: &str = include_str!("fixtures/openapi/petstore-3.0.yaml");

#[tokio::test]
async fn connections_are_added_in_settings_picked_in_a_tool_and_an_openapi_document_imported() {
    let lab = Lab::start().await;
    lab.sign_in().await;

    add_a_connection_in_settings(&lab.browser).await;
    pick_it_in_the_tool_form(&lab).await;
    import_the_petstore_but_one_operation(&lab).await;
    delete_the_connection_in_use(&lab.browser).await;
}

/// Settings: a connection added in the form (a bad URL first: the server's 422 shows next to its
/// field), listed with its secret masked.
async fn add_a_connection_in_settings(browser: &Browser) {
    browser.click("#nav a[href='/lab/settings']").await;
    browser
        .wait_text("#connections", "No connections yet")
        .await;
    let form = "#connections form";
    browser
        .type_into(&format!("{form} [data-field=name] input"), "crm")
        .await;
    browser
        .type_into(
            &format!("{form} [data-field=tokenUrl] input"),
            "https://10.1.2.3/token",
        )
        .await;
    browser
        .type_into(&format!("{form} [data-field=clientId] input"), "hookline")
        .await;
    browser
        .type_into(&format!("{form} [data-field=clientSecret] input"), SECRET)
        .await;
    browser.click("#create-connection").await;
    browser
        .wait_text(
            &format!("{form} [data-field=tokenUrl] .field-error"),
            "address",
        )
        .await;
    browser
        .clear(&format!("{form} [data-field=tokenUrl] input"))
        .await;
    browser
        .type_into(
            &format!("{form} [data-field=tokenUrl] input"),
            "https://auth.example.com/oauth/token",
        )
        .await;
    browser.click("#create-connection").await;
    browser
        .wait_text("#flash", "Added the connection crm")
        .await;
    let row = browser.wait_text("table.connections tbody", "crm").await;
    assert!(row.contains("••••cdef"), "{row}");
    let page: Value = browser
        .eval("return document.body.innerText", json!([]))
        .await;
    assert!(!page.as_str().unwrap().contains(SECRET));
    snap_at(browser, "settings-connections", Some("#connections")).await;
}

/// The tool form offers it; the tool saved with it names it.
async fn pick_it_in_the_tool_form(lab: &Lab) {
    let browser = &lab.browser;
    let (_, list) = lab.org.get(&lab.app, "/v1/connections").await;
    let connection_id = list["data"][0]["id"].as_str().unwrap().to_owned();
    browser.click("#nav a[href='/lab/tools']").await;
    browser.click("#create-tool").await;
    browser.wait_path("/lab/tools/new").await;
    let tool = ".tool-form";
    browser
        .type_into(&format!("{tool} [data-field=name] input"), "order_status")
        .await;
    browser
        .type_into(
            &format!("{tool} [data-field=description] textarea"),
            "Look up an order",
        )
        .await;
    browser
        .type_into(
            &format!("{tool} [data-field=url] input"),
            "https://api.example.com/orders",
        )
        .await;
    browser
        .wait_text(&format!("{tool} [data-field=connectionId] select"), "crm")
        .await;
    choose(
        browser,
        &format!("{tool} [data-field=connectionId] select"),
        &connection_id,
    )
    .await;
    browser.click(&format!("{tool} button[type=submit]")).await;
    browser.wait_text("#flash", "Created order_status").await;
    let (_, tools) = lab.org.get(&lab.app, "/v1/tools").await;
    assert_eq!(tools["data"][0]["connectionId"], connection_id.as_str());
    snap(browser, "tool-with-connection").await;
}

/// The petstore pasted, its drafts previewed (creating nothing), one left out, the others created.
async fn import_the_petstore_but_one_operation(lab: &Lab) {
    let (app, org, browser) = (&lab.app, &lab.org, &lab.browser);
    browser.click("#nav a[href='/lab/tools']").await;
    browser.click("#import-openapi").await;
    browser.find("#openapi-text").await;
    browser
        .eval(
            "const t = document.querySelector('#openapi-text'); t.value = arguments[0]; t.dispatchEvent(new Event('input', {bubbles: true}))",
            json!([PETSTORE_30]),
        )
        .await;
    browser.click("#import-preview").await;
    let summary = browser
        .wait_text(".import-results", "can become tools")
        .await;
    assert!(summary.contains("4 of 5 operations"), "{summary}");
    assert!(
        summary.contains("image/png"),
        "the refusal says why: {summary}"
    );
    let (_, nothing_yet) = org.get(app, "/v1/tools").await;
    assert_eq!(nothing_yet["meta"]["total"], 1, "a preview creates nothing");
    snap_at(browser, "tools-import-preview", Some(".import-openapi")).await;
    browser.click("input[aria-label='Import delete_pet']").await;
    assert_eq!(browser.text("#import-create").await, "Create 3 tools");
    browser.click("#import-create").await;
    browser.wait_text("#flash", "Created 3 tools").await;
    browser.wait_text(".results", "show_pet_by_id").await;
    let (_, after) = org.get(app, "/v1/tools").await;
    assert_eq!(after["meta"]["total"], 4);
    let names: Vec<&str> = after["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"delete_pet"), "{names:?}");
}

/// Deleting the connection the tool uses asks first, naming what it does.
async fn delete_the_connection_in_use(browser: &Browser) {
    browser.click("#nav a[href='/lab/settings']").await;
    browser.wait_text("table.connections tbody", "crm").await;
    browser
        .click("button[aria-label='Delete the connection crm']")
        .await;
    browser.wait_text("#flash", "1 tool uses it").await;
    browser.click("#confirm-yes").await;
    browser
        .wait_text("#flash", "Deleted the connection crm")
        .await;
    browser
        .wait_text("#connections", "No connections yet")
        .await;
}
