//! Knowledge in the Lab, in a real browser: a folder made, a document uploaded from a file input
//! and followed to `ready` with its chunk count, a search showing ranked chunks with their
//! sources, a knowledge tool made in the tool form with its folder picker (a 422 at the picker
//! first), and the Playground showing a knowledge call's chunks as a card.

use serde_json::json;

use crate::fake_llm::{call, Answer, FakeLlm, Say};
use crate::lab_support::{choose, llm_at, snap, snap_at, Lab};
use crate::webdriver::{keys, Browser};

const GUIDE: &str = "# Returns\n\nWe accept returns of unused items within 30 days.\n\n\
    ## Refunds\n\nRefunds are paid within 14 days to the original card.\n\n# Shipping\n\n\
    Parcels leave our warehouse in Lyon every weekday.\n";

#[tokio::test]
async fn folders_documents_search_a_knowledge_tool_and_its_card_work_in_the_lab() {
    let lab = Lab::start().await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![call(
        "call_kb1",
        "help_center",
        r#"{"query": "refund delay"}"#,
    )]))
    .then(Answer::openai(vec![Say::Text(
        "Refunds are paid within 14 days to the original card.",
    )]));
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lab-knowledge");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("guide.md");
    std::fs::write(&file, GUIDE).unwrap();
    lab.sign_in().await;

    make_a_folder(&lab.browser).await;
    upload_a_document_until_it_is_ready(&lab.browser, &file).await;
    search_the_folder_and_all_folders(&lab.browser).await;
    let tool = make_a_knowledge_tool_in_the_form(&lab).await;
    let persona_id = a_persona_with_the_tool(&lab, &fake, &tool).await;
    the_playground_shows_the_chunks_found(&lab, &persona_id).await;
    the_session_page_shows_them_too(&lab).await;
}

/// A folder, made on the Knowledge page.
async fn make_a_folder(browser: &Browser) {
    browser.click("#nav a[href='/lab/knowledge']").await;
    browser.wait_text("#folders", "No folders yet").await;
    browser
        .type_into("#new-folder [data-field=name] input", "Help center")
        .await;
    browser
        .type_into(
            "#new-folder [data-field=description] input",
            "Returns, refunds and shipping",
        )
        .await;
    browser.click("#new-folder button[type=submit]").await;
    browser.wait_path("/lab/knowledge/").await;
    browser.wait_text("#documents", "No documents yet").await;
}

/// A document uploaded from the file input, followed live until it is ready.
async fn upload_a_document_until_it_is_ready(browser: &Browser, file: &std::path::Path) {
    browser
        .type_into("#drop-zone input[type=file]", file.to_str().unwrap())
        .await;
    browser
        .wait_text(".upload-progress", "Uploaded 1 file")
        .await;
    let row = browser.wait_text("#documents tbody tr", "ready").await;
    assert!(row.contains("guide.md") && row.contains("ready"), "{row}");
    let chunks: i64 = browser
        .text("#documents tbody td[data-label=Chunks]")
        .await
        .trim()
        .parse()
        .unwrap();
    assert!(chunks >= 2, "{row}");
}

/// The search box, in the folder then on the Knowledge page: ranked chunks, each with its source.
async fn search_the_folder_and_all_folders(browser: &Browser) {
    browser
        .type_into(
            "#knowledge-search input[type=search]",
            "how long do refunds take",
        )
        .await;
    browser.press(keys::ENTER).await;
    let first = browser
        .wait_text("#knowledge-search .chunk", "14 days")
        .await;
    assert!(
        first.contains("#1") && first.contains("guide.md · Returns > Refunds"),
        "{first}"
    );
    snap_at(browser, "knowledge-folder", Some("#knowledge-search")).await;

    browser.click("a[href='/lab/knowledge']").await;
    let listed = browser.wait_text("#folders tbody", "Help center").await;
    assert!(listed.contains('1'), "{listed}");
    browser
        .type_into("#knowledge-search input[type=search]", "parcels lyon")
        .await;
    browser.click("#knowledge-search button[type=submit]").await;
    browser
        .wait_text("#knowledge-search .chunk", "guide.md · Shipping")
        .await;
    snap(browser, "knowledge").await;
}

