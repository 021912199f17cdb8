//! Every kind of tool made in the Lab's form, in a real browser: client tools with raw JSON
//! Schemas, system tools, imported definitions, header secrets, pages, reordering on the build
//! page, unsaved changes, and a client tool's result asked of the person in the Playground.

use serde_json::json;

use crate::harness::TestApp;
use crate::lab_support::{choose, seed, sign_in, snap_at};
use crate::webdriver::Browser;

#[tokio::test]
async fn every_tool_kind_raw_schemas_imports_headers_pages_order_and_client_results_work_in_the_lab(
) {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    for i in 0..11 {
        let (status, body) = org
            .post(
                &app,
                "/v1/tools",
                &json!({"type": "client", "name": format!("filler_{i:02}"), "description": "A filler"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let browser = Browser::start().await;
    sign_in(&browser, &app, &org.key).await;

    // Pages and search.
    browser.wait_text(".pager", "Page 1 of 2").await;
    browser.click(".pager button:last-child").await;
    browser.wait_text(".pager", "Page 2 of 2").await;
    browser.type_into("input[type=search]", "filler_07").await;
    browser.wait_text(".pager", "1 in all").await;
    assert_eq!(
        browser.text("#main tbody").await.matches("filler_").count(),
        1
    );

    // A client tool whose raw JSON Schema the server refuses: the error lands on Parameters.
    browser.click("#create-tool").await;
    choose(&browser, ".tool-form [data-field=type] select", "client").await;
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
    let client_id = browser.path().await.rsplit('/').next().unwrap().to_owned();
    let (_, client) = org.get(&app, &format!("/v1/tools/{client_id}")).await;
    assert_eq!(client["type"], "client");
    assert_eq!(client["awaitResult"], true);
    assert_eq!(
        client["parameters"],
        json!({"type": "object", "properties": {"city": {"type": "string", "minLength": 2}}, "required": ["city"]})
    );

    // A system tool.
    browser.goto(&app.url("/lab/tools/new")).await;
    choose(&browser, ".tool-form [data-field=type] select", "system").await;
    choose(&browser, ".tool-form [data-field=name] select", "end_call").await;
    browser.click(".tool-form button[type=submit]").await;
    browser.wait_text("#flash", "Created end_call").await;

    // Import a definition as JSON (the seed's get_weather), then drop its header and save.
    browser.goto(&app.url("/lab/tools/new")).await;
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
    let weather_id = browser.path().await.rsplit('/').next().unwrap().to_owned();
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
    let (_, weather) = org.get(&app, &format!("/v1/tools/{weather_id}")).await;
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
    snap_at(&browser, "tool-headers", Some(".headers")).await;

    // Reorder on the build page: Down moves the first tool after the second.
    let (_, persona) = org
        .post(
            &app,
            "/v1/personas",
            &json!({"name": "Guide", "toolIds": [client_id, weather_id]}),
        )
        .await;
    let persona_id = persona["id"].as_str().unwrap();
    browser
        .goto(&app.url(&format!("/lab/build/{persona_id}")))
        .await;
    browser
        .click("button[aria-label='Move show_map down']")
        .await;
    browser.wait_text("#main", "Unsaved changes").await;
    // Leaving with unsaved changes asks first, in the page; staying keeps them.
    browser.click("#nav a[href='/lab/personas']").await;
    browser
        .wait_text("#flash [role=alertdialog]", "Guide has unsaved changes")
        .await;
    browser.click("#confirm-no").await;
    assert_eq!(browser.path().await, format!("/lab/build/{persona_id}"));
    browser.click("#save-persona").await;
    browser.wait_text("#flash", "Saved Guide").await;
    let (_, persona) = org.get(&app, &format!("/v1/personas/{persona_id}")).await;
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
    let (_, persona) = org.get(&app, &format!("/v1/personas/{persona_id}")).await;
    assert_eq!(persona["toolIds"], json!([weather_id]));

    // The Playground asks the person for a client tool's result, and the card completes with it.
    let (_, mapper) = org
        .post(
            &app,
            "/v1/personas",
            &json!({"name": "Mapper", "toolIds": [client_id]}),
        )
        .await;
    browser
        .goto(&app.url(&format!(
            "/lab/playground/{}",
            mapper["id"].as_str().unwrap()
        )))
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
