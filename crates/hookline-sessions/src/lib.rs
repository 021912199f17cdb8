//! Sessions: single-use session tokens bound to a snapshot of a persona's tools, the sessions they
//! start, each session's client secret (the browser's credential for that session alone), the
//! tools in each LLM API's format, and the clean-up of what has expired.
//!
//! Two layers: [`service`] is the library an internal service links and calls without HTTP
//! (`hookline_sessions::issue_token`, `start`, `end`, re-exported here), and [`routes`] the REST
//! API over it, whose handlers only parse, call and answer.
//!
//! Depends on `hookline-schema` and `hookline-core` only.

pub mod janitor;
pub mod requests;
pub mod routes;
pub mod service;
pub mod views;

pub use routes::events::{OpenStreams, StreamSlot};
pub use routes::{preflight, router, SessionsApi, EVENTS_ROUTE};
pub use service::{
    end, follow_persona, issue_token, list, start, tools, SessionsError, TokenRequest,
};
pub use views::{SessionTokenView, SessionToolsView, SessionView, StartedSessionView};
