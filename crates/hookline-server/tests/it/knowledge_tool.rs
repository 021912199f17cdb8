//! Knowledge tools: a persona's LLM searches the organization's documents with `query` and
//! answers from the chunks; checked through the tool API, `/tool-calls` and a conversation.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::conversations::{all_events, say, talkative};
use crate::engine::call;
use crate::fake_llm::{call as llm_call, Answer, FakeLlm, Say};
use crate::harness::{error_fields, session, Org, TestApp};

pub(crate) const GUIDE: &str = "# Returns\n\nWe accept returns of unused items.\n\n## Refunds\n\n\
    Refunds are paid within 14 days to the original card.\n\n# Shipping\n\nParcels leave our \
    warehouse in Lyon every weekday.\n";
/// Another organization's document that answers the same question otherwise.
const RIVAL: &str = "# Refunds\n\nRefunds are paid within 3 days, in store credit only.\n";

/// A folder holding one document, once the document is ready.
pub(crate) async fn folder_with(
    app: &TestApp,
    org: &Org,
    name: &str,
    file: &str,
    text: &str,
) -> String {
    let (status, folder) = org
        .post(app, "/v1/knowledge/folders", &json!({"name": name}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{folder}");
    let id = folder["id"].as_str().unwrap().to_owned();
    let response = app
        .client
        .post(app.url(&format!(
            "/v1/knowledge/folders/{id}/documents?filename={file}"
        )))
        .bearer_auth(&org.key)
        .header("content-type", "text/markdown")
        .body(text.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let doc: Value = response.json().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, now) = org
            .get(
                app,
                &format!("/v1/knowledge/documents/{}", doc["id"].as_str().unwrap()),
            )
            .await;
        if now["status"] == "ready" {
            break;
        }
        assert_eq!(now["status"], "processing", "{now}");
        assert!(tokio::time::Instant::now() < deadline, "{now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    id
}

/// The session's call log once no call in it is still running (answered calls are written to it
/// off the answer's path, within a moment).
async fn call_log(app: &TestApp, org: &Org, session_id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, logged) = org
            .get(app, &format!("/v1/sessions/{session_id}/tool-calls"))
            .await;
        assert_eq!(status, StatusCode::OK, "{logged}");
        let running = logged["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["status"] == "running");
        if !running {
            return logged;
        }
        assert!(tokio::time::Instant::now() < deadline, "{logged}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn help_center(folders: &[&str]) -> Value {
    json!({"type": "server", "subtype": "knowledge", "name": "help_center",
           "description": "Search the help center for policies (returns, refunds, shipping)",
           "documentFolderIds": folders, "limit": 3})
}

#[tokio::test]
async fn a_knowledge_tool_names_only_folders_of_its_organization() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let other = app.org("globex").await;
    let ours = folder_with(&app, &org, "Help", "guide.md", GUIDE).await;
    let theirs = folder_with(&app, &other, "Help", "rival.md", RIVAL).await;

    // Another organization's folder and one that does not exist get the same answer.
    for foreign in [theirs.as_str(), "0190f0f0-0000-7000-8000-000000000000"] {
        let (status, body) = org
            .post(&app, "/v1/tools", &help_center(&[&ours, foreign]))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(error_fields(&body), ["documentFolderIds[1]"]);
    }
    let (status, body) = org
        .post(
            &app,
            "/v1/tools",
            &json!({"type": "server", "subtype": "knowledge", "name": "kb", "description": "d",
                    "documentFolderIds": [], "limit": 21, "url": "https://example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["documentFolderIds", "limit", "url"]);

    // A saved one is shown with its own fields only, and exported with one parameter, `query`.
    let (status, tool) = org.post(&app, "/v1/tools", &help_center(&[&ours])).await;
    assert_eq!(status, StatusCode::CREATED, "{tool}");
    let mut shown = tool.clone();
    for key in ["id", "createdAt", "updatedAt", "usageCount"] {
        shown.as_object_mut().unwrap().remove(key);
    }
    assert_eq!(shown, help_center(&[&ours]));
    let path = format!("/v1/tools/{}", tool["id"].as_str().unwrap());
    let (status, body) = org
        .patch(&app, &path, &json!({"documentFolderIds": [ours, theirs]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["documentFolderIds[1]"]);
    let (status, body) = org.patch(&app, &path, &json!({"limit": null})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("limit").is_none(), "{body}");

    let (session_id, _) = session(&app, &org, json!({"name": "T", "toolIds": [tool["id"]]})).await;
    let (status, exported) = org
        .get(&app, &format!("/v1/sessions/{session_id}/tools?format=mcp"))
        .await;
    assert_eq!(status, StatusCode::OK, "{exported}");
    assert_eq!(exported["tools"][0]["name"], "help_center");
    assert_eq!(
        exported["tools"][0]["inputSchema"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["query"]
    );
    assert_eq!(
        exported["tools"][0]["inputSchema"]["required"],
        json!(["query"])
    );

    // An ephemeral persona's knowledge tool is checked when its session token is asked for.
    let (status, body) = org
        .post(
            &app,
            "/v1/auth/session-token",
            &json!({"personaConfig": {"name": "T", "tools": [help_center(&[&theirs])]}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        error_fields(&body),
        ["personaConfig.tools[0].documentFolderIds[0]"]
    );
    session(
        &app,
        &org,
        json!({"name": "T", "tools": [help_center(&[&ours])]}),
    )
    .await;
}

#[tokio::test]
async fn a_knowledge_call_returns_its_organizations_chunks_with_their_sources() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let other = app.org("globex").await;
    let ours = folder_with(&app, &org, "Help", "guide.md", GUIDE).await;
    // The same words in another organization's folder: never found by acme's tool.
    folder_with(&app, &other, "Help", "rival.md", RIVAL).await;
    let (session_id, _) = session(
        &app,
        &org,
        json!({"name": "T", "tools": [help_center(&[&ours])]}),
    )
    .await;

    let (status, body) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "help_center", "toolCallId": "k1",
               "arguments": {"query": "how long do refunds take"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "completed", "{body}");
    let results = body["result"]["results"].as_array().unwrap();
    assert!(!results.is_empty() && results.len() <= 3, "{body}");
    assert!(
        results[0]["content"].as_str().unwrap().contains("14 days"),
        "{body}"
    );
    assert_eq!(results[0]["filename"], "guide.md");
    assert_eq!(
        results[0]["source"],
        json!({"heading": "Returns > Refunds"})
    );
    assert!(results[0]["score"].as_f64().unwrap() > 0.0);
    assert!(!body.to_string().contains("3 days"), "{body}");

    // The call log keeps it as any other call.
    let logged = call_log(&app, &org, &session_id).await;
    let entry = &logged["data"][0];
    assert_eq!(entry["toolCallId"], "k1");
    assert_eq!(entry["toolType"], "server");
    assert_eq!(entry["status"], "completed");
    assert_eq!(entry["result"], body["result"]);

    // Arguments other than a query are refused as any tool's are.
    let (status, body) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "help_center", "arguments": {"q": "refunds"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["error"]["kind"], "invalid_arguments", "{body}");

    // A folder deleted since the session began: the call fails and says why.
    let (status, _) = org
        .delete(&app, &format!("/v1/knowledge/folders/{ours}?force=true"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "help_center", "arguments": {"query": "refunds"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "failed", "{body}");
    assert_eq!(body["error"]["kind"], "tool_error", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&ours) && message.contains("no longer exist"),
        "{message}"
    );
}

#[tokio::test]
async fn the_llm_answers_from_a_chunk_its_knowledge_tool_found() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let ours = folder_with(&app, &org, "Help", "guide.md", GUIDE).await;
    let fake = FakeLlm::start().await;
    fake.then(Answer::openai(vec![llm_call(
        "call_kb1",
        "help_center",
        r#"{"query": "refund delay"}"#,
    )]))
    .then(Answer::openai(vec![Say::Text(
        "Refunds are paid within 14 days to the original card.",
    )]));
    let (session_id, _) = talkative(&app, &org, &fake, "openai", &[help_center(&[&ours])]).await;

    let turn = say(&app, &org, &session_id, "How long does a refund take?").await;
    assert!(
        turn["reply"]["content"]
            .as_str()
            .unwrap()
            .contains("14 days"),
        "{turn}"
    );
    assert_eq!(turn["toolCalls"][0]["toolName"], "help_center");
    assert_eq!(turn["toolCalls"][0]["status"], "completed");

    // The LLM was offered one parameter and given the chunk with its source.
    let sent = fake.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].body["tools"][0]["function"]["parameters"]["required"],
        json!(["query"])
    );
    let given: Value =
        serde_json::from_str(sent[1].body["messages"][3]["content"].as_str().unwrap()).unwrap();
    assert_eq!(given["results"][0]["filename"], "guide.md");
    assert_eq!(
        given["results"][0]["source"]["heading"],
        "Returns > Refunds"
    );
    assert!(given["results"][0]["content"]
        .as_str()
        .unwrap()
        .contains("14 days"));

    // What the user sees: the call log entry and the tool-call events.
    let logged = call_log(&app, &org, &session_id).await;
    let entry = &logged["data"][0];
    assert_eq!(entry["toolCallId"], "call_kb1");
    assert_eq!(entry["arguments"], json!({"query": "refund delay"}));
    assert_eq!(entry["result"], given);
    let events = all_events(&app, &org, &session_id).await;
    let started = events
        .iter()
        .find(|e| e.event == "toolCallStarted")
        .expect("toolCallStarted");
    assert_eq!(started.data["toolSubtype"], "knowledge");
    assert_eq!(started.data["arguments"], json!({"query": "refund delay"}));
    let completed = events
        .iter()
        .find(|e| e.event == "toolCallCompleted")
        .expect("toolCallCompleted");
    assert_eq!(completed.data["toolCallId"], "call_kb1");
    assert_eq!(completed.data["result"], given);
}

#[tokio::test]
async fn a_knowledge_tools_answer_is_cut_to_the_setting() {
    let mut raw = crate::harness::raw_settings();
    raw.knowledge_tool_result_bytes = 1024;
    let app = TestApp::spawn_with(raw).await;
    let org = app.org("acme").await;
    // Twenty sections, each a chunk of its own about refunds.
    let text: String = (1..=20)
        .map(|i| {
            format!(
                "# Refunds {i}\n\nRefund rule {i}: {}\n\n",
                "refunds are paid. ".repeat(20)
            )
        })
        .collect();
    let ours = folder_with(&app, &org, "Help", "rules.md", &text).await;
    let mut tool = help_center(&[&ours]);
    tool["limit"] = json!(20);
    let (session_id, _) = session(&app, &org, json!({"name": "T", "tools": [tool]})).await;
    let (_, body) = call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "help_center", "arguments": {"query": "refunds"}}),
    )
    .await;
    assert_eq!(body["status"], "completed", "{body}");
    assert!(body["result"].to_string().len() <= 1024, "{body}");
    let kept = body["result"]["results"].as_array().unwrap().len();
    assert!((1..20).contains(&kept), "{body}");
    let logged = call_log(&app, &org, &session_id).await;
    assert_eq!(logged["data"][0]["truncated"], true, "{logged}");
}
