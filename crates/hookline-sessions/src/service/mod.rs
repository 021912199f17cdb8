//! The sessions service as a library: issuing a session token, starting a session with it,
//! listing, finding, ending and exporting a session's tools — plain async functions an internal service
//! calls without HTTP (`hookline_sessions::issue_token`, `start`, `end`...), each returning the
//! view the API shows.

mod sessions;
mod tokens;

pub use sessions::{end, find, list, start, tools};
pub use tokens::{
    follow_persona, issue_token, TokenRequest, DEFAULT_LIFETIME_SECONDS, MAX_LIFETIME_SECONDS,
};
