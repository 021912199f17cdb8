//! Embeddings: the organization's embedding model (its newest LLM entry of kind `embedding`)
//! turns chunks and queries into vectors. [`client`] speaks the OpenAI-compatible
//! `POST {baseUrl}/embeddings` under the outbound rules; [`worker`] embeds ready documents in
//! the background, apart from their processing, so a document is searchable lexically at once
//! and an embedding server that is down never fails it.

pub mod client;
pub mod worker;

pub use client::{EmbedBounds, EmbedFailure, Embedder, Model};
