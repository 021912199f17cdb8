//! What the OpenAPI document promises, and answers found by contract-testing it with
//! schemathesis (scripts/api-check) that the server got wrong.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::TestApp;

async fn document(app: &TestApp) -> Value {
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Every operation of the document, as (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            found.push((method.to_uppercase(), path.clone(), operation.clone()));
        }
    }
    found
}

#[tokio::test]
async fn every_operation_has_its_own_id_and_every_body_a_schema() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let mut ids = HashSet::new();
    for (method, path, operation) in operations(&doc) {
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{method} {path} has no operationId");
        assert!(
            ids.insert(id.to_owned()),
            "{method} {path}: operationId {id} is taken"
        );
        if let Some(body) = operation.get("requestBody") {
            // JSON, or a file upload's form and raw body: each a named schema.
            for (media, content) in body["content"].as_object().unwrap() {
                let schema = &content["schema"];
                assert!(
                    schema.get("$ref").is_some(),
                    "{method} {path}: the {media} request body is not a named schema: {schema}"
                );
            }
        }
        for (status, response) in operation["responses"].as_object().unwrap() {
            // A shared answer is a reference into `components.responses`.
            let response = match response["$ref"].as_str() {
                Some(to) => {
                    let name = to.trim_start_matches("#/components/responses/");
                    &doc["components"]["responses"][name]
                }
                None => response,
            };
            let content = response["content"].as_object();
            match status.as_str() {
                "204" => assert!(content.is_none(), "{method} {path}: 204 with a body"),
                // MCP's transport answers an accepted notification 202 with no body at all.
                "202" if path.starts_with("/v1/mcp/") => {
                    assert!(content.is_none(), "{method} {path}: 202 with a body");
                }
                s if s.starts_with('2') => {
                    let content =
                        content.unwrap_or_else(|| panic!("{method} {path}: {s} has no body"));
                    assert!(
                        content.contains_key("application/json")
                            || content.contains_key("text/event-stream"),
                        "{method} {path}: {s}"
                    );
                }
                s => {
                    // Every error is a problem document.
                    let content =
                        content.unwrap_or_else(|| panic!("{method} {path}: {s} has no body"));
                    assert!(
                        content.contains_key("application/problem+json"),
                        "{method} {path}: {s} is not a problem document"
                    );
                }
            }
        }
    }
    assert_eq!(ids.len(), operations(&doc).len());
    for id in [
        "createTool",
        "listTools",
        "getTool",
        "replaceTool",
        "updateTool",
        "deleteTool",
        "issueSessionToken",
        "startSession",
        "runToolCall",
    ] {
        assert!(ids.contains(id), "{id} is missing");
    }
}

#[tokio::test]
async fn the_last_possible_page_is_empty_rather_than_an_error() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    for list in ["/v1/tools", "/v1/personas", "/v1/api-keys"] {
        let (status, body) = org
            .get(&app, &format!("{list}?page=9223372036854775807&perPage=1"))
            .await;
        assert_eq!(status, StatusCode::OK, "{list}: {body}");
        assert_eq!(body["data"], json!([]), "{list}");
        assert_eq!(body["meta"]["currentPage"], json!(i64::MAX), "{list}");
        assert_eq!(body["meta"]["next"], Value::Null, "{list}");
    }
}

#[tokio::test]
async fn a_whole_number_written_with_a_fraction_is_taken_as_an_integer() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let tool = json!({
        "type": "client", "name": "show_card", "description": "Shows a card",
        "awaitResult": true, "resultTimeoutSeconds": 30.0
    });
    let (status, body) = org.post(&app, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["resultTimeoutSeconds"], json!(30));
    // Too large is a broken rule naming the field, as for any integer out of range.
    let tool = json!({
        "type": "client", "name": "show_card_2", "description": "Shows a card",
        "resultTimeoutSeconds": 60588220.0
    });
    let (status, body) = org.post(&app, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "resultTimeoutSeconds");
}

#[tokio::test]
async fn an_unknown_field_is_refused_in_an_update_even_when_null() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (_, tool) = org
        .post(&app, "/v1/tools", &crate::tools::webhook("lookup"))
        .await;
    let (_, persona) = org
        .post(
            &app,
            "/v1/personas",
            &json!({"name": "Support", "description": "Helps"}),
        )
        .await;
    let tool = format!("/v1/tools/{}", tool["id"].as_str().unwrap());
    let persona = format!("/v1/personas/{}", persona["id"].as_str().unwrap());
    for path in [&tool, &persona] {
        for sent in [json!({"colour": null}), json!({"descripton": null})] {
            let (status, body) = org.patch(&app, path, &sent).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path} {sent}: {body}"
            );
            let field = sent.as_object().unwrap().keys().next().unwrap().clone();
            assert_eq!(body["errors"][0]["field"], json!(field), "{body}");
            let (status, _) = org.put(&app, path, &sent).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {sent}");
        }
    }
    let (_, body) = org
        .patch(&app, &persona, &json!({"descripton": null}))
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean \"description\""),
        "{body}"
    );
    // A field that exists is still cleared by null.
    let (status, body) = org
        .patch(&app, &persona, &json!({"description": null}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["description"], Value::Null);
}

