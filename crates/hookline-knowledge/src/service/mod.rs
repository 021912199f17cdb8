//! Knowledge as a library: plain async functions the routes and the engine (to run a knowledge
//! tool) call alike. Each takes the shared [`CoreState`](hookline_core::http::CoreState), the
//! organization it acts for and input already read from its wire form, and returns the view the
//! API shows or a [`KnowledgeError`] (the routes make it a problem); every write runs in one
//! transaction.

pub mod documents;
mod error;
pub mod folders;
pub mod hybrid;
pub mod search;

pub use error::KnowledgeError;
