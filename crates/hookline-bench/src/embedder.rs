//! Scenario 8h's embedding model: an OpenAI-compatible `POST /v1/embeddings` on 127.0.0.1 port
//! 0 answering deterministic vectors of [`DIMENSIONS`] (the size of OpenAI's
//! `text-embedding-3-small`), so a hybrid search costs what it would with a real model's vectors.
//! A text's vector is its words and their three-letter pieces hashed into the dimensions (a
//! word shares pieces with its other forms: "refund" with "refunds"), with a hashed sign so
//! unrelated texts are near orthogonal. It knows no meaning: a paraphrase sharing no word
//! with its passage is not near it, so the retrieval quality it gives is the lexical search's
//! plus word forms, not a real model's.

use std::net::SocketAddr;

use serde_json::{json, Value};

pub const DIMENSIONS: usize = 1536;
pub const MODEL: &str = "bench-hashed-1536";

fn hash(piece: &str) -> u64 {
    // FNV-1a.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in piece.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The text's vector (not scaled: Hookline scales every vector it is given to unit length).
pub fn vector(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; DIMENSIONS];
    let mut add = |piece: &str, weight: f32| {
        let h = hash(piece);
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        v[(h % DIMENSIONS as u64) as usize] += sign * weight;
    };
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let word = word.to_lowercase();
        add(&word, 1.0);
        let padded: Vec<char> = format!("^{word}$").chars().collect();
        for piece in padded.windows(3) {
            add(&piece.iter().collect::<String>(), 0.3);
        }
    }
    v
}

/// Starts the server; it runs until the process ends.
pub async fn start() -> anyhow::Result<SocketAddr> {
    let app = axum::Router::new().route(
        "/v1/embeddings",
        axum::routing::post(|body: axum::Json<Value>| async move {
            let texts: Vec<String> = match &body["input"] {
                Value::String(one) => vec![one.clone()],
                Value::Array(many) => many
                    .iter()
                    .map(|t| t.as_str().unwrap_or_default().to_owned())
                    .collect(),
                _ => Vec::new(),
            };
            let data: Vec<Value> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": vector(t)}))
                .collect();
            axum::Json(json!({"object": "list", "data": data, "model": MODEL}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The LLM entry of kind `embedding` pointing at the server.
pub fn entry(addr: SocketAddr) -> Value {
    json!({"name": "bench-embeddings", "kind": "embedding", "provider": "openai",
           "baseUrl": format!("http://{addr}/v1"), "model": MODEL,
           "apiKey": "sk-bench-0123456789"})
}