/// A path id is read before the body: an id that names nothing (here not even a UUID) is the
/// documented 404 naming the resource, whatever is also wrong with the body (alone, each would
/// be a 400, 413 or 422).
#[tokio::test]
async fn a_malformed_path_id_is_the_documented_404_whatever_the_body() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let doc = document(&app).await;
    let (session_id, _) = crate::harness::session(&app, &org, json!({"name": "Guide"})).await;
    let routes = [
        ("PUT", "/v1/tools/{id}", "/v1/tools/nope", "tool"),
        ("PATCH", "/v1/tools/{id}", "/v1/tools/nope", "tool"),
        ("POST", "/v1/tools/{id}/test", "/v1/tools/nope/test", "tool"),
        ("PUT", "/v1/personas/{id}", "/v1/personas/nope", "persona"),
        ("PATCH", "/v1/personas/{id}", "/v1/personas/nope", "persona"),
        ("PUT", "/v1/llms/{id}", "/v1/llms/nope", "LLM"),
        ("PATCH", "/v1/llms/{id}", "/v1/llms/nope", "LLM"),
        (
            "POST",
            "/v1/sessions/{id}/tool-calls",
            "/v1/sessions/nope/tool-calls",
            "session",
        ),
        (
            "POST",
            "/v1/mcp/personas/{id}",
            "/v1/mcp/personas/nope",
            "persona",
        ),
        (
            "POST",
            "/v1/sessions/{id}/messages",
            "/v1/sessions/nope/messages",
            "session",
        ),
        (
            "POST",
            "/v1/sessions/{id}/tool-calls/{toolCallId}/result",
            "/v1/sessions/nope/tool-calls/call_1/result",
            "session",
        ),
    ];
    let too_large = format!("\"{}\"", "x".repeat(hookline_core::http::MAX_BODY_BYTES));
    let bodies = [
        ("not JSON", "{".to_owned()),
        ("not an object", "[1]".to_owned()),
        ("too large", too_large),
    ];
    let send = |method: &str, path: &str, body: &str| {
        app.client
            .request(method.parse().unwrap(), app.url(path))
            .bearer_auth(&org.key)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
    };
    for (method, template, path, what) in routes {
        let documented = &doc["paths"][template][method.to_lowercase()]["responses"]["404"];
        assert!(documented.is_object(), "{method} {template} lists no 404");
        for (wrong, body) in &bodies {
            let response = send(method, path, body).await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::NOT_FOUND,
                "{method} {path} with a body {wrong}"
            );
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
            let problem: Value = response.json().await.unwrap();
            assert_eq!(
                problem["detail"],
                format!("{what} not found"),
                "{method} {path}"
            );
        }
    }
    // A caller's call id may be any string, but one holding U+0000 names no call: read from the
    // path before the body's fields (the body's JSON itself is read first, by its extractor).
    let path = format!("/v1/sessions/{session_id}/tool-calls/call%00x/result");
    let response = send("POST", &path, "[1]").await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["detail"], "client tool call not found");
}

/// The persona's fields are one struct flattened into each body that holds them; the document
/// still shows each body as one object that refuses unknown fields, and the server refuses them,
/// naming the field.
#[tokio::test]
async fn an_unknown_persona_field_is_refused_and_documented_as_refused() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let doc = document(&app).await;
    let schemas = &doc["components"]["schemas"];
    for name in [
        "PersonaInput",
        "PersonaPatch",
        "EphemeralPersonaConfig",
        "PersonaView",
    ] {
        let schema = &schemas[name];
        assert_eq!(schema["type"], "object", "{name}: {schema}");
        assert!(schema.get("allOf").is_none(), "{name}: {schema}");
        for field in [
            "name",
            "description",
            "systemPrompt",
            "llmId",
            "voiceId",
            "toolIds",
        ] {
            assert!(
                schema["properties"].get(field).is_some(),
                "{name} has no {field}"
            );
        }
        let closed = name != "PersonaView";
        assert_eq!(
            schema.get("additionalProperties") == Some(&json!(false)),
            closed,
            "{name}: {schema}"
        );
    }
    assert_eq!(
        schemas["PersonaView"]["required"].as_array().unwrap().len(),
        6
    );
    assert_eq!(schemas["PersonaInput"]["required"], json!(["name"]));
    assert_eq!(
        schemas["PersonaInput"]["properties"]["systemPrompt"]["maxLength"],
        100_000
    );

    let (status, body) = org
        .post(
            &app,
            "/v1/personas",
            &json!({"name": "Support", "voiceID": "v1"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(crate::harness::error_fields(&body), ["voiceID"]);
    let (status, body) = org
        .post(
            &app,
            "/v1/auth/session-token",
            &json!({"personaConfig": {"name": "Guide", "systemPromt": "Be brief"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        crate::harness::error_fields(&body),
        ["personaConfig.systemPromt"]
    );
}
