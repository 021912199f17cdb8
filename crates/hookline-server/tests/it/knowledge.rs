//! Knowledge folders, document uploads, their processing into chunks and search, through HTTP.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::harness::{error_fields, raw_settings, Org, RawSettings, TestApp};

pub(crate) async fn folder(app: &TestApp, org: &Org, name: &str) -> String {
    let (status, body) = org
        .post(app, "/v1/knowledge/folders", &json!({"name": name}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// A `multipart/form-data` body of `file` fields, as a browser's form sends it.
fn form(files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "hookline-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, content) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) async fn send(
    app: &TestApp,
    org: &Org,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(&org.key)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn upload_form(
    app: &TestApp,
    org: &Org,
    folder: &str,
    files: &[(&str, &[u8])],
) -> (StatusCode, Value) {
    let (content_type, body) = form(files);
    let path = format!("/v1/knowledge/folders/{folder}/documents");
    send(app, org, &path, &content_type, body).await
}

pub(crate) async fn upload_raw(
    app: &TestApp,
    org: &Org,
    folder: &str,
    name: &str,
    content: &[u8],
) -> (StatusCode, Value) {
    let path = format!("/v1/knowledge/folders/{folder}/documents?filename={name}");
    send(app, org, &path, "text/plain", content.to_vec()).await
}

/// The document once it is no longer processing.
pub(crate) async fn processed(app: &TestApp, org: &Org, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, doc) = org.get(app, &format!("/v1/knowledge/documents/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{doc}");
        if doc["status"] != "processing" {
            return doc;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still processing: {doc}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn search(app: &TestApp, org: &Org, query: &str, folders: &[&str]) -> Vec<Value> {
    let (status, body) = org
        .post(
            app,
            "/v1/knowledge/search",
            &json!({"query": query, "folderIds": folders}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["results"].as_array().unwrap().clone()
}

const GUIDE: &str = "# Returns\n\nWe accept returns of unused items.\n\n## Refunds\n\n\
    Refunds are paid within 14 days to the original card.\n\n# Shipping\n\nParcels leave our \
    warehouse in Lyon every weekday.\n";
const PRICES: &str = "sku,name,price\nA1,Oak desk,120\nB2,Brass lamp,45\n";
const LOG: &str = "boot ok\nERROR disk quota exceeded on /var\nshutdown\n";

#[tokio::test]
async fn folders_are_created_listed_renamed_and_deleted() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let id = folder(&app, &org, "Policies").await;
    let (status, body) = org
        .post(&app, "/v1/knowledge/folders", &json!({"name": "Policies"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error_fields(&body), ["name"]);
    let (status, body) = org
        .post(
            &app,
            "/v1/knowledge/folders",
            &json!({"name": " ", "colour": "red"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["name", "colour"]);

    let path = format!("/v1/knowledge/folders/{id}");
    let (status, body) = org
        .patch(&app, &path, &json!({"description": "What we promise"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["name"], &body["description"], &body["documentCount"]),
        (&json!("Policies"), &json!("What we promise"), &json!(0))
    );
    let (status, body) = org.patch(&app, &path, &json!({"name": null})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, page) = org.get(&app, "/v1/knowledge/folders?search=promise").await;
    assert_eq!(page["meta"]["total"], 1);
    assert_eq!(page["data"][0]["id"], id.as_str());

    // Another organization sees none of it.
    let other = app.org("globex").await;
    assert_eq!(other.get(&app, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(other.delete(&app, &path).await.0, StatusCode::NOT_FOUND);

    // A knowledge tool searching the folder keeps it, unless forced.
    let tool_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO tools (id, org_id, name, tool_type, description, definition)
         SELECT $1, org_id, 'policy_search', 'server', 'Search the policies', $2::json
         FROM knowledge_folders WHERE id = $3",
    )
    .bind(tool_id)
    .bind(
        json!({"type": "server", "subtype": "knowledge", "name": "policy_search",
                 "description": "Search the policies", "documentFolderIds": [id]})
        .to_string(),
    )
    .bind(Uuid::parse_str(&id).unwrap())
    .execute(&app.pool)
    .await
    .unwrap();
    let (status, body) = org.delete(&app, &path).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["tools"],
        json!([{"id": tool_id, "name": "policy_search"}])
    );
    let (status, _) = org.delete(&app, &format!("{path}?force=true")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(org.get(&app, &path).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn uploaded_documents_are_processed_into_chunks_and_found() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let id = folder(&app, &org, "Help").await;
    let (status, body) = upload_form(
        &app,
        &org,
        &id,
        &[
            ("guide.md", GUIDE.as_bytes()),
            ("prices.csv", PRICES.as_bytes()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let docs = body.as_array().expect("a list for several files").clone();
    assert_eq!(docs[0]["filename"], "guide.md");
    assert_eq!(docs[0]["contentType"], "text/markdown");
    assert_eq!(docs[0]["size"], GUIDE.len());
    assert_eq!(docs[0]["status"], "processing");
    assert_eq!(docs[1]["filename"], "prices.csv");
    let (status, log) = upload_raw(&app, &org, &id, "server.log", LOG.as_bytes()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{log}");
    assert_eq!(log["folderId"], id.as_str());

    let guide = processed(&app, &org, docs[0]["id"].as_str().unwrap()).await;
    assert_eq!(
        (&guide["status"], &guide["chunkCount"]),
        (&json!("ready"), &json!(3)),
        "{guide}"
    );
    let prices = processed(&app, &org, docs[1]["id"].as_str().unwrap()).await;
    assert_eq!(prices["chunkCount"], 2, "{prices}");
    let log = processed(&app, &org, log["id"].as_str().unwrap()).await;
    assert_eq!(log["chunkCount"], 3, "{log}");

    // Stemming ("refunded" finds "Refunds"), the heading path kept as the source.
    let found = search(&app, &org, "when are refunded payments made", &[&id]).await;
    assert_eq!(found[0]["filename"], "guide.md", "{found:?}");
    assert!(found[0]["content"]
        .as_str()
        .unwrap()
        .contains("within 14 days"));
    assert_eq!(found[0]["source"], json!({"heading": "Returns > Refunds"}));
    assert_eq!(found[0]["documentId"], guide["id"]);
    // A word's beginning finds it; a CSV row answers with its header names and row number.
    let found = search(&app, &org, "bras", &[&id]).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["content"], "sku: B2\nname: Brass lamp\nprice: 45");
    assert_eq!(found[0]["source"], json!({"row": 2}));
    let found = search(&app, &org, "\"disk quota\"", &[&id]).await;
    assert_eq!(found[0]["source"], json!({"line": 2}), "{found:?}");
    // Any of the words finds a chunk; a heading path counts as the chunk's words.
    let found = search(&app, &org, "shipping or returns", &[&id]).await;
    let headings: Vec<&Value> = found.iter().map(|f| &f["source"]["heading"]).collect();
    assert_eq!(headings.len(), 3, "{found:?}");
    assert!(headings.contains(&&json!("Returns > Refunds")), "{found:?}");

    let (_, page) = org
        .get(&app, &format!("/v1/knowledge/folders/{id}/documents"))
        .await;
    assert_eq!(page["meta"]["total"], 3);
    // A deleted document is no longer found.
    let path = format!("/v1/knowledge/documents/{}", prices["id"].as_str().unwrap());
    assert_eq!(org.delete(&app, &path).await.0, StatusCode::NO_CONTENT);
    assert!(search(&app, &org, "lamp", &[&id]).await.is_empty());
    assert_eq!(org.get(&app, &path).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pdf_pages_and_docx_headings_are_kept_as_sources() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let id = folder(&app, &org, "Manuals").await;
    let handbook = include_bytes!("fixtures/handbook.pdf");
    let policies = include_bytes!("fixtures/policies.docx");
    let scan = include_bytes!("fixtures/scan.pdf");
    let (status, body) = upload_form(
        &app,
        &org,
        &id,
        &[
            ("handbook.pdf", handbook),
            ("policies.docx", policies),
            ("scan.pdf", scan),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body[0]["contentType"], "application/pdf");
    let ids: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(processed(&app, &org, ids[0]).await["chunkCount"], 2);
    assert_eq!(processed(&app, &org, ids[1]).await["chunkCount"], 2);
    let scan = processed(&app, &org, ids[2]).await;
    assert_eq!(scan["status"], "failed");
    assert!(
        scan["error"].as_str().unwrap().contains("no text"),
        "{scan}"
    );

    let found = search(&app, &org, "which warehouse ships parcels", &[&id]).await;
    assert_eq!(found[0]["filename"], "handbook.pdf", "{found:?}");
    assert_eq!(found[0]["source"], json!({"page": 2}));
    let found = search(&app, &org, "photo of the fault", &[&id]).await;
    assert_eq!(
        found[0]["source"],
        json!({"heading": "Warranty > Claims"}),
        "{found:?}"
    );
}

/// A search ranks only a bounded set of candidates (`HOOKLINE_KNOWLEDGE_SEARCH_CANDIDATES`),
/// here 2 of each kind of match among 40 chunks holding one of the words: the chunk with every
/// word, the one with two of them and the one with a word in its heading are still found first,
/// wherever they are in the table.
#[tokio::test]
async fn a_bounded_search_still_finds_the_best_matches_first() {
    let app = TestApp::spawn_with(RawSettings {
        knowledge_search_candidates: 2,
        ..raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let id = folder(&app, &org, "Ops").await;
    let mut log = String::new();
    for n in 0..40 {
        log.push_str(&format!("line {n} mentions the crane\n"));
    }
    log.push_str("the harbour crane ferry timetable\n");
    log.push_str("a ferry timetable only\n");
    let (status, body) = upload_raw(&app, &org, &id, "ops.log", log.as_bytes()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    processed(&app, &org, body["id"].as_str().unwrap()).await;
    let manual = "# Crane\n\nOperated from the quay by a licensed driver.\n";
    let (status, body) = upload_raw(&app, &org, &id, "manual.md", manual.as_bytes()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    processed(&app, &org, body["id"].as_str().unwrap()).await;

    let found = search(&app, &org, "harbour crane ferry timetable", &[&id]).await;
    assert_eq!(found[0]["source"], json!({"line": 41}), "{found:?}");
    let sources: Vec<&Value> = found[1..3].iter().map(|f| &f["source"]).collect();
    assert!(sources.contains(&&json!({"line": 42})), "{found:?}");
    assert!(sources.contains(&&json!({"heading": "Crane"})), "{found:?}");
    // A heading word weighs more than a word of the text; the bound is never below `limit`.
    let found = search(&app, &org, "crane", &[&id]).await;
    assert_eq!(found[0]["filename"], "manual.md", "{found:?}");
    assert_eq!(found.len(), 5, "{found:?}");
    // An excluded word still excludes, whichever way a chunk was found.
    let found = search(&app, &org, "timetable -harbour", &[&id]).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["source"], json!({"line": 42}), "{found:?}");
}

#[tokio::test]
async fn bad_uploads_are_refused_whole_and_unreadable_documents_fail_with_a_reason() {
    let app = TestApp::spawn_with(RawSettings {
        knowledge_storage_bytes: 60 * 1024 * 1024,
        ..raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let id = folder(&app, &org, "Help").await;
    // One unsupported file refuses the whole form, naming it.
    let (status, body) = upload_form(
        &app,
        &org,
        &id,
        &[("ok.txt", b"fine"), ("setup.exe", b"MZ\x90\x00")],
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    assert_eq!(body["filename"], "setup.exe");
    // A binary renamed to .txt is told by its content.
    let (status, body) = upload_raw(&app, &org, &id, "notes.txt", b"\x7fELF\x02\x01\x00\x00").await;
    assert_eq!(
        (status, &body["filename"]),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, &json!("notes.txt"))
    );
    let (status, body) = upload_raw(&app, &org, &id, "fake.pdf", b"hello").await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    // Over 50 MiB.
    let big = vec![b'a'; 50 * 1024 * 1024 + 1];
    let (status, body) = upload_raw(&app, &org, &id, "big.txt", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["filename"], "big.txt");
    // The organization's quota (60 MiB here): 40 MiB fits, 40 more do not.
    let forty = vec![b'a'; 40 * 1024 * 1024];
    assert_eq!(
        upload_raw(&app, &org, &id, "a.txt", &forty).await.0,
        StatusCode::ACCEPTED
    );
    let (status, body) = upload_raw(&app, &org, &id, "b.txt", &forty).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("HOOKLINE_KNOWLEDGE_STORAGE_BYTES"));
    // A raw body needs its name; a form needs a file.
    let (status, body) = send(
        &app,
        &org,
        &format!("/v1/knowledge/folders/{id}/documents"),
        "text/plain",
        b"x".to_vec(),
    )
    .await;
    assert_eq!(
        (status, error_fields(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec!["filename".to_owned()]
        )
    );
    let (status, body) = upload_form(&app, &org, &id, &[]).await;
    assert_eq!(
        (status, error_fields(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, vec!["file".to_owned()])
    );
    let missing = Uuid::now_v7();
    assert_eq!(
        upload_raw(&app, &org, &missing.to_string(), "a.txt", b"x")
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, page) = org
        .get(&app, &format!("/v1/knowledge/folders/{id}/documents"))
        .await;
    assert_eq!(page["meta"]["total"], 1, "only a.txt was stored: {page}");

    unreadable_documents_fail_with_a_reason(&app, &org, &id).await;
}

/// Stored, but unreadable: each fails with what could not be read.
async fn unreadable_documents_fail_with_a_reason(app: &TestApp, org: &Org, id: &str) {
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "latin1.txt",
            b"caf\xe9 au lait".to_vec(),
            "the file is not UTF-8 text (invalid byte at offset 3)",
        ),
        (
            "wide.csv",
            format!("a\n{}\n", "x".repeat(20_000)).into_bytes(),
            "CSV row 1 is longer than 16 KiB",
        ),
        (
            "empty.md",
            b"\n\n   \n".to_vec(),
            "the document has no text",
        ),
    ];
    for (name, content, reason) in cases {
        let (status, doc) = upload_raw(app, org, id, name, &content).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{doc}");
        let doc = processed(app, org, doc["id"].as_str().unwrap()).await;
        assert_eq!(
            (&doc["status"], &doc["error"]),
            (&json!("failed"), &json!(reason)),
            "{name}"
        );
        assert!(doc.get("chunkCount").is_none());
    }
}

#[tokio::test]
async fn uploads_past_the_instances_bound_are_answered_503_before_their_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(RawSettings {
        knowledge_uploads: 1,
        ..raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let id = folder(&app, &org, "Help").await;
    // A slow client: its upload's head and the first bytes of a 1 MiB body, then nothing.
    let slow_upload = || async {
        let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let head = format!(
            "POST /v1/knowledge/folders/{id}/documents?filename=slow.txt HTTP/1.1\r\n\
             Host: {}\r\nAuthorization: Bearer {}\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\n\r\n",
            app.addr,
            org.key,
            1024 * 1024
        );
        slow.write_all(head.as_bytes()).await.unwrap();
        slow.write_all(b"the first words of a long file ")
            .await
            .unwrap();
        slow
    };
    let quick_upload = || async {
        let response = app
            .client
            .post(app.url(&format!(
                "/v1/knowledge/folders/{id}/documents?filename=quick.txt"
            )))
            .bearer_auth(&org.key)
            .body("a short note")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body: Value = response.json().await.unwrap();
        (status, body, headers)
    };

    // Once it holds the one slot, another upload is turned away at once. (A quick upload that
    // comes first is taken; one still running when the slow one arrives turns the slow one
    // away, which is the same rule seen from the other side: then the slow one is sent again.)
    let mut slow = slow_upload().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let (status, body, headers) = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut early = [0u8; 64];
        if let Ok(n) = slow.try_read(&mut early) {
            assert!(
                String::from_utf8_lossy(&early[..n]).starts_with("HTTP/1.1 503"),
                "{}",
                String::from_utf8_lossy(&early[..n])
            );
            slow = slow_upload().await;
            continue;
        }
        let (status, body, headers) = quick_upload().await;
        if status != StatusCode::ACCEPTED || tokio::time::Instant::now() > deadline {
            break (status, body, headers);
        }
    };
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(headers["retry-after"], "1");
    // This instance's own limit, told apart from the database being away.
    assert_eq!(body["type"], "urn:hookline:problem:busy");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("HOOKLINE_KNOWLEDGE_UPLOADS"),
        "{body}"
    );

    // The slow upload finishes and gives its slot back: the next upload is taken.
    slow.write_all(&vec![b'a'; 1024 * 1024 - 31]).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&answer).contains("\r\n\r\n") {
        let n = slow.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let (status, body) = upload_raw(&app, &org, &id, "after.txt", b"fits now").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

#[tokio::test]
async fn a_search_never_crosses_organizations() {
    let app = TestApp::spawn().await;
    let acme = app.org("acme").await;
    let globex = app.org("globex").await;
    let acme_folder = folder(&app, &acme, "Secrets").await;
    let globex_folder = folder(&app, &globex, "Secrets").await;
    let (_, doc) = upload_raw(
        &app,
        &acme,
        &acme_folder,
        "plan.txt",
        b"The launch code is tangerine.",
    )
    .await;
    processed(&app, &acme, doc["id"].as_str().unwrap()).await;
    let (_, doc) = upload_raw(&app, &globex, &globex_folder, "menu.txt", b"Lunch is soup.").await;
    processed(&app, &globex, doc["id"].as_str().unwrap()).await;

    assert_eq!(
        search(&app, &acme, "tangerine", &[&acme_folder])
            .await
            .len(),
        1
    );
    assert!(search(&app, &globex, "tangerine", &[&globex_folder])
        .await
        .is_empty());
    // Naming another organization's folder is refused as if it did not exist.
    let (status, body) = globex
        .post(
            &app,
            "/v1/knowledge/search",
            &json!({"query": "tangerine", "folderIds": [globex_folder, acme_folder]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["folderIds[1]"]);
    assert!(!body.to_string().contains("tangerine is"));
    let path = format!("/v1/knowledge/documents/{}", doc["id"].as_str().unwrap());
    assert_eq!(acme.get(&app, &path).await.0, StatusCode::NOT_FOUND);
}

/// The claims of every document of the database: (attempts, chunk rows, chunkCount).
async fn claims(app: &TestApp) -> Vec<(i32, i64, Option<i32>)> {
    sqlx::query_as(
        "SELECT attempts, (SELECT count(*) FROM knowledge_chunks c WHERE c.document_id = d.id),
             chunk_count
         FROM knowledge_documents d ORDER BY created_at",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn two_instances_process_each_document_once_and_a_dead_holders_claim_is_taken_over() {
    let raw = raw_settings();
    let first = TestApp::spawn_with(raw.clone()).await;
    let second = TestApp::spawn_with(raw).await;
    let org = first.org("acme").await;
    let id = folder(&first, &org, "Logs").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let app = if i % 2 == 0 { &first } else { &second };
        let lines = format!("start {i}\nwork {i}\nend {i}\n");
        let (status, doc) =
            upload_raw(app, &org, &id, &format!("run{i}.log"), lines.as_bytes()).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{doc}");
        ids.push(doc["id"].as_str().unwrap().to_owned());
    }
    for doc in &ids {
        assert_eq!(processed(&first, &org, doc).await["chunkCount"], 3);
    }
    assert_eq!(claims(&first).await, vec![(1, 3, Some(3)); 12]);

    // A document claimed by a process that died: taken over once its lease has run out, and
    // not before.
    // Stored as an upload is, but held by another process (dead, as it turns out).
    let doc_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO knowledge_documents (id, org_id, folder_id, filename, content_type, size,
             attempts, lease_holder, lease_until)
         SELECT $1, org_id, id, 'late.log', 'text/x-log', 8, 1, $2, now() + interval '1 hour'
         FROM knowledge_folders WHERE id = $3",
    )
    .bind(doc_id)
    .bind(Uuid::new_v4())
    .bind(Uuid::parse_str(&id).unwrap())
    .execute(&first.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO knowledge_files (document_id, content) VALUES ($1, 'one\ntwo\n')")
        .bind(doc_id)
        .execute(&first.pool)
        .await
        .unwrap();
    let doc = doc_id.to_string();
    let doc = doc.as_str();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, held) = org
        .get(&first, &format!("/v1/knowledge/documents/{doc}"))
        .await;
    assert_eq!(
        held["status"], "processing",
        "a live lease is left alone: {held}"
    );
    sqlx::query(
        "UPDATE knowledge_documents SET lease_until = now() - interval '1 second' WHERE id = $1",
    )
    .bind(doc_id)
    .execute(&first.pool)
    .await
    .unwrap();
    let done = processed(&first, &org, doc).await;
    assert_eq!(
        (&done["status"], &done["chunkCount"]),
        (&json!("ready"), &json!(2)),
        "{done}"
    );
    let (attempts,): (i32,) =
        sqlx::query_as("SELECT attempts FROM knowledge_documents WHERE id = $1")
            .bind(doc_id)
            .fetch_one(&first.pool)
            .await
            .unwrap();
    assert_eq!(attempts, 2);
}
