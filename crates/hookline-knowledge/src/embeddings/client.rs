//! One request to an embedding model: `POST {baseUrl}/embeddings` with `{"model", "input":
//! [...]}`, answered `{"data": [{"embedding": [...], "index": i}, ...]}`. It goes through the
//! SSRF-safe client the engine uses for every outbound call (vetted addresses, no redirects,
//! no proxies), within a time bound, and reads at most a bounded number of bytes. An answer is
//! taken whole or not at all: one vector too many, too few, of another length or too long
//! refuses the batch, so nothing half-right is ever stored.

use std::sync::Arc;
use std::time::Duration;

use hookline_core::repo::llms::StoredLlm;
use hookline_core::secrets::{SecretBox, SecretString};
use serde::Deserialize;
use serde_json::json;

/// Whether a URL may be called (the mode's scheme rule and literal addresses; names are vetted
/// by the client's resolver). The engine's rule, handed in because the engine depends on this
/// crate.
pub type Allowed = Arc<dyn Fn(&url::Url) -> bool + Send + Sync>;

/// Sends embedding requests through the engine's outbound client.
#[derive(Clone)]
pub struct Embedder {
    client: reqwest::Client,
    allowed: Allowed,
}

/// An embedding model ready to be called: its entry and its key, opened.
pub struct Model {
    pub llm: StoredLlm,
    api_key: Option<SecretString>,
}

impl Model {
    pub fn open(llm: StoredLlm, secrets: &SecretBox) -> Result<Self, EmbedFailure> {
        let api_key = llm.open_key(secrets).map_err(|_| {
            EmbedFailure::Unavailable("the embedding model's API key could not be opened".into())
        })?;
        Ok(Self { llm, api_key })
    }

    /// The entry's own bound (`timeoutSeconds`).
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.llm.timeout_seconds.max(1) as u64)
    }
}

/// What one answer may be.
#[derive(Debug, Clone, Copy)]
pub struct EmbedBounds {
    /// The most dimensions a vector may have.
    pub dimensions: usize,
    /// The most bytes of the answer read.
    pub response_bytes: usize,
    /// The longest the whole exchange may take.
    pub time: Duration,
}

/// Why a request gave no vectors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmbedFailure {
    /// Not reached, too slow, or it answered an error: worth trying again later.
    #[error("{0}")]
    Unavailable(String),
    /// It answered, but not with what was asked for.
    #[error("{0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct Answer {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    embedding: Vec<f64>,
    index: Option<usize>,
}

impl Embedder {
    pub fn new(client: reqwest::Client, allowed: Allowed) -> Self {
        Self { client, allowed }
    }

    /// One vector for each of `inputs`, in their order, each scaled to unit length (so cosine
    /// similarity is a dot product); all of one length.
    pub async fn embed(
        &self,
        model: &Model,
        inputs: &[String],
        bounds: EmbedBounds,
    ) -> Result<Vec<Vec<f32>>, EmbedFailure> {
        let body = tokio::time::timeout(bounds.time, self.exchange(model, inputs, bounds))
            .await
            .map_err(|_| {
                EmbedFailure::Unavailable(format!(
                    "the embedding model did not answer within {} ms",
                    bounds.time.as_millis()
                ))
            })??;
        vectors(&body, inputs.len(), bounds.dimensions)
    }

    async fn exchange(
        &self,
        model: &Model,
        inputs: &[String],
        bounds: EmbedBounds,
    ) -> Result<Vec<u8>, EmbedFailure> {
        let unavailable = |m: &str| EmbedFailure::Unavailable(m.to_owned());
        let url = url::Url::parse(&format!("{}/embeddings", model.llm.base_url))
            .map_err(|_| unavailable("the embedding model's address is not a URL"))?;
        if !(self.allowed)(&url) {
            return Err(unavailable("the embedding model's address is not allowed"));
        }
        let mut request = self
            .client
            .post(url)
            .json(&json!({"model": model.llm.model, "input": inputs}));
        if let Some(key) = &model.api_key {
            request = request.bearer_auth(key.expose());
        }
        let mut response = request.send().await.map_err(|e| {
            // reqwest's text may name addresses and is kept out of the message.
            tracing::warn!(llm_id = %model.llm.id, timeout = e.is_timeout(), "the embedding request failed");
            unavailable("could not connect to the embedding model")
        })?;
        let status = response.status();
        let too_large = || {
            EmbedFailure::Invalid(format!(
                "the embedding model's answer is larger than {} bytes \
                 (HOOKLINE_KNOWLEDGE_EMBED_RESPONSE_BYTES)",
                bounds.response_bytes
            ))
        };
        if response
            .content_length()
            .is_some_and(|n| n > bounds.response_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(piece) = response
            .chunk()
            .await
            .map_err(|_| unavailable("the embedding model's answer broke off"))?
        {
            if body.len() + piece.len() > bounds.response_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&piece);
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let short: String = text.chars().take(200).collect();
            return Err(EmbedFailure::Unavailable(format!(
                "the embedding model answered {}: {}",
                status.as_u16(),
                short.trim()
            )));
        }
        Ok(body)
    }
}

