//! Knowledge: an organization's folders of documents, processed into searchable chunks, and the
//! search a knowledge tool runs. Three parts: [`service`], the library (folders, uploads,
//! search) that routes and the engine call without HTTP; [`processing`], the durable work that
//! turns an uploaded file into chunks off the request path (claimed under a lease in Postgres, so
//! a crash resumes it and two instances never process one document twice); and [`routes`], the
//! REST API over the service.
//!
//! Depends on `hookline-schema` and `hookline-core` only; SQL stays in core's repositories
//! (`repo::knowledge`).

pub mod embeddings;
pub mod file_type;
mod openapi;
pub mod processing;
pub mod requests;
pub mod routes;
pub mod service;
pub mod views;

pub use embeddings::Embedder;
pub use openapi::KnowledgeApi;
pub use routes::router;
pub use service::{documents, folders, search};
