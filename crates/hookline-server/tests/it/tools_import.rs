//! `POST /v1/tools/import`: OpenAPI documents (a petstore in 3.0 YAML and in 3.1 JSON, and a large
//! real-world one stored in the fixtures) turned into webhook tools through HTTP.

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{dump_database, error_fields, raw_settings, RawSettings, TestApp};

const PETSTORE_30: &str = include_str!("fixtures/openapi/petstore-3.0.yaml");
const PETSTORE_31: &str = include_str!("fixtures/openapi/petstore-3.1.json");
/// OpenAI's public API description (3.1, YAML, ~3 MB; MIT, see openai.LICENSE beside it).
const LARGE: &str = include_str!("fixtures/openapi/openai.yaml");

/// The report's entry for an operation, by its tool name.
fn entry<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no operation named {name} in {report}"))
}

fn statuses(report: &Value) -> Vec<(String, String)> {
    report["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap().to_owned(),
                o["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_petstore_in_openapi_30_yaml_becomes_tools_and_each_refusal_says_why() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (status, report) = org
        .post(&app, "/v1/tools/import", &json!({"openapi": PETSTORE_30}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    assert_eq!(
        statuses(&report),
        [
            ("list_pets".into(), "created".into()),
            ("create_pet".into(), "created".into()),
            ("show_pet_by_id".into(), "created".into()),
            ("delete_pet".into(), "created".into()),
            ("upload_photo".into(), "refused".into()),
        ]
    );
    assert_eq!(
        (&report["created"], &report["refused"], &report["dryRun"]),
        (&json!(4), &json!(1), &json!(false))
    );

    let list = &entry(&report, "list_pets")["tool"];
    assert_eq!(list["url"], "https://eu.pets.example.com/v1/pets");
    assert_eq!(list["method"], "GET");
    assert_eq!(list["description"], "List the pets of the shop");
    assert_eq!(
        list["queryParameters"],
        json!({"type": "object", "properties": {"limit": {
            "type": "integer", "minimum": 1, "maximum": 100,
            "description": "How many pets to list at most"}}})
    );
    assert!(entry(&report, "list_pets")["notes"][0]
        .as_str()
        .unwrap()
        .contains("X-Request-Id"));
    // The body's properties, in JSON Schema words; the read-only id left to the server.
    let create = &entry(&report, "create_pet")["tool"];
    assert_eq!(create["method"], "POST");
    assert_eq!(
        create["parameters"],
        json!({"type": "object", "properties": {
            "name": {"type": "string", "description": "What the pet answers to"},
            "tag": {"type": ["string", "null"]},
            "age": {"type": "integer", "exclusiveMinimum": 0}
        }, "required": ["name"]})
    );
    let show = &entry(&report, "show_pet_by_id")["tool"];
    assert_eq!(show["url"], "https://eu.pets.example.com/v1/pets/{petId}");
    assert_eq!(
        show["description"],
        "Everything the shop knows about one pet"
    );
    assert_eq!(show["parameters"]["required"], json!(["petId"]));
    let photo = entry(&report, "upload_photo");
    assert_eq!(
        error_fields(&json!({"errors": photo["errors"]})),
        ["paths./pets/{petId}/photo.put.requestBody"]
    );
    assert!(photo["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("image/png"));

    // They are tools like any other.
    let (_, tools) = org.get(&app, "/v1/tools").await;
    assert_eq!(tools["meta"]["total"], 4);
    // A second import finds every name taken and creates nothing.
    let (status, again) = org
        .post(&app, "/v1/tools/import", &json!({"openapi": PETSTORE_30}))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["created"], 0);
    assert_eq!(entry(&again, "list_pets")["errors"][0]["field"], "name");
}

#[tokio::test]
async fn a_dry_run_shows_the_drafts_of_a_31_document_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let (status, report) = org
        .post(
            &app,
            "/v1/tools/import?dryRun=true",
            &json!({"openapi": PETSTORE_31, "headers": {"X-Api-Key": "pk_live_0123456789abcdef"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["dryRun"], true);
    assert_eq!(
        statuses(&report),
        [
            ("list_pets".into(), "valid".into()),
            ("create_pet".into(), "valid".into()),
            ("patch_pets_pet_id_family".into(), "valid".into()),
            ("teach_trick".into(), "refused".into()),
            ("list_shop_pets".into(), "refused".into()),
        ]
    );
    let list = &entry(&report, "list_pets")["draft"];
    assert_eq!(list["url"], "https://pets.example.com/v2/pets");
    assert_eq!(list["queryParameters"]["required"], json!(["species"]));
    assert_eq!(list["headers"]["X-Api-Key"], "••••cdef");
    // allOf parts merged into one object of arguments.
    let create = &entry(&report, "create_pet")["draft"];
    assert_eq!(create["parameters"]["required"], json!(["name", "species"]));
    // No operationId: named after method and path; `{pet-id}` made a parameter name; the
    // recursive schema cut where it recurs.
    let family = entry(&report, "patch_pets_pet_id_family");
    assert_eq!(family["operationId"], Value::Null);
    assert_eq!(
        family["draft"]["url"],
        "https://pets.example.com/v2/pets/{pet_id}/family"
    );
    assert_eq!(
        family["draft"]["parameters"]["properties"]["parent"]["description"],
        "The parent, if known"
    );
    assert!(entry(&report, "teach_trick")["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not a JSON object"));
    assert!(entry(&report, "list_shop_pets")["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("nothing is fetched"));
    let (_, tools) = org.get(&app, "/v1/tools").await;
    assert_eq!(tools["meta"]["total"], 0, "a dry run creates nothing");
    assert!(!report.to_string().contains("pk_live"));

    // Only the operations asked for; an unknown one is named.
    let (status, one) = org
        .post(
            &app,
            "/v1/tools/import",
            &json!({"openapi": PETSTORE_31, "operations": ["createPet"],
                    "headers": {"X-Api-Key": "pk_live_0123456789abcdef"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{one}");
    assert_eq!(statuses(&one), [("create_pet".into(), "created".into())]);
    assert!(!dump_database(&app.pool).await.contains("pk_live"));
    let (status, unknown) = org
        .post(
            &app,
            "/v1/tools/import",
            &json!({"openapi": PETSTORE_31, "operations": ["createPet", "adoptPet"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{unknown}");
    assert_eq!(error_fields(&unknown), ["operations[1]"]);
}

#[tokio::test]
async fn documents_that_are_not_openapi_3_or_too_large_are_refused_by_field() {
    let app = TestApp::spawn_with(RawSettings {
        import_max_bytes: 4096,
        import_max_operations: 3,
        ..raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let cases = [
        (
            json!({"openapi": "swagger: '2.0'\npaths: {}"}),
            "openapi.swagger",
        ),
        (
            json!({"openapi": "openapi: 3.0.0\ninfo: {title: x}"}),
            "openapi.paths",
        ),
        (json!({"openapi": "{not json"}), "openapi"),
        (json!({"openapi": "key: [unclosed"}), "openapi"),
        (json!({"openapi": 42}), "openapi"),
        (json!({"openapi": "x".repeat(5000)}), "openapi"),
        (json!({"openapi": PETSTORE_31}), "openapi"),
        (json!({}), "openapi"),
        (
            json!({"openapi": PETSTORE_31, "operation": []}),
            "operation",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = org.post(&app, "/v1/tools/import", &body).await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{status} {problem}"
        );
        assert_eq!(error_fields(&problem), [field], "{problem}");
    }
    // Aliases that would expand to billions of nodes are refused, fast.
    let mut bomb = String::from(
        "openapi: 3.1.0\na: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n",
    );
    for (i, prev) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
        let name = ["b", "c", "d", "e", "f", "g", "h", "i"][i];
        bomb.push_str(&format!("{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    let started = Instant::now();
    let (status, problem) = org
        .post(&app, "/v1/tools/import", &json!({"openapi": bomb}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(started.elapsed().as_secs() < 5);
}

#[tokio::test]
async fn a_large_real_world_document_imports_within_its_bounds() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let started = Instant::now();
    let (status, report) = org
        .post(
            &app,
            "/v1/tools/import?dryRun=true",
            &json!({"openapi": LARGE}),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK, "{report}");
    let operations = report["operations"].as_array().unwrap();
    let valid = report["valid"].as_u64().unwrap();
    let refused = report["refused"].as_u64().unwrap();
    println!(
        "large document: {} bytes, {} operations, {valid} valid, {refused} refused, dry run in {took:?}",
        LARGE.len(),
        operations.len()
    );
    assert_eq!(operations.len(), 288);
    assert_eq!(valid + refused, 288);
    assert!(valid >= 200, "{valid} valid drafts");
    // Every refusal says why, by field.
    for o in operations.iter().filter(|o| o["status"] == "refused") {
        assert!(!o["errors"].as_array().unwrap().is_empty(), "{o}");
    }
    let chat = entry(&report, "create_chat_completion");
    assert_eq!(chat["status"], "valid", "{chat}");
    assert_eq!(
        chat["draft"]["url"],
        "https://api.openai.com/v1/chat/completions"
    );
    assert!(chat["draft"]["parameters"]["properties"]["messages"].is_object());
    // A real import of a part of it creates those tools.
    let (status, some) = org
        .post(
            &app,
            "/v1/tools/import",
            &json!({"openapi": LARGE, "operations": ["listModels", "createChatCompletion"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{some}");
    assert_eq!(some["created"], 2);
}
