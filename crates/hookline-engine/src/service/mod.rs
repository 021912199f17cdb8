//! The engine's library besides [`Engine::call`](crate::Engine::call): plain async functions an
//! internal service links and calls without HTTP, each taking input already read from its wire
//! form. The routes over them only parse, call and answer.

pub mod client_results;
