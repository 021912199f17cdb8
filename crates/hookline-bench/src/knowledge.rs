//! Scenario 8, knowledge: a corpus of generated documents uploaded through the API and processed
//! by the server (ingestion, in MB of text per second), then lexical searches over it
//! (`POST /v1/knowledge/search`, driven by the load generator as scenario 8). The text is made
//! of a 20,000-word vocabulary of invented words drawn uniformly, so a two-word query matches
//! about 1,200 of 100,000 chunks of 120 words, the figure the search was first measured at
//! (docs/knowledge.md).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Value};

use crate::cpu::Used;
use crate::setup::Environment;

/// Words of the vocabulary: three of 28 syllables and an `n` (`bakodin`), 21,952 possible.
pub const VOCABULARY: u64 = 20_000;
/// Words of a chunk of the search corpus (one log line).
const WORDS_PER_CHUNK: usize = 120;
/// Log lines per uploaded document: the corpus is cut in documents of this many chunks.
const CHUNKS_PER_DOCUMENT: usize = 10_000;

const SYLLABLES: [&str; 28] = [
    "ba", "be", "bi", "bo", "bu", "da", "de", "di", "do", "du", "ka", "ke", "ki", "ko", "ku", "la",
    "le", "li", "lo", "lu", "ma", "me", "mi", "mo", "mu", "na", "ne", "ni",
];

/// The vocabulary's `i`th word.
pub fn word(i: u64) -> String {
    let i = (i % VOCABULARY) as usize;
    format!(
        "{}{}{}n",
        SYLLABLES[i / 784],
        SYLLABLES[(i / 28) % 28],
        SYLLABLES[i % 28]
    )
}

/// A small deterministic generator (xorshift64*): the same corpus and queries on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The next search's query: two words of the vocabulary, different on every call.
pub fn next_query() -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut rng = Rng::new(1_000_003 + CALLS.fetch_add(1, Ordering::Relaxed));
    format!(
        "{} {}",
        word(rng.below(VOCABULARY)),
        word(rng.below(VOCABULARY))
    )
}

/// One ingestion run: documents uploaded at once, timed from the first upload to the last
/// document `ready`.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub label: String,
    pub documents: usize,
    pub bytes: usize,
    pub chunks: u64,
    pub seconds: f64,
    /// CPU seconds per MB (10^6 bytes) of text.
    pub cpu: Used,
}

impl Ingested {
    pub fn mb_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds.max(1e-9)
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a client")
}

/// A new folder of the bench organization.
pub async fn folder(env: &Environment, name: &str) -> anyhow::Result<String> {
    folder_of(env, &env.key, name).await
}

