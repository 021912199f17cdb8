//! The folders' vectors kept in memory for hybrid search (`hookline_core::vectors`): the same
//! answers as the rows streamed from Postgres, true across instances, never another
//! organization's.

use hookline_core::repo::knowledge::embeddings::{self, Nearest};
use hookline_core::vectors::{self, VectorCache};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::fake_embeddings::{vector, FakeEmbeddings};
use crate::harness::{two_instances, TestApp};
use crate::knowledge::folder;
use crate::knowledge_hybrid::{
    contents, embedded, embedding_entry, quick_retries, ready, search, REFUNDS, SHIPPING,
};

/// Words the log lines and the queries are made of: few, so that lines share words, many
/// similarities tie and the order among equals is tested too.
const WORDS: [&str; 24] = [
    "crane",
    "quay",
    "cargo",
    "vessel",
    "pilot",
    "anchor",
    "berth",
    "tide",
    "harbour",
    "diesel",
    "engine",
    "winch",
    "rope",
    "deck",
    "hull",
    "rudder",
    "signal",
    "radio",
    "customs",
    "manifest",
    "container",
    "forklift",
    "gantry",
    "ballast",
];

/// `lines` log lines of six words each, drawn from [`WORDS`] by a fixed generator.
fn log_lines(lines: usize, seed: u64) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut text = String::new();
    for _ in 0..lines {
        let line: Vec<&str> = (0..6)
            .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
            .collect();
        text.push_str(&line.join(" "));
        text.push('\n');
    }
    text
}

