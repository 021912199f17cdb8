//! `/v1/tools` through HTTP.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{error_fields, TestApp};

pub const SEED_TOOLS: [&str; 5] = [
    include_str!("../../../../examples/tools/check_order_status.json"),
    include_str!("../../../../examples/tools/create_support_ticket.json"),
    include_str!("../../../../examples/tools/update_contact_info.json"),
    include_str!("../../../../examples/tools/get_weather.json"),
    include_str!("../../../../examples/tools/check_product_availability.json"),
];

/// A webhook tool definition with the given name.
pub fn webhook(name: &str) -> Value {
    json!({
        "type": "server", "subtype": "webhook", "name": name,
        "description": "Check an order", "url": "https://api.example.com/orders/{orderId}",
        "method": "GET", "headers": {"Authorization": "Bearer sk_live_abcdefgh1234", "X-Short": "abc"},
        "parameters": {"type": "object", "properties": {"orderId": {"type": "string"}}, "required": ["orderId"]}
    })
}

#[tokio::test]
async fn seed_tools_are_created_verbatim_and_read_back_masked() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    for text in SEED_TOOLS {
        let sent: Value = serde_json::from_str(text).unwrap();
        // Sent as the raw text of the seed, byte for byte.
        let response = app
            .client
            .post(app.url("/v1/tools"))
            .bearer_auth(&org.key)
            .body(text)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{}", sent["name"]);
        let created: Value = response.json().await.unwrap();
        let id = created["id"].as_str().unwrap();
        let (status, read) = org.get(&app, &format!("/v1/tools/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(read, created);
        for key in [
            "type",
            "subtype",
            "name",
            "description",
            "url",
            "method",
            "parameters",
            "awaitResponse",
        ] {
            assert_eq!(read[key], sent[key], "{key}");
        }
        // Key order is kept as written (an LLM reads a schema's properties in that order).
        assert_eq!(
            read["parameters"].to_string(),
            sent["parameters"].to_string()
        );
        assert_eq!(read["timeoutSeconds"], 60);
        assert_eq!(read["usageCount"], 0);
        for (name, value) in sent["headers"].as_object().unwrap() {
            let shown = read["headers"][name].as_str().unwrap();
            let value = value.as_str().unwrap();
            let expected = if value.chars().count() >= 12 {
                format!("••••{}", &value[value.len() - 4..])
            } else {
                "••••".to_owned()
            };
            assert_eq!(shown, expected, "{name}");
        }
    }
    // No header value is stored in plain text anywhere in the database.
    let dump = crate::harness::dump_database(&app.pool).await;
    for text in SEED_TOOLS {
        let sent: Value = serde_json::from_str(text).unwrap();
        for value in sent["headers"].as_object().unwrap().values() {
            let value = value.as_str().unwrap();
            if value == "application/json" {
                continue; // also a word of the definitions themselves
            }
            assert!(!dump.contains(value), "{value} stored in plain text");
        }
    }
}

#[tokio::test]
async fn every_broken_field_is_listed() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (status, body) = org
        .post(
            &app,
            "/v1/tools",
            &json!({
                "type": "server", "subtype": "webhook", "name": "Bad Name", "description": "",
                "url": "ftp://x", "method": "FETCH", "timeoutSeconds": 99, "awaitRespose": false
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error_fields(&body),
        [
            "name",
            "description",
            "url",
            "method",
            "timeoutSeconds",
            "awaitRespose"
        ]
    );
    assert!(body["errors"][5]["message"]
        .as_str()
        .unwrap()
        .contains("awaitResponse"));

    let (status, body) = org
        .post(&app, "/v1/tools", &json!({"type": "server", "subtype": "webhook", "name": 7, "description": "d", "url": "https://x.com", "awaitResponse": "yes"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_fields(&body), ["name", "awaitResponse"]);

    // A required field missing is a 422 (as the contract says), whatever is wrong beside it;
    // every problem is still listed.
    let (status, body) = org
        .post(&app, "/v1/tools", &json!({"type": "server", "name": "check_order_status", "description": "d", "url": "https://x.com", "awaitResponse": "yes"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["subtype", "awaitResponse"]);
}

#[tokio::test]
async fn bad_bodies_are_problem_documents() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let send = |body: Vec<u8>| {
        app.client
            .post(app.url("/v1/tools"))
            .bearer_auth(&org.key)
            .header("content-type", "text/plain")
            .body(body)
            .send()
    };
    let response = send(b"{not json".to_vec()).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let response = send(vec![b' '; 1024 * 1024 + 10]).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    // Any content type is read as JSON.
    let response = send(serde_json::to_vec(&webhook("plain_text_type")).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn duplicate_names_conflict() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (status, _) = org.post(&app, "/v1/tools", &webhook("check_order")).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = org.post(&app, "/v1/tools", &webhook("check_order")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_fields(&body), ["name"]);
    // Another organization may use the same name.
    let other = app.org("other").await;
    let (status, _) = other.post(&app, "/v1/tools", &webhook("check_order")).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn updates_are_partial_and_keep_masked_headers() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (_, created) = org.post(&app, "/v1/tools", &webhook("check_order")).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/v1/tools/{id}");

    let (status, patched) = org
        .patch(
            &app,
            &path,
            &json!({"description": "New words", "timeoutSeconds": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["description"], "New words");
    assert_eq!(patched["timeoutSeconds"], 5);
    assert_eq!(patched["url"], created["url"]);
    assert_eq!(patched["headers"], created["headers"]);

    // Sending the previews back keeps the stored values; a new value replaces; a missing one goes.
    let (status, put) = org
        .put(
            &app,
            &path,
            &json!({"headers": {"Authorization": "••••1234", "X-New": "a-brand-new-value"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        put["headers"],
        json!({"Authorization": "••••1234", "X-New": "••••alue"})
    );
    let stored = crate::harness::open_headers(&app, id).await;
    assert_eq!(
        stored,
        vec![
            (
                "Authorization".to_owned(),
                "Bearer sk_live_abcdefgh1234".to_owned()
            ),
            ("X-New".to_owned(), "a-brand-new-value".to_owned())
        ]
    );

    // null clears an optional field; a broken update changes nothing.
    let (status, cleared) = org
        .patch(&app, &path, &json!({"timeoutSeconds": null}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cleared["timeoutSeconds"], 60);
    let (status, body) = org
        .patch(&app, &path, &json!({"url": "ftp://nope", "name": "Bad"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["name", "url"]);
    let (_, after) = org.get(&app, &path).await;
    assert_eq!(after, cleared);
}

#[tokio::test]
async fn lists_paginate_and_search() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    for i in 0..12 {
        let (status, _) = org
            .post(&app, "/v1/tools", &webhook(&format!("tool_{i:02}")))
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, page) = org.get(&app, "/v1/tools").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["data"].as_array().unwrap().len(), 10);
    assert_eq!(
        page["meta"],
        json!({"total": 12, "lastPage": 2, "currentPage": 1, "perPage": 10, "prev": null, "next": 2})
    );
    let (_, page) = org.get(&app, "/v1/tools?page=2&perPage=10").await;
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["data"][0]["name"], "tool_10");
    assert_eq!(page["meta"]["prev"], 1);
    assert_eq!(page["meta"]["next"], Value::Null);
    // `_` is matched literally: tool_10 and tool_11, not tool01.
    let (_, found) = org.get(&app, "/v1/tools?search=tool_1").await;
    assert_eq!(found["meta"]["total"], 2);
    let (_, found) = org.get(&app, "/v1/tools?search=CHECK%20AN").await;
    assert_eq!(found["meta"]["total"], 12);
    let (status, body) = org.get(&app, "/v1/tools?perPage=101&page=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["page", "perPage"]);
}

#[tokio::test]
async fn deleting_a_tool_in_use_needs_force() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (_, tool) = org.post(&app, "/v1/tools", &webhook("check_order")).await;
    let tool_id = tool["id"].as_str().unwrap();
    let (status, persona) = org
        .post(
            &app,
            "/v1/personas",
            &json!({"name": "Support", "toolIds": [tool_id]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, read) = org.get(&app, &format!("/v1/tools/{tool_id}")).await;
    assert_eq!(read["usageCount"], 1);

    let (status, body) = org.delete(&app, &format!("/v1/tools/{tool_id}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["personas"],
        json!([{"id": persona["id"], "name": "Support"}])
    );

    let (status, _) = org
        .delete(&app, &format!("/v1/tools/{tool_id}?force=true"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = org.get(&app, &format!("/v1/tools/{tool_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, persona) = org
        .get(
            &app,
            &format!("/v1/personas/{}", persona["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(persona["tools"], json!([]));
}

#[tokio::test]
async fn production_refuses_literal_private_addresses_and_plain_http() {
    let app = TestApp::spawn_with(crate::harness::RawSettings {
        allowed_networks: String::new(),
        ..crate::harness::raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    for url in [
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://169.254.169.254/",
        "http://api.example.com/",
    ] {
        let mut tool = webhook("t");
        tool["url"] = json!(url);
        tool.as_object_mut().unwrap().remove("parameters");
        let (status, body) = org.post(&app, "/v1/tools", &tool).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert_eq!(error_fields(&body), ["url"], "{url}");
    }
}

#[tokio::test]
async fn plain_headers_are_shown_in_full_and_the_others_stay_secrets() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let mut tool = webhook("versioned");
    tool["url"] = json!("http://127.0.0.1:9/orders");
    tool["headers"] = json!({"Authorization": "Bearer sk_live_abcdefgh1234",
                             "Content-Type": "application/json; charset=utf-8",
                             "X-Api-Version": "2024-06-01"});
    tool["plainHeaders"] = json!(["content-type", "X-Api-Version"]);
    let (status, created) = org.post(&app, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["headers"],
        json!({"Authorization": "••••1234", "Content-Type": "application/json; charset=utf-8",
               "X-Api-Version": "2024-06-01"})
    );
    // Spelled as in headers.
    assert_eq!(
        created["plainHeaders"],
        json!(["Content-Type", "X-Api-Version"])
    );
    let id = created["id"].as_str().unwrap();

    // The dry run shows them as they will be sent.
    let (status, dry) = org
        .post(
            &app,
            &format!("/v1/tools/{id}/test?dryRun=true"),
            &json!({"arguments": {"orderId": "A1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{dry}");
    let sent = &dry["request"]["headers"];
    assert_eq!(sent["Content-Type"], "application/json; charset=utf-8");
    assert_eq!(sent["X-Api-Version"], "2024-06-01");
    assert_eq!(sent["Authorization"], "••••1234");

    // New headers without plainHeaders: the plain ones still there stay plain.
    let (status, put) = org
        .put(
            &app,
            &format!("/v1/tools/{id}"),
            &json!({"headers": {"Authorization": "••••1234", "Content-Type": "application/json; charset=utf-8"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["plainHeaders"], json!(["Content-Type"]));
    assert_eq!(
        put["headers"]["Content-Type"],
        "application/json; charset=utf-8"
    );
    let stored = crate::harness::open_headers(&app, id).await;
    assert_eq!(stored[0].1, "Bearer sk_live_abcdefgh1234");

    // A stored secret is made plain only with its value sent again: an API key alone cannot
    // read it back by listing it.
    let path = format!("/v1/tools/{id}");
    let (status, body) = org
        .patch(
            &app,
            &path,
            &json!({"plainHeaders": ["Content-Type", "Authorization"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["headers.Authorization"]);
    let (status, body) = org
        .put(
            &app,
            &path,
            &json!({"headers": {"Authorization": "••••1234", "Content-Type": "application/json; charset=utf-8"},
                    "plainHeaders": ["Content-Type", "Authorization"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = org
        .put(
            &app,
            &path,
            &json!({"headers": {"Authorization": "Bearer public-demo-key", "Content-Type": "application/json; charset=utf-8"},
                    "plainHeaders": ["Content-Type", "Authorization"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["headers"]["Authorization"], "Bearer public-demo-key");

    // A name that is not a header, twice, or of the wrong type.
    tool["name"] = json!("other");
    tool["plainHeaders"] = json!(["Accept", "X-Api-Version", "x-api-version"]);
    let (status, body) = org.post(&app, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["plainHeaders[0]", "plainHeaders[2]"]);
    tool["plainHeaders"] = json!("Accept");
    let (status, body) = org.post(&app, "/v1/tools", &tool).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Without plainHeaders every value is a secret, and the field is not shown.
    let (_, plain) = org.post(&app, "/v1/tools", &webhook("unversioned")).await;
    assert!(plain.get("plainHeaders").is_none(), "{plain}");
}
