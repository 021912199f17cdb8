//! Every kind of tool made in the Lab's form, in a real browser: client tools with raw JSON
//! Schemas, system tools, imported definitions, header secrets, pages, reordering on the build
//! page, unsaved changes, and a client tool's result asked of the person in the Playground.

use serde_json::json;

use crate::lab_support::{choose, seed, snap_at, Lab};

#[tokio::test]
async fn every_tool_kind_raw_schemas_imports_headers_pages_order_and_client_results_work_in_the_lab(
) {
    let lab = Lab::start().await;
    for i in 0..11 {
        let (status, body) = lab
            .org
            .post(
                &lab.app,
                "/v1/tools",
                &json!({"type": "client", "name": format!("filler_{i:02}"), "description": "A filler"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    lab.sign_in().await;

    the_list_has_pages_and_a_search(&lab).await;
    let client_id = a_client_tool_with_a_raw_schema(&lab).await;
    a_system_tool(&lab).await;
    let weather_id = an_imported_tool_with_its_header_secret(&lab).await;
    the_build_page_reorders_and_removes_tools(&lab, &client_id, &weather_id).await;
    the_playground_asks_for_a_client_result(&lab, &client_id).await;
}

async fn the_list_has_pages_and_a_search(lab: &Lab) {
    let browser = &lab.browser;
    browser.wait_text(".pager", "Page 1 of 2").await;
    browser.click(".pager button:last-child").await;
    browser.wait_text(".pager", "Page 2 of 2").await;
    browser.type_into("input[type=search]", "filler_07").await;
    browser.wait_text(".pager", "1 in all").await;
    assert_eq!(
        browser.text("#main tbody").await.matches("filler_").count(),
        1
    );
}

/// A client tool whose raw JSON Schema the server refuses: the error lands on Parameters; fixed,
/// it is saved as written. Its id.
async fn a_client_tool_with_a_raw_schema(lab: &Lab) -> String {
    let browser = &lab.browser;
    browser.click("#create-tool").await;
    choose(browser, ".tool-form [data-field=type] select", "client").await;
    browser
        .type_into(".tool-form [data-field=name] input", "show_map")
        .await;
    browser
        .type_into(
            ".tool-form [data-field=description] textarea",
            "Shows a map",
        )
        .await;
    // The property is first made in the table: its row stays behind, hidden, while the JSON
    // Schema tab is open, and the error must show where the person is (it went to that row).
    browser.click("[data-field=parameters] .add-property").await;
    browser
        .type_into(
            "[data-field=parameters] input[aria-label='Property name']",
            "city",
        )
        .await;
    browser
        .click("[data-field=parameters] [role=tab]:nth-child(2)")
        .await;
    browser.clear("[data-field=parameters] textarea").await;
    browser
        .type_into(
            "[data-field=parameters] textarea",
            r#"{"type": "object", "properties": {"city": {"type": "strnig"}}}"#,
        )
        .await;
    browser.click(".tool-form button[type=submit]").await;
    let error = browser
        .wait_text("[data-field=parameters] > .field-error", "strnig")
        .await;
    assert!(error.contains("parameters.properties.city.type"), "{error}");
    assert!(error.contains("did you mean \"string\"?"), "{error}");
    browser.clear("[data-field=parameters] textarea").await;
    browser
        .type_into(
            "[data-field=parameters] textarea",
            r#"{"type": "object", "properties": {"city": {"type": "string", "minLength": 2}}, "required": ["city"]}"#,
        )
        .await;
    // Back to the table: the property shows, and the keyword the table has no column for stays.
    browser
        .click("[data-field=parameters] [role=tab]:nth-child(1)")
        .await;
    let name = browser
        .eval("return document.querySelector(\"[data-field=parameters] input[aria-label='Property name']\").value", json!([]))
        .await;
    assert_eq!(name, "city");
    browser
        .click(".tool-form [data-field=awaitResult] input")
        .await;
    browser.click(".tool-form button[type=submit]").await;
    browser.wait_text("#flash", "Created show_map").await;
    let client_id = lab.id_in_path().await;
    let (_, client) = lab
        .org
        .get(&lab.app, &format!("/v1/tools/{client_id}"))
        .await;
    assert_eq!(client["type"], "client");
    assert_eq!(client["awaitResult"], true);
    assert_eq!(
        client["parameters"],
        json!({"type": "object", "properties": {"city": {"type": "string", "minLength": 2}}, "required": ["city"]})
    );
    client_id
}

async fn a_system_tool(lab: &Lab) {
    let browser = &lab.browser;
    lab.goto("/lab/tools/new").await;
    choose(browser, ".tool-form [data-field=type] select", "system").await;
    choose(browser, ".tool-form [data-field=name] select", "end_call").await;
    browser.click(".tool-form button[type=submit]").await;
    browser.wait_text("#flash", "Created end_call").await;
}

/// The seed's get_weather imported as JSON: its key header a secret named by its placeholder;
/// then that header dropped for a Content-Type that is not a secret. Its id.
async fn an_imported_tool_with_its_header_secret(lab: &Lab) -> String {
    let browser = &lab.browser;
    lab.goto("/lab/tools/new").await;
    browser.click(".import-export summary").await;
    browser
        .type_into(".import-export textarea", &seed("get_weather").to_string())
        .await;
    browser
        .click(".import-export .actions button:nth-child(2)")
        .await;
    browser.wait_text("#flash", "Imported").await;
    let imported = browser
        .eval(
            "return document.querySelector('.tool-form [data-field=name] input').value",
            json!([]),
        )
        .await;
    assert_eq!(imported, "get_weather");
    let headers = browser
        .eval(
            "return document.querySelectorAll('.header-row').length",
            json!([]),
        )
        .await;
    let seed_headers = seed("get_weather")["headers"]
        .as_object()
        .map_or(0, |h| h.len());
    assert_eq!(headers, seed_headers);
    // The key header is a secret by default; saved with the template's placeholder, it is named.
    let secret = "return document.querySelector('.header-row .secret-switch input').checked";
    assert_eq!(browser.eval(secret, json!([])).await, true);
    browser.click(".tool-form button[type=submit]").await;
    let created = browser.wait_text("#flash", "Created get_weather").await;
    assert!(
        created.contains("X-API-Key (YOUR_WEATHER_API_KEY)"),
        "{created}"
    );
    let weather_id = lab.id_in_path().await;
    // The edit page replaces the new tool's form once the tool is read back: wait for it
    // (its "Test this tool" link), or the click below lands on the form being replaced.
    browser.wait_text(".tool-form", "Test this tool").await;
    assert_eq!(seed_headers, 1);
    // A masked value has no Hide link: there is nothing to hide.
    let reveal = "return document.querySelector('.header-row .header-value button').getClientRects().length === 0";
    assert_eq!(browser.eval(reveal, json!([])).await, true);
    browser.click(".header-row button.danger").await;
    // Content-Type is not a secret by default: saved and shown in full.
    browser.click(".headers > button").await;
    browser
        .type_into(
            ".header-row input[aria-label='Header name']",
            "Content-Type",
        )
        .await;
    browser
        .type_into(".header-row .header-value input", "application/json")
        .await;
    assert_eq!(browser.eval(secret, json!([])).await, false);
    browser.click(".tool-form button[type=submit]").await;
    browser.wait_text("#flash", "Saved get_weather.").await;
    let (_, weather) = lab
        .org
        .get(&lab.app, &format!("/v1/tools/{weather_id}"))
        .await;
    assert_eq!(
        (&weather["headers"], &weather["plainHeaders"]),
        (
            &json!({"Content-Type": "application/json"}),
            &json!(["Content-Type"])
        ),
        "{weather}"
    );
    let shown = "const i = document.querySelector('.header-row .header-value input'); return [i.type, i.value]";
    assert_eq!(
        browser.eval(shown, json!([])).await,
        json!(["text", "application/json"])
    );
    snap_at(browser, "tool-headers", Some(".headers")).await;
    weather_id
}

/// Down moves the first tool after the second; leaving with unsaved changes asks first, in the
/// page, and staying keeps them; a tool removed is saved without it.
async fn the_build_page_reorders_and_removes_tools(lab: &Lab, client_id: &str, weather_id: &str) {
    let (app, org, browser) = (&lab.app, &lab.org, &lab.browser);
    let (_, persona) = org
        .post(
            app,
            "/v1/personas",
            &json!({"name": "Guide", "toolIds": [client_id, weather_id]}),
        )
        .await;
    let persona_id = persona["id"].as_str().unwrap();
    lab.goto(&format!("/lab/build/{persona_id}")).await;
    browser
        .click("button[aria-label='Move show_map down']")
        .await;
    browser.wait_text("#main", "Unsaved changes").await;
    browser.click("#nav a[href='/lab/personas']").await;
    browser
        .wait_text("#flash [role=alertdialog]", "Guide has unsaved changes")
        .await;
    browser.click("#confirm-no").await;
    assert_eq!(browser.path().await, format!("/lab/build/{persona_id}"));
    browser.click("#save-persona").await;
    browser.wait_text("#flash", "Saved Guide").await;
    let (_, persona) = org.get(app, &format!("/v1/personas/{persona_id}")).await;
    assert_eq!(persona["toolIds"], json!([weather_id, client_id]));
    browser
        .click("#attached-tools button[aria-label='Remove show_map']")
        .await;
    browser.wait_text("#main", "Unsaved changes").await;
    browser.click("#save-persona").await;
    browser
        .wait_for(
            "the save",
            "return !document.getElementById('main').innerText.includes('Unsaved changes')",
            json!([]),
        )
        .await;
    let (_, persona) = org.get(app, &format!("/v1/personas/{persona_id}")).await;
    assert_eq!(persona["toolIds"], json!([weather_id]));
}

/// The Playground asks the person for a client tool's result, and the card completes with it.
async fn the_playground_asks_for_a_client_result(lab: &Lab, client_id: &str) {
    let browser = &lab.browser;
    let (_, mapper) = lab
        .org
        .post(
            &lab.app,
            "/v1/personas",
            &json!({"name": "Mapper", "toolIds": [client_id]}),
        )
        .await;
    lab.goto(&format!(
        "/lab/playground/{}",
        mapper["id"].as_str().unwrap()
    ))
    .await;
    browser.click("#start-session").await;
    browser.wait_text(".playground", "Live").await;
    browser.type_into("input[name=city]", "Paris").await;
    browser.click("#run-call").await;
    browser
        .type_into("#tool-cards .client-result textarea", r#"{"shown": true}"#)
        .await;
    browser
        .click("#tool-cards .client-result button.primary")
        .await;
    let card = browser.wait_text("#tool-cards", "completed").await;
    assert!(
        card.contains("\"shown\": true") && card.contains("Paris"),
        "{card}"
    );
}