/// The answer's vectors in input order, checked whole: one per input, each index once, one
/// length for all within `max_dimensions`, every value a finite `f32`.
fn vectors(
    body: &[u8],
    count: usize,
    max_dimensions: usize,
) -> Result<Vec<Vec<f32>>, EmbedFailure> {
    let invalid = |m: String| EmbedFailure::Invalid(m);
    let answer: Answer = serde_json::from_slice(body).map_err(|e| {
        invalid(format!(
            "the embedding model's answer is not {{\"data\": [{{\"embedding\": [...]}}]}}: {e}"
        ))
    })?;
    if answer.data.len() != count {
        return Err(invalid(format!(
            "the embedding model answered {} vectors for {count} inputs",
            answer.data.len()
        )));
    }
    let mut out: Vec<Option<Vec<f32>>> = vec![None; count];
    let mut length = None;
    for (i, item) in answer.data.into_iter().enumerate() {
        let at = item.index.unwrap_or(i);
        let dims = item.embedding.len();
        if dims == 0 || dims > max_dimensions {
            return Err(invalid(format!(
                "the embedding model answered a vector of {dims} dimensions; at most \
                 {max_dimensions} are kept (HOOKLINE_KNOWLEDGE_EMBED_DIMENSIONS)"
            )));
        }
        if *length.get_or_insert(dims) != dims {
            return Err(invalid(format!(
                "the embedding model answered vectors of {} and {dims} dimensions in one answer",
                length.unwrap_or(dims)
            )));
        }
        let slot = out.get_mut(at).ok_or_else(|| {
            invalid(format!(
                "the embedding model answered index {at} for {count} inputs"
            ))
        })?;
        if slot.is_some() {
            return Err(invalid(format!(
                "the embedding model answered index {at} twice"
            )));
        }
        let mut vector: Vec<f32> = item.embedding.iter().map(|&x| x as f32).collect();
        if vector.iter().any(|x| !x.is_finite()) {
            return Err(invalid(
                "the embedding model answered a number too large for a vector".into(),
            ));
        }
        normalize(&mut vector);
        *slot = Some(vector);
    }
    // Every slot is filled: `count` items, each a distinct index below `count`.
    Ok(out.into_iter().flatten().collect())
}

/// Scales a vector to unit length; an all-zero vector stays as it is (similar to nothing).
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str, count: usize) -> Result<Vec<Vec<f32>>, EmbedFailure> {
        vectors(body.as_bytes(), count, 4)
    }

    #[test]
    fn answers_are_put_in_input_order_at_unit_length() {
        let v = read(
            r#"{"data": [{"embedding": [0, 2], "index": 1}, {"embedding": [3, 4], "index": 0}]}"#,
            2,
        )
        .unwrap();
        assert_eq!(v, vec![vec![0.6, 0.8], vec![0.0, 1.0]]);
    }

    #[test]
    fn a_wrong_answer_is_refused_whole() {
        let message = |body: &str, count| read(body, count).unwrap_err().to_string();
        assert!(message(r#"{"data": [{"embedding": [1]}]}"#, 2).contains("1 vectors for 2"));
        assert!(message(r#"{"data": [{"embedding": [1, 2, 3, 4, 5]}]}"#, 1)
            .contains("5 dimensions; at most 4"));
        assert!(message(
            r#"{"data": [{"embedding": [1]}, {"embedding": [1, 2]}]}"#,
            2
        )
        .contains("1 and 2 dimensions"));
        assert!(message(
            r#"{"data": [{"embedding": [1], "index": 0}, {"embedding": [1], "index": 0}]}"#,
            2
        )
        .contains("index 0 twice"));
        assert!(message(r#"{"data": [{"embedding": [1], "index": 7}]}"#, 1).contains("index 7"));
        assert!(message(r#"{"data": [{"embedding": [1e300]}]}"#, 1).contains("too large"));
        assert!(message(r#"{"vectors": []}"#, 1).contains("is not"));
    }
}
