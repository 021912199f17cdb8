//! The sessions service as a library: issuing a session token, starting a session with it,
//! listing, ending and exporting a session's tools — plain async functions an internal service
//! calls without HTTP (`hookline_sessions::issue_token`, `start`, `end`...), each returning the
//! view the API shows or a [`SessionsError`] (the routes make it a problem).

mod error;
mod sessions;
mod tokens;

pub use error::SessionsError;
pub use sessions::{end, list, start, tools};
pub use tokens::{
    follow_persona, issue_token, TokenRequest, DEFAULT_LIFETIME_SECONDS, MAX_LIFETIME_SECONDS,
};