/// A knowledge tool in the tool form: no folder ticked is refused at the picker. The tool as
/// stored.
async fn make_a_knowledge_tool_in_the_form(lab: &Lab) -> serde_json::Value {
    let browser = &lab.browser;
    lab.goto("/lab/tools/new").await;
    choose(browser, ".tool-form [data-field=type] select", "knowledge").await;
    browser.find("#folder-picker input[type=checkbox]").await;
    browser
        .type_into(".tool-form [data-field=name] input", "help_center")
        .await;
    browser
        .type_into(
            ".tool-form [data-field=description] textarea",
            "Search the help center for returns, refunds and shipping",
        )
        .await;
    browser.click(".tool-form button[type=submit]").await;
    let error = browser
        .wait_text(".tool-form #folder-picker .field-error", "folder")
        .await;
    assert!(error.contains("1 to 20"), "{error}");
    browser.click("#folder-picker input[type=checkbox]").await;
    browser.click(".tool-form button[type=submit]").await;
    browser.wait_text("#flash", "Created help_center").await;
    let (_, tools) = lab.org.get(&lab.app, "/v1/tools").await;
    let tool = tools["data"][0].clone();
    let folder = browser.eval("return location.pathname", json!([])).await;
    assert!(
        folder.as_str().unwrap().starts_with("/lab/tools/"),
        "{folder}"
    );
    assert_eq!(tool["subtype"], "knowledge");
    assert_eq!(tool["limit"], 5);
    assert_eq!(tool["documentFolderIds"].as_array().unwrap().len(), 1);
    browser
        .find("#folder-picker input[type=checkbox]:checked")
        .await;
    snap(browser, "tool-knowledge").await;
    tool
}

/// A persona talking through the fake LLM, with the knowledge tool; its id.
async fn a_persona_with_the_tool(lab: &Lab, fake: &FakeLlm, tool: &serde_json::Value) -> String {
    let (app, org) = (&lab.app, &lab.org);
    let llm_id = llm_at(app, org, fake).await;
    let (status, persona) = org
        .post(
            app,
            "/v1/personas",
            &json!({"name": "Support", "systemPrompt": "Answer from the help center.",
                    "llmId": llm_id, "toolIds": [tool["id"]]}),
        )
        .await;
    assert_eq!(status, 201, "{persona}");
    persona["id"].as_str().unwrap().to_owned()
}

/// The Playground: the LLM calls the tool, its card shows the chunks it found.
async fn the_playground_shows_the_chunks_found(lab: &Lab, persona_id: &str) {
    let browser = &lab.browser;
    lab.goto(&format!("/lab/playground/{persona_id}")).await;
    browser.click("#start-session").await;
    browser.wait_text(".playground", "Live").await;
    browser
        .type_into("#message", "How long does a refund take?")
        .await;
    browser.press(keys::ENTER).await;
    browser
        .wait_text(
            "#conversation",
            "Refunds are paid within 14 days to the original card.",
        )
        .await;
    let card = browser
        .wait_text(
            "#conversation .tool-card[data-status=completed]",
            "guide.md",
        )
        .await;
    for shown in [
        "help_center",
        "refund delay",
        "#1",
        "guide.md · Returns > Refunds",
        "14 days",
    ] {
        assert!(card.contains(shown), "{shown} in {card}");
    }
    browser
        .wait_for(
            "the end of the turn",
            "return document.getElementById('turn-status').textContent === ''",
            json!([]),
        )
        .await;
    snap_at(
        browser,
        "playground-knowledge",
        Some("#conversation .tool-card"),
    )
    .await;
}

/// The session's page shows the call's chunks the same way, not its JSON.
async fn the_session_page_shows_them_too(lab: &Lab) {
    let (status, sessions) = lab.org.get(&lab.app, "/v1/sessions?perPage=1").await;
    assert_eq!(status, 200, "{sessions}");
    let session_id = sessions["data"][0]["id"].as_str().unwrap();
    lab.goto(&format!("/lab/sessions/{session_id}")).await;
    let card = lab
        .browser
        .wait_text("#session-detail .tool-card", "guide.md · Returns > Refunds")
        .await;
    assert!(card.contains("#1") && card.contains("14 days"), "{card}");
    assert!(!card.contains("\"results\""), "raw JSON shown: {card}");
}
