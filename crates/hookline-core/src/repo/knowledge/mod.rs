//! Knowledge folders, their documents (each also its own processing job) and the searchable
//! chunks of ready documents.

pub mod chunks;
pub mod documents;
pub mod embeddings;
pub mod folders;
