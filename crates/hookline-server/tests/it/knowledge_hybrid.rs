//! Hybrid knowledge search: an LLM entry of kind `embedding`, chunks embedded in the background,
//! and the semantic ranking fused with the lexical one, against the deterministic embedding
//! server of [`crate::fake_embeddings`].

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fake_embeddings::{FakeEmbeddings, Mode, DIMENSIONS};
use crate::harness::{error_fields, raw_settings, Org, RawSettings, TestApp};
use crate::knowledge::{folder, processed, upload_raw};

pub(crate) const REFUNDS: &str = "Refunds are paid within 14 days to the original card.";
pub(crate) const SHIPPING: &str = "Parcels leave our warehouse in Lyon every weekday.";

/// Settings whose embedding retries come after a second, not thirty.
pub(crate) fn quick_retries() -> RawSettings {
    RawSettings {
        knowledge_embed_retry_seconds: 1,
        ..raw_settings()
    }
}

pub(crate) async fn embedding_entry(app: &TestApp, org: &Org, server: &FakeEmbeddings) -> Value {
    let (status, llm) = org.post(app, "/v1/llms", &server.entry("vectors")).await;
    assert_eq!(status, StatusCode::CREATED, "{llm}");
    llm
}

/// Uploads `text` as a document of the folder and waits until it is ready.
pub(crate) async fn ready(
    app: &TestApp,
    org: &Org,
    folder: &str,
    name: &str,
    text: &str,
) -> String {
    let (status, doc) = upload_raw(app, org, folder, name, text.as_bytes()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{doc}");
    let id = doc["id"].as_str().unwrap().to_owned();
    let doc = processed(app, org, &id).await;
    assert_eq!(doc["status"], "ready", "{doc}");
    id
}

async fn vectors_of(app: &TestApp, document_id: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM knowledge_embeddings v JOIN knowledge_chunks c ON c.id = v.chunk_id
         WHERE c.document_id = $1::uuid",
    )
    .bind(document_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    n
}

/// Waits until every chunk of the document has its vector.
pub(crate) async fn embedded(app: &TestApp, org: &Org, document_id: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, doc) = org
            .get(app, &format!("/v1/knowledge/documents/{document_id}"))
            .await;
        if vectors_of(app, document_id).await == doc["chunkCount"].as_i64().unwrap()
            && doc.get("embeddingError").is_none()
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not embedded: {doc}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The document once its embedding failed, with the reason.
async fn embedding_failed(app: &TestApp, org: &Org, document_id: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, doc) = org
            .get(app, &format!("/v1/knowledge/documents/{document_id}"))
            .await;
        if let Some(error) = doc["embeddingError"].as_str() {
            assert_eq!(doc["status"], "ready", "{doc}");
            return error.to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no embedding error: {doc}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn search(app: &TestApp, org: &Org, query: &str, folders: &[&str]) -> Value {
    let (status, body) = org
        .post(
            app,
            "/v1/knowledge/search",
            &json!({"query": query, "folderIds": folders}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub(crate) fn contents(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["content"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_paraphrase_without_the_passage_words_is_found_only_by_hybrid_search() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let server = FakeEmbeddings::start().await;
    let help = folder(&app, &org, "Help").await;
    let refunds = ready(&app, &org, &help, "refunds.txt", REFUNDS).await;
    ready(&app, &org, &help, "shipping.txt", SHIPPING).await;

    // Without an embedding model: words only, and none of the query's is in the passage.
    let body = search(&app, &org, "reimbursement", &[&help]).await;
    assert_eq!(body["ranking"], "lexical");
    assert!(contents(&body).is_empty(), "{body}");
    assert!(server.inputs().is_empty());

    // An embedding entry: the documents already ready are embedded in the background.
    embedding_entry(&app, &org, &server).await;
    embedded(&app, &org, &refunds).await;
    let body = search(&app, &org, "reimbursement", &[&help]).await;
    assert_eq!(body["ranking"], "hybrid", "{body}");
    assert!(body.get("notice").is_none(), "{body}");
    let found = contents(&body);
    assert_eq!(found[0], REFUNDS, "{body}");
    // Fused score of a chunk only the semantic ranking found, first: 1 / (60 + 1).
    let score = body["results"][0]["score"].as_f64().unwrap();
    assert!((score - 1.0 / 61.0).abs() < 1e-6, "{score}");
    assert_eq!(body["results"][0]["documentId"], refunds.as_str());
    // The query went to the model as typed; the chunks in batches.
    assert!(server.inputs().iter().any(|i| i == &["reimbursement"]));
    assert!(server
        .inputs()
        .iter()
        .any(|i| i.iter().any(|t| t == REFUNDS)));

    // A query the lexical ranking finds too: both rankings agree, so it scores 2 / 61.
    let body = search(&app, &org, "refunds", &[&help]).await;
    assert_eq!(contents(&body)[0], REFUNDS);
    let score = body["results"][0]["score"].as_f64().unwrap();
    assert!((score - 2.0 / 61.0).abs() < 1e-6, "{score}");
}

#[tokio::test]
async fn hybrid_search_never_crosses_organizations() {
    let app = TestApp::spawn().await;
    let server = FakeEmbeddings::start().await;
    let acme = app.org("acme").await;
    let globex = app.org("globex").await;
    let acme_help = folder(&app, &acme, "Help").await;
    let globex_help = folder(&app, &globex, "Help").await;
    embedding_entry(&app, &acme, &server).await;
    embedding_entry(&app, &globex, &server).await;
    let acme_doc = ready(&app, &acme, &acme_help, "refunds.txt", REFUNDS).await;
    let globex_doc = ready(&app, &globex, &globex_help, "refunds.txt", REFUNDS).await;
    embedded(&app, &acme, &acme_doc).await;
    embedded(&app, &globex, &globex_doc).await;
    for (org, help, own) in [
        (&acme, &acme_help, &acme_doc),
        (&globex, &globex_help, &globex_doc),
    ] {
        let body = search(&app, org, "reimbursement money", &[help]).await;
        assert_eq!(body["ranking"], "hybrid");
        let results = body["results"].as_array().unwrap();
        assert_eq!(results.len(), 1, "{body}");
        assert_eq!(results[0]["documentId"], own.as_str());
    }
    // Another organization's folder is refused, as for a lexical search.
    let (status, body) = acme
        .post(
            &app,
            "/v1/knowledge/search",
            &json!({"query": "reimbursement", "folderIds": [globex_help]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_fields(&body), ["folderIds[0]"]);
    // An organization without an embedding model ranks by words, whatever others have.
    let initech = app.org("initech").await;
    let help = folder(&app, &initech, "Help").await;
    ready(&app, &initech, &help, "refunds.txt", REFUNDS).await;
    let body = search(&app, &initech, "reimbursement", &[&help]).await;
    assert_eq!(body["ranking"], "lexical");
    assert!(contents(&body).is_empty());
}

#[tokio::test]
async fn an_embedding_server_that_is_down_never_fails_a_document_nor_a_search() {
    let app = TestApp::spawn_with(quick_retries()).await;
    let org = app.org("acme").await;
    let server = FakeEmbeddings::start().await;
    server.set(Mode::Down);
    embedding_entry(&app, &org, &server).await;
    let help = folder(&app, &org, "Help").await;
    let refunds = ready(&app, &org, &help, "refunds.txt", REFUNDS).await;
    let error = embedding_failed(&app, &org, &refunds).await;
    assert!(error.contains("answered 503"), "{error}");
    assert_eq!(vectors_of(&app, &refunds).await, 0);
    // Searchable by words meanwhile; no vectors yet, so nothing to fall back from.
    let body = search(&app, &org, "refunds", &[&help]).await;
    assert_eq!(body["ranking"], "lexical");
    assert_eq!(contents(&body), [REFUNDS]);

    // Back up: the document is tried again after its backoff and embedded.
    server.set(Mode::Normal);
    embedded(&app, &org, &refunds).await;
    assert_eq!(
        search(&app, &org, "reimbursement", &[&help]).await["ranking"],
        "hybrid"
    );

    // Down while searching: the search still answers by words, and says why.
    server.set(Mode::Down);
    let body = search(&app, &org, "refunds", &[&help]).await;
    assert_eq!(body["ranking"], "lexical");
    assert_eq!(contents(&body), [REFUNDS]);
    let notice = body["notice"].as_str().unwrap();
    assert!(notice.contains("could not be embedded"), "{notice}");
    assert!(notice.contains("503"), "{notice}");
}

#[tokio::test]
async fn wrong_or_oversized_answers_store_nothing_and_say_why() {
    let app = TestApp::spawn_with(RawSettings {
        knowledge_embed_response_bytes: 64 * 1024,
        ..quick_retries()
    })
    .await;
    let org = app.org("acme").await;
    let server = FakeEmbeddings::start().await;
    let help = folder(&app, &org, "Help").await;
    server.set(Mode::Dimensions(5000));
    embedding_entry(&app, &org, &server).await;
    let doc = ready(&app, &org, &help, "refunds.txt", REFUNDS).await;
    let error = embedding_failed(&app, &org, &doc).await;
    assert!(
        error.contains(
            "5000 dimensions; at most 4096 are kept (HOOKLINE_KNOWLEDGE_EMBED_DIMENSIONS)"
        ),
        "{error}"
    );
    assert_eq!(vectors_of(&app, &doc).await, 0);

    server.set(Mode::Padded(70 * 1024));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let error = loop {
        let error = embedding_failed(&app, &org, &doc).await;
        if error.contains("larger than") {
            break error;
        }
        assert!(tokio::time::Instant::now() < deadline, "{error}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        error.contains("larger than 65536 bytes (HOOKLINE_KNOWLEDGE_EMBED_RESPONSE_BYTES)"),
        "{error}"
    );
    assert_eq!(vectors_of(&app, &doc).await, 0);

    // Right at last: embedded. Then the model answers another length: refused, since one
    // organization's vectors from one model must all compare with one query vector.
    server.set(Mode::Normal);
    embedded(&app, &org, &doc).await;
    server.set(Mode::Dimensions(DIMENSIONS / 2));
    let second = ready(&app, &org, &help, "shipping.txt", SHIPPING).await;
    let error = embedding_failed(&app, &org, &second).await;
    assert!(
        error.contains("vectors of 32 dimensions, but the vectors it made before have 64"),
        "{error}"
    );
    assert_eq!(vectors_of(&app, &second).await, 0);
    // A query vector of the wrong length: ranked by words, said so.
    let body = search(&app, &org, "refunds", &[&help]).await;
    assert_eq!(body["ranking"], "lexical");
    assert!(body["notice"].as_str().unwrap().contains("32 dimensions"));
}

#[tokio::test]
async fn an_embedding_entry_is_for_knowledge_only_and_keeps_its_kind() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let server = FakeEmbeddings::start().await;
    let llm = embedding_entry(&app, &org, &server).await;
    assert_eq!(llm["kind"], "embedding");
    let id = llm["id"].as_str().unwrap();
    // A persona talks through a chat LLM only.
    let (status, body) = org
        .post(&app, "/v1/personas", &json!({"name": "p", "llmId": id}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["llmId"]);
    assert!(body.to_string().contains("embedding model"), "{body}");
    let (status, body) = org
        .post(
            &app,
            "/v1/auth/session-token",
            &json!({"personaConfig": {"name": "eph", "llmId": id}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["personaConfig.llmId"]);
    // The kind is fixed; other fields change as for any entry.
    let path = format!("/v1/llms/{id}");
    let (status, body) = org.patch(&app, &path, &json!({"kind": "chat"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["kind"]);
    let (status, body) = org.patch(&app, &path, &json!({"name": "vectors-2"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "embedding");
    // Sampling fields and Anthropic mean nothing to an embedding model.
    let (status, body) = org
        .post(
            &app,
            "/v1/llms",
            &json!({"name": "e2", "kind": "embedding", "provider": "anthropic", "model": "m",
                    "temperature": 0.2}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(error_fields(&body), ["provider", "temperature"]);
    // The Test button embeds one word.
    let (status, test) = org.post(&app, &format!("{path}/test"), &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{test}");
    assert_eq!(test["ok"], true, "{test}");
    assert_eq!(test["reply"], "a vector of 64 dimensions");
    assert_eq!(server.inputs(), [["hello"]]);
    server.set(Mode::Down);
    let (_, test) = org.post(&app, &format!("{path}/test"), &json!({})).await;
    assert_eq!(test["ok"], false);
    assert_eq!(test["error"]["kind"], "llm_unavailable");
}

#[tokio::test]
async fn chunks_go_in_bounded_batches_and_a_new_model_embeds_everything_again() {
    let app = TestApp::spawn_with(RawSettings {
        knowledge_embed_batch: 2,
        ..raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let server = FakeEmbeddings::start().await;
    let llm = embedding_entry(&app, &org, &server).await;
    let logs = folder(&app, &org, "Logs").await;
    let lines =
        "disk full on node one\nrefund job failed\nrefund job retried\narchive written\nall good\n";
    let doc = ready(&app, &org, &logs, "app.log", lines).await;
    embedded(&app, &org, &doc).await;
    let sizes: Vec<usize> = server.inputs().iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(
        server.inputs()[0],
        ["disk full on node one", "refund job failed"]
    );

    // Another model under the same entry: every chunk is embedded again with it, and a search
    // compares its query with that model's vectors only.
    let path = format!("/v1/llms/{}", llm["id"].as_str().unwrap());
    let (status, body) = org
        .patch(&app, &path, &json!({"model": "bag-of-words-2"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM knowledge_embeddings WHERE model = 'bag-of-words-2'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if n == 5 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{n} re-embedded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(vectors_of(&app, &doc).await, 5, "replaced, not added");
    let body = search(&app, &org, "reimbursement", &[&logs]).await;
    assert_eq!(body["ranking"], "hybrid");
    assert_eq!(
        contents(&body)[..2],
        ["refund job failed", "refund job retried"]
    );

    // Deleting the entry deletes its vectors: words alone rank again.
    let (status, _) = org.delete(&app, &path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(vectors_of(&app, &doc).await, 0);
    let body = search(&app, &org, "reimbursement", &[&logs]).await;
    assert_eq!(body["ranking"], "lexical");
    assert!(contents(&body).is_empty());
}

#[tokio::test]
async fn a_knowledge_tool_searches_by_meaning_too() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let server = FakeEmbeddings::start().await;
    embedding_entry(&app, &org, &server).await;
    let help = folder(&app, &org, "Help").await;
    let refunds = ready(&app, &org, &help, "refunds.txt", REFUNDS).await;
    ready(&app, &org, &help, "shipping.txt", SHIPPING).await;
    embedded(&app, &org, &refunds).await;
    let (session_id, _) = crate::harness::session(
        &app,
        &org,
        json!({"name": "T", "tools": [crate::knowledge_tool::help_center(&[&help])]}),
    )
    .await;
    let (status, body) = crate::engine::call(
        &app,
        &org,
        &session_id,
        json!({"toolName": "help_center", "toolCallId": "k1",
               "arguments": {"query": "reimbursement"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "completed", "{body}");
    let results = body["result"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{body}");
    assert_eq!(results[0]["content"], REFUNDS);
    assert_eq!(results[0]["documentId"], refunds.as_str());
}

const FIVE_LINES: &str =
    "disk full on node one\nrefund job failed\nrefund job retried\narchive written\nall good\n";

/// A document whose embedding stopped part-way (the model failed on its second batch) is taken
/// up again where it stopped: the next claim sends only the chunks that have no vector yet.
#[tokio::test]
async fn an_interrupted_document_is_embedded_from_where_it_stopped() {
    let app = TestApp::spawn_with(RawSettings {
        knowledge_embed_batch: 2,
        ..quick_retries()
    })
    .await;
    let org = app.org("acme").await;
    let server = FakeEmbeddings::start().await;
    server.set(Mode::DownAfter(1));
    embedding_entry(&app, &org, &server).await;
    let logs = folder(&app, &org, "Logs").await;
    let doc = ready(&app, &org, &logs, "app.log", FIVE_LINES).await;
    embedding_failed(&app, &org, &doc).await;
    assert_eq!(vectors_of(&app, &doc).await, 2, "the first batch is kept");
    server.set(Mode::Normal);
    embedded(&app, &org, &doc).await;

    let sent = server.inputs();
    assert_eq!(sent[0], ["disk full on node one", "refund job failed"]);
    // Tried again (once or more while the model was down), then the rest once it was back.
    assert_eq!(
        sent[sent.len() - 2..],
        [
            vec![
                "refund job retried".to_owned(),
                "archive written".to_owned()
            ],
            vec!["all good".to_owned()],
        ]
    );
    let first_sent = sent
        .iter()
        .filter(|batch| batch.iter().any(|t| t == "disk full on node one"))
        .count();
    assert_eq!(
        first_sent, 1,
        "what has a vector is not sent again: {sent:?}"
    );
}

/// The database going away while a document is being embedded: the worker waits quietly for it
/// (`db::away`), then gives the document back, so it is finished at once rather than after its
/// five-minute lease.
#[tokio::test]
async fn embedding_resumes_as_soon_as_the_database_is_back() {
    let gate = crate::outages::DbGate::start().await;
    let app = TestApp::spawn_with(RawSettings {
        database_url: gate.fresh_database_url(),
        knowledge_embed_batch: 1,
        ..raw_settings()
    })
    .await;
    let org = app.org("acme").await;
    let server = FakeEmbeddings::start().await;
    // Slow enough that the outage finds the worker mid-document.
    server.set(Mode::Slow(300));
    embedding_entry(&app, &org, &server).await;
    let logs = folder(&app, &org, "Logs").await;
    let doc = ready(&app, &org, &logs, "app.log", FIVE_LINES).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while vectors_of(&app, &doc).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "nothing embedded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gate.close().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    gate.open().await;
    crate::outages::ready_within(&app, Duration::from_secs(5)).await;
    server.set(Mode::Normal);
    embedded(&app, &org, &doc).await;
}