/// A new folder of the organization of `key`.
pub async fn folder_of(env: &Environment, key: &str, name: &str) -> anyhow::Result<String> {
    let made: Value = client()
        .post(format!("http://{}/v1/knowledge/folders", env.hookline))
        .bearer_auth(key)
        .json(&json!({ "name": name }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(made["id"].as_str().context("a folder id")?.to_owned())
}

/// Uploads the documents (all at once, as raw bodies) and waits until every one is ready.
pub async fn ingest(
    env: &Environment,
    folder: &str,
    label: &str,
    documents: Vec<(String, Vec<u8>)>,
) -> anyhow::Result<Ingested> {
    ingest_as(env, &env.key, folder, label, documents).await
}

/// [`ingest`] for the organization of `key`.
pub async fn ingest_as(
    env: &Environment,
    key: &str,
    folder: &str,
    label: &str,
    documents: Vec<(String, Vec<u8>)>,
) -> anyhow::Result<Ingested> {
    let client = client();
    let bytes = documents.iter().map(|(_, d)| d.len()).sum();
    let count = documents.len();
    let before = env.probe.sample();
    let began = Instant::now();
    let mut ids = Vec::new();
    for (name, content) in documents {
        let made: Value = client
            .post(format!(
                "http://{}/v1/knowledge/folders/{folder}/documents?filename={name}",
                env.hookline
            ))
            .bearer_auth(key)
            .header("content-type", "text/plain")
            .body(content)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        ids.push(made["id"].as_str().context("a document id")?.to_owned());
    }
    let mut chunks = 0;
    for id in ids {
        loop {
            let doc: Value = client
                .get(format!(
                    "http://{}/v1/knowledge/documents/{id}",
                    env.hookline
                ))
                .bearer_auth(key)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            match doc["status"].as_str() {
                Some("ready") => {
                    chunks += doc["chunkCount"].as_u64().unwrap_or(0);
                    break;
                }
                Some("processing") => tokio::time::sleep(Duration::from_millis(50)).await,
                _ => anyhow::bail!("document {id} was not processed: {doc}"),
            }
        }
    }
    let seconds = began.elapsed().as_secs_f64();
    let cpu = before
        .until(&env.probe.sample())
        .per_second(bytes as f64 / 1e6);
    Ok(Ingested {
        label: label.to_owned(),
        documents: count,
        bytes,
        chunks,
        seconds,
        cpu,
    })
}

/// The search corpus: `chunks` log lines of 120 words, in documents of 10,000 lines.
pub fn log_corpus(chunks: usize) -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng::new(42);
    let mut documents = Vec::new();
    let mut made = 0;
    while made < chunks {
        let lines = CHUNKS_PER_DOCUMENT.min(chunks - made);
        let mut text = String::with_capacity(lines * WORDS_PER_CHUNK * 8);
        for _ in 0..lines {
            for w in 0..WORDS_PER_CHUNK {
                if w > 0 {
                    text.push(' ');
                }
                text.push_str(&word(rng.below(VOCABULARY)));
            }
            text.push('\n');
        }
        made += lines;
        documents.push((format!("corpus-{}.log", documents.len()), text.into_bytes()));
    }
    documents
}

/// Prose of about `bytes` bytes as Markdown: a heading every five paragraphs of 40–100 words,
/// sentences of 6–16 words.
pub fn prose(bytes: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut text = String::with_capacity(bytes + 1024);
    let mut paragraph = 0;
    while text.len() < bytes {
        if paragraph % 5 == 0 {
            text.push_str(&format!(
                "\n## {} {}\n\n",
                word(rng.below(VOCABULARY)),
                word(rng.below(VOCABULARY))
            ));
        }
        let mut words = 40 + rng.below(61);
        while words > 0 {
            let sentence = (6 + rng.below(11)).min(words);
            for w in 0..sentence {
                let next = word(rng.below(VOCABULARY));
                if w == 0 {
                    let mut c = next.chars();
                    let first = c.next().unwrap_or('b').to_ascii_uppercase();
                    text.push(first);
                    text.push_str(c.as_str());
                } else {
                    text.push(' ');
                    text.push_str(&next);
                }
            }
            text.push_str(". ");
            words -= sentence;
        }
        text.push_str("\n\n");
        paragraph += 1;
    }
    text.into_bytes()
}

/// Scenario 8h's organization gets the bench's embedding model ([`crate::embedder`]), so its
/// searches are hybrid.
pub async fn connect_embedder(env: &Environment) -> anyhow::Result<()> {
    let addr = crate::embedder::start().await?;
    client()
        .post(format!("http://{}/v1/llms", env.hookline))
        .bearer_auth(&env.hybrid_key)
        .json(&crate::embedder::entry(addr))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// Waits until every chunk of the folder has its vector; the seconds it took.
pub async fn embedded(env: &Environment, folder: &str, chunks: u64) -> anyhow::Result<f64> {
    use sqlx::Connection;
    let began = Instant::now();
    let mut db = sqlx::PgConnection::connect(&env.database_url).await?;
    let folder: uuid::Uuid = folder.parse()?;
    loop {
        let (n,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM knowledge_embeddings WHERE folder_id = $1")
                .bind(folder)
                .fetch_one(&mut db)
                .await?;
        if u64::try_from(n).unwrap_or(0) >= chunks {
            return Ok(began.elapsed().as_secs_f64());
        }
        anyhow::ensure!(
            began.elapsed() < Duration::from_secs(1800),
            "the folder was not embedded in 30 minutes ({n} of {chunks} vectors)"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One search of the folder, as the organization of `key`.
pub async fn search_once(env: &Environment, key: &str, folder: &str) -> anyhow::Result<()> {
    client()
        .post(format!("http://{}/v1/knowledge/search", env.hookline))
        .bearer_auth(key)
        .json(&json!({"query": next_query(), "folderIds": [folder]}))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}
