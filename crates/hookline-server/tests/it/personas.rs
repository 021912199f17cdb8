//! `/v1/personas` through HTTP.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{error_fields, TestApp};
use crate::tools::webhook;

#[tokio::test]
async fn personas_carry_their_tools_in_order() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (_, a) = org.post(&app, "/v1/tools", &webhook("tool_a")).await;
    let (_, b) = org.post(&app, "/v1/tools", &webhook("tool_b")).await;
    let (_, llm) = org
        .post(
            &app,
            "/v1/llms",
            &json!({"name": "gpt", "provider": "openai", "model": "gpt-4o"}),
        )
        .await;
    let (_, c) = org
        .post(
            &app,
            "/v1/tools",
            &json!({"type": "system", "name": "end_call"}),
        )
        .await;
    let (status, persona) = org
        .post(
            &app,
            "/v1/personas",
            &json!({
                "name": "Support", "systemPrompt": "Help", "llmId": llm["id"], "languageCode": "en",
                "toolIds": [b["id"], a["id"]]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{persona}");
    assert_eq!(persona["toolIds"], json!([b["id"], a["id"]]));
    assert_eq!(
        persona["tools"][0],
        json!({"id": b["id"], "name": "tool_b", "type": "server", "subtype": "webhook"})
    );
    let id = persona["id"].as_str().unwrap();

    let (status, attached) = org
        .post(
            &app,
            &format!("/v1/personas/{id}/tools/{}", c["id"].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        attached["tools"][2],
        json!({"id": c["id"], "name": "end_call", "type": "system", "subtype": null})
    );

    let (status, detached) = org
        .delete(
            &app,
            &format!("/v1/personas/{id}/tools/{}", b["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detached["toolIds"], json!([a["id"], c["id"]]));

    let (status, patched) = org
        .patch(
            &app,
            &format!("/v1/personas/{id}"),
            &json!({"systemPrompt": null, "name": "Sales"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["name"], "Sales");
    assert_eq!(patched["systemPrompt"], serde_json::Value::Null);
    assert_eq!(patched["llmId"], llm["id"]);
    assert_eq!(patched["toolIds"], detached["toolIds"]);

    let (_, list) = org.get(&app, "/v1/personas?search=sal").await;
    assert_eq!(list["meta"]["total"], 1);
    assert_eq!(list["data"][0]["tools"].as_array().unwrap().len(), 2);

    let (status, _) = org.delete(&app, &format!("/v1/personas/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, tool) = org
        .get(&app, &format!("/v1/tools/{}", a["id"].as_str().unwrap()))
        .await;
    assert_eq!(tool["usageCount"], 0);
}

#[tokio::test]
async fn persona_rules_are_all_reported() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (status, body) = org
        .post(&app, "/v1/personas", &json!({"name": "", "systemPrompt": "x".repeat(100_001), "toolIds": ["not-a-uuid"], "voice": "x"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_fields(&body),
        ["name", "systemPrompt", "toolIds[0]", "voice"]
    );
    let (status, body) = org
        .post(&app, "/v1/personas", &json!({"description": "no name"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["name"]);
}

#[tokio::test]
async fn a_failed_persona_write_leaves_nothing() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (_, a) = org.post(&app, "/v1/tools", &webhook("tool_a")).await;
    let missing = uuid::Uuid::now_v7();
    let (status, body) = org
        .post(
            &app,
            "/v1/personas",
            &json!({"name": "P", "toolIds": [a["id"], missing]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["toolIds[1]"]);
    let (_, list) = org.get(&app, "/v1/personas").await;
    assert_eq!(list["meta"]["total"], 0);
    let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM persona_tools")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
}
