//! Organizations never see each other, and credentials are checked on every route.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{error_fields, TestApp};
use crate::tools::webhook;

#[tokio::test]
async fn another_organization_gets_404_on_every_route() {
    let app = TestApp::spawn().await;
    let acme = app.org("acme").await;
    let rival = app.org("rival").await;
    let (_, tool) = acme.post(&app, "/v1/tools", &webhook("check_order")).await;
    let tool_id = tool["id"].as_str().unwrap();
    let (_, persona) = acme
        .post(
            &app,
            "/v1/personas",
            &json!({"name": "P", "toolIds": [tool_id]}),
        )
        .await;
    let persona_id = persona["id"].as_str().unwrap();
    let (_, key) = acme
        .post(&app, "/v1/api-keys", &json!({"name": "second"}))
        .await;
    let key_id = key["id"].as_str().unwrap();
    let (_, rival_tool) = rival.post(&app, "/v1/tools", &webhook("mine")).await;
    let (_, rival_persona) = rival
        .post(&app, "/v1/personas", &json!({"name": "R"}))
        .await;

    let body = json!({"description": "taken over"});
    let routes = [
        (Method::GET, format!("/v1/tools/{tool_id}")),
        (Method::PUT, format!("/v1/tools/{tool_id}")),
        (Method::PATCH, format!("/v1/tools/{tool_id}")),
        (Method::DELETE, format!("/v1/tools/{tool_id}")),
        (Method::GET, format!("/v1/personas/{persona_id}")),
        (Method::PUT, format!("/v1/personas/{persona_id}")),
        (Method::PATCH, format!("/v1/personas/{persona_id}")),
        (Method::DELETE, format!("/v1/personas/{persona_id}")),
        (
            Method::POST,
            format!(
                "/v1/personas/{persona_id}/tools/{}",
                rival_tool["id"].as_str().unwrap()
            ),
        ),
        (
            Method::POST,
            format!(
                "/v1/personas/{}/tools/{tool_id}",
                rival_persona["id"].as_str().unwrap()
            ),
        ),
        (
            Method::DELETE,
            format!(
                "/v1/personas/{}/tools/{tool_id}",
                rival_persona["id"].as_str().unwrap()
            ),
        ),
        (Method::DELETE, format!("/v1/api-keys/{key_id}")),
    ];
    for (method, path) in routes {
        let (status, problem) = app
            .call(method.clone(), &path, Some(&rival.key), Some(&body))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(problem["status"], 404);
    }
    // A path id that is not a UUID is a 404 too.
    let (status, _) = rival.get(&app, "/v1/tools/not-a-uuid").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Nothing of acme's shows in rival's lists, and acme's things are intact.
    let (_, list) = rival.get(&app, "/v1/tools").await;
    assert_eq!(list["meta"]["total"], 1);
    let (_, still) = acme.get(&app, &format!("/v1/tools/{tool_id}")).await;
    assert_eq!(
        still,
        tool.as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("usageCount".into(), json!(1));
                serde_json::Value::Object(o)
            })
            .unwrap()
    );
    // Another organization's tool id in a body is a 422 naming it.
    let (status, problem) = rival
        .post(
            &app,
            "/v1/personas",
            &json!({"name": "X", "toolIds": [rival_tool["id"], tool_id]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&problem), ["toolIds[1]"]);
}

#[tokio::test]
async fn credentials_are_required_and_revocation_is_immediate() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (status, problem) = app.call(Method::GET, "/v1/tools", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem["status"], 401);
    let (status, _) = app
        .call(Method::GET, "/v1/tools", Some("hk_unknown"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, created) = org
        .post(&app, "/v1/api-keys", &json!({"name": "temp"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let temp = created["key"].as_str().unwrap().to_owned();
    assert!(temp.starts_with("hk_"));
    let (status, _) = app.call(Method::GET, "/v1/tools", Some(&temp), None).await;
    assert_eq!(status, StatusCode::OK);

    let (_, keys) = org.get(&app, "/v1/api-keys").await;
    assert_eq!(keys["meta"]["total"], 2);
    let (_, found) = org.get(&app, "/v1/api-keys?search=TEM").await;
    assert_eq!(found["meta"]["total"], 1);
    assert_eq!(found["data"][0]["name"], "temp");
    assert!(
        !keys.to_string().contains(&temp[3..]),
        "a listed key shows its secret"
    );

    let (status, _) = org
        .delete(
            &app,
            &format!("/v1/api-keys/{}", created["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.call(Method::GET, "/v1/tools", Some(&temp), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = org
        .post(&app, "/v1/api-keys", &json!({"nmae": "typo"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["nmae"]);
}

#[tokio::test]
async fn a_used_key_shows_when_it_was_last_used() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let mut made = Vec::new();
    for name in ["used", "idle"] {
        let (status, created) = org.post(&app, "/v1/api-keys", &json!({"name": name})).await;
        assert_eq!(status, StatusCode::CREATED);
        made.push(created);
    }
    let (_, listed) = org.get(&app, "/v1/api-keys?search=used").await;
    assert_eq!(listed["data"][0]["lastUsedAt"], serde_json::Value::Null);
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let used = made[0]["key"].as_str().unwrap();
    for _ in 0..3 {
        let (status, _) = app.call(Method::GET, "/v1/tools", Some(used), None).await;
        assert_eq!(status, StatusCode::OK);
    }
    // Written off the request path: give it a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let keys = loop {
        let (_, keys) = org.get(&app, "/v1/api-keys").await;
        let by_name = |name: &str| {
            keys["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["name"] == name)
                .unwrap()
                .clone()
        };
        if !by_name("used")["lastUsedAt"].is_null() {
            break keys;
        }
        assert!(std::time::Instant::now() < deadline, "never set: {keys}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let data = keys["data"].as_array().unwrap();
    let at = |name: &str| data.iter().find(|k| k["name"] == name).unwrap()["lastUsedAt"].clone();
    let used_at: chrono::DateTime<chrono::Utc> = serde_json::from_value(at("used")).unwrap();
    assert!(
        used_at > before && used_at <= chrono::Utc::now(),
        "{used_at}"
    );
    assert_eq!(at("idle"), serde_json::Value::Null);
}