/// The query's vector as the embedding model makes it: the fake server's, at unit length.
fn unit(text: &str) -> Vec<f32> {
    let mut v = vector(text);
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// The organization and embedding entry (with its model) of a folder.
async fn owner(app: &TestApp, folder_id: Uuid) -> (Uuid, Uuid, String) {
    let (org_id,): (Uuid,) = sqlx::query_as("SELECT org_id FROM knowledge_folders WHERE id = $1")
        .bind(folder_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (llm_id, model): (Uuid, String) =
        sqlx::query_as("SELECT id, model FROM llms WHERE org_id = $1 AND kind = 'embedding'")
            .bind(org_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    (org_id, llm_id, model)
}

async fn streamed(
    app: &TestApp,
    org_id: Uuid,
    folders: &[Uuid],
    llm_id: Uuid,
    model: &str,
    query: &[f32],
) -> Nearest {
    let mut conn = app.pool.acquire().await.unwrap();
    embeddings::nearest(
        &mut conn, org_id, folders, llm_id, model, query, 100_000, 50,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn copies_in_memory_rank_exactly_as_the_rows_streamed_from_postgres() {
    let app = TestApp::spawn().await;
    let org = app.org("acme").await;
    let server = FakeEmbeddings::start().await;
    embedding_entry(&app, &org, &server).await;
    let ops = folder(&app, &org, "Ops").await;
    let port = folder(&app, &org, "Port").await;
    for (folder, name, seed) in [(&ops, "a.log", 1), (&ops, "b.log", 2), (&port, "c.log", 3)] {
        let doc = ready(&app, &org, folder, name, &log_lines(150, seed)).await;
        embedded(&app, &org, &doc).await;
    }
    let folders: Vec<Uuid> = [&ops, &port].iter().map(|f| f.parse().unwrap()).collect();
    let (org_id, llm_id, model) = owner(&app, folders[0]).await;
    let roomy = VectorCache::new(64 * 1024 * 1024);
    // No room for a folder: every search streams from Postgres through the copies' path too.
    let cramped = VectorCache::new(1024);
    let mut compared = 0;
    for i in 0..30 {
        let words: Vec<&str> = (0..1 + i % 4)
            .map(|j| WORDS[(i * 7 + j * 5) % 24])
            .collect();
        let query = unit(&words.join(" "));
        for within in [&folders[..], &folders[..1], &folders[1..]] {
            let expected = streamed(&app, org_id, within, llm_id, &model, &query).await;
            assert!(!expected.chunks.is_empty(), "{words:?}");
            for cache in [&roomy, &cramped] {
                let found = vectors::nearest(
                    &app.pool, cache, org_id, within, llm_id, &model, &query, 100_000, 50,
                )
                .await
                .unwrap();
                assert_eq!(found.chunks, expected.chunks, "{words:?}");
                assert!(!found.truncated);
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 180);
    assert!(roomy.bytes() >= 450 * (64 * 4 + 8), "both folders copied");
    assert_eq!(cramped.bytes(), 0);
    // Fewer vectors compared than the folders hold: said, as by the streaming search.
    let query = unit("crane quay");
    let found = vectors::nearest(
        &app.pool, &roomy, org_id, &folders, llm_id, &model, &query, 200, 50,
    )
    .await
    .unwrap();
    assert!(found.truncated);
}

#[tokio::test]
async fn a_second_instance_sees_documents_embedded_and_deleted_through_the_first() {
    let (first, second) = two_instances(quick_retries).await;
    let org = first.org("acme").await;
    let server = FakeEmbeddings::start().await;
    embedding_entry(&first, &org, &server).await;
    let help = folder(&first, &org, "Help").await;
    let refunds = ready(&first, &org, &help, "refunds.txt", REFUNDS).await;
    embedded(&first, &org, &refunds).await;
    // "package" and "dispatched" share no word with the shipping passage: only its vector finds
    // it. The second instance copies the folder now, before that passage exists.
    let body = search(&second, &org, "package dispatched", &[&help]).await;
    assert_eq!(body["ranking"], "hybrid");
    assert!(contents(&body).is_empty(), "{body}");
    let body = search(&second, &org, "reimbursement", &[&help]).await;
    assert_eq!(contents(&body), [REFUNDS]);
    // A third process, seen from the inside: its copy of the folder, and what it finds.
    let third = VectorCache::new(1024 * 1024);
    let help_id: Uuid = help.parse().unwrap();
    let (org_id, llm_id, model) = owner(&first, help_id).await;
    let nearest = |text: &str| {
        let (third, query, model, pool) = (&third, unit(text), &model, &first.pool);
        async move {
            vectors::nearest(
                pool,
                third,
                org_id,
                &[help_id],
                llm_id,
                model,
                &query,
                1000,
                50,
            )
            .await
            .unwrap()
            .chunks
            .len()
        }
    };
    assert_eq!(nearest("reimbursement").await, 1);

    let shipping = ready(&first, &org, &help, "shipping.txt", SHIPPING).await;
    embedded(&first, &org, &shipping).await;
    let body = search(&second, &org, "package dispatched", &[&help]).await;
    assert_eq!(
        contents(&body),
        [SHIPPING],
        "the new document's vectors are seen"
    );
    assert_eq!(nearest("package dispatched").await, 1);

    let (status, _) = org
        .delete(&first, &format!("/v1/knowledge/documents/{refunds}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let body = search(&second, &org, "reimbursement", &[&help]).await;
    assert!(
        contents(&body).is_empty(),
        "the deleted document's vectors are gone: {body}"
    );
    // The search would not show a deleted chunk anyway (its row is read for the answer): the
    // copy itself must have lost it, or it would take a place among the nearest.
    assert_eq!(nearest("reimbursement").await, 0);
    assert_eq!(nearest("package dispatched").await, 1);
    let body = search(&second, &org, "package dispatched", &[&help]).await;
    assert_eq!(contents(&body), [SHIPPING]);
}

#[tokio::test]
async fn a_copy_is_never_another_organizations() {
    let app = TestApp::spawn().await;
    let server = FakeEmbeddings::start().await;
    let acme = app.org("acme").await;
    let globex = app.org("globex").await;
    embedding_entry(&app, &acme, &server).await;
    embedding_entry(&app, &globex, &server).await;
    let acme_help = folder(&app, &acme, "Help").await;
    let globex_help = folder(&app, &globex, "Help").await;
    let doc = ready(&app, &acme, &acme_help, "refunds.txt", REFUNDS).await;
    embedded(&app, &acme, &doc).await;
    let acme_help: Uuid = acme_help.parse().unwrap();
    let globex_help: Uuid = globex_help.parse().unwrap();
    let (acme_id, acme_llm, model) = owner(&app, acme_help).await;
    let (globex_id, globex_llm, _) = owner(&app, globex_help).await;
    let cache = VectorCache::new(1024 * 1024);
    let query = unit("reimbursement");
    let search = |org_id, llm_id| {
        let (pool, cache, query, model) = (&app.pool, &cache, &query, &model);
        async move {
            vectors::nearest(
                pool,
                cache,
                org_id,
                &[acme_help],
                llm_id,
                model,
                query,
                1000,
                50,
            )
            .await
            .unwrap()
            .chunks
        }
    };
    assert_eq!(
        search(acme_id, acme_llm).await.len(),
        1,
        "acme's copy is made"
    );
    assert!(cache.bytes() > 0);
    // Globex naming acme's folder, with either entry, finds nothing, copy or not.
    assert!(search(globex_id, globex_llm).await.is_empty());
    assert!(search(globex_id, acme_llm).await.is_empty());
    assert_eq!(search(acme_id, acme_llm).await.len(), 1);
}

/// Each process keeps the organization's embedding model between searches: a model changed or
/// an entry deleted through another instance is followed by the next search all the same.
#[tokio::test]
async fn a_second_instance_follows_the_embedding_model_changed_through_the_first() {
    let (first, second) = two_instances(quick_retries).await;
    let org = first.org("acme").await;
    let server = FakeEmbeddings::start().await;
    let llm = embedding_entry(&first, &org, &server).await;
    let help = folder(&first, &org, "Help").await;
    let refunds = ready(&first, &org, &help, "refunds.txt", REFUNDS).await;
    embedded(&first, &org, &refunds).await;
    // "reimbursement" shares no word with the passage: only its vector finds it.
    let body = search(&second, &org, "reimbursement", &[&help]).await;
    assert_eq!(body["ranking"], "hybrid");
    assert_eq!(contents(&body), [REFUNDS]);

    // Another model under the same entry: its vectors replace the old model's, so a second
    // instance still searching with the old one would find nothing.
    let path = format!("/v1/llms/{}", llm["id"].as_str().unwrap());
    let (status, body) = org
        .patch(
            &first,
            &path,
            &serde_json::json!({"model": "bag-of-words-2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM knowledge_embeddings WHERE model = 'bag-of-words-2'",
        )
        .fetch_one(&first.pool)
        .await
        .unwrap();
        if n == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not re-embedded");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let body = search(&second, &org, "reimbursement", &[&help]).await;
    assert_eq!(body["ranking"], "hybrid");
    assert_eq!(contents(&body), [REFUNDS], "searched with the new model");

    let (status, _) = org.delete(&first, &path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let body = search(&second, &org, "reimbursement", &[&help]).await;
    assert_eq!(body["ranking"], "lexical", "no model any more: {body}");
    assert!(contents(&body).is_empty(), "{body}");
}
