//! A deterministic OpenAI-compatible embedding server for the tests (`POST /v1/embeddings`), on
//! 127.0.0.1 port 0. A text's vector is a bag of its words hashed into [`DIMENSIONS`]
//! dimensions, so texts sharing words are near; a few synonyms are counted as the word they
//! stand for, so a paraphrase is near its passage without sharing a word with it. It can be
//! told to be down or to answer wrongly.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

pub const DIMENSIONS: usize = 64;

/// Words counted as another (a paraphrase's words that the passage does not hold).
const SYNONYMS: &[(&str, &str)] = &[
    ("reimbursement", "refund"),
    ("reimbursed", "refund"),
    ("money", "refund"),
    ("package", "parcel"),
    ("dispatched", "leave"),
];

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// 503 to everything.
    Down,
    /// Vectors of this many dimensions (all zero but the first).
    Dimensions(usize),
    /// A valid answer padded with this many spaces.
    Padded(usize),
    /// Answers this many requests (counted from the first the server got), then 503.
    DownAfter(usize),
    /// Answers after this many milliseconds.
    Slow(u64),
}

pub struct FakeEmbeddings {
    pub addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    inputs: Arc<Mutex<Vec<Vec<String>>>>,
}

fn word_of(raw: &str) -> Option<String> {
    let w: String = raw
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    if w.len() < 3 {
        return None;
    }
    let w = SYNONYMS
        .iter()
        .find(|(s, _)| *s == w)
        .map_or(w.clone(), |(_, to)| (*to).to_owned());
    // "refunds" and "refund" are one word.
    Some(w.strip_suffix('s').map_or(w.clone(), str::to_owned))
}

/// The bag-of-words vector of `text` (FNV-1a of each word picks its dimension).
pub fn vector(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; DIMENSIONS];
    for word in text.split_whitespace().filter_map(word_of) {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in word.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        v[(h % DIMENSIONS as u64) as usize] += 1.0;
    }
    v
}

impl FakeEmbeddings {
    pub async fn start() -> Self {
        let mode = Arc::new(Mutex::new(Mode::Normal));
        let inputs: Arc<Mutex<Vec<Vec<String>>>> = Arc::default();
        let (m, seen) = (mode.clone(), inputs.clone());
        let app = axum::Router::new().route(
            "/v1/embeddings",
            axum::routing::post(move |body: axum::Json<Value>| {
                let (m, seen) = (m.clone(), seen.clone());
                async move {
                    let texts: Vec<String> = body["input"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|t| t.as_str().unwrap().to_owned())
                        .collect();
                    let served = {
                        let mut seen = seen.lock().unwrap();
                        seen.push(texts.clone());
                        seen.len()
                    };
                    let mode = *m.lock().unwrap();
                    if let Mode::Slow(ms) = mode {
                        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                    }
                    let data = |f: &dyn Fn(&str) -> Vec<f32>| -> Value {
                        let items: Vec<Value> = texts
                            .iter()
                            .enumerate()
                            .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": f(t)}))
                            .collect();
                        json!({"object": "list", "data": items, "model": body["model"]})
                    };
                    let (status, text) = match mode {
                        Mode::Down => (503, r#"{"error": {"message": "overloaded"}}"#.to_owned()),
                        Mode::DownAfter(n) if served > n => {
                            (503, r#"{"error": {"message": "overloaded"}}"#.to_owned())
                        }
                        Mode::Normal | Mode::DownAfter(_) | Mode::Slow(_) => {
                            (200, data(&vector).to_string())
                        }
                        Mode::Dimensions(n) => (
                            200,
                            data(&|_| {
                                let mut v = vec![0.0; n];
                                v[0] = 1.0;
                                v
                            })
                            .to_string(),
                        ),
                        Mode::Padded(n) => {
                            (200, format!("{}{}", data(&vector), " ".repeat(n)))
                        }
                    };
                    axum::response::Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(axum::body::Body::from(text))
                        .unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, mode, inputs }
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// The inputs of every request so far, one list a request.
    pub fn inputs(&self) -> Vec<Vec<String>> {
        self.inputs.lock().unwrap().clone()
    }

    /// The body of an LLM entry of kind `embedding` pointing here.
    pub fn entry(&self, name: &str) -> Value {
        json!({"name": name, "kind": "embedding", "provider": "openai",
               "baseUrl": format!("http://{}/v1", self.addr), "model": "bag-of-words",
               "apiKey": "sk-embed-0123456789"})
    }
}

#[test]
fn synonyms_share_a_dimension_and_other_words_rarely_do() {
    let dot = |a: &str, b: &str| {
        vector(a)
            .iter()
            .zip(vector(b))
            .map(|(x, y)| x * y)
            .sum::<f32>()
    };
    assert!(dot("reimbursement", "Refunds are paid within 14 days") > 0.0);
    assert_eq!(
        dot("reimbursement", "Parcels leave our warehouse in Lyon"),
        0.0
    );
}
