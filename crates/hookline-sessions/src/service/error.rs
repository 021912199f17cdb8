//! What issuing, starting and finding sessions can fail with, in the service's own words. The
//! routes say each one as an HTTP problem (`routes/problems.rs`).

use hookline_core::repo::sessions::TokenRefusal;
use hookline_core::StoreError;
use hookline_schema::Violations;

#[derive(Debug, thiserror::Error)]
pub enum SessionsError {
    /// The session token cannot start a session.
    #[error("{}", refusal_text(*.0))]
    TokenRefused(TokenRefusal),
    /// No such session (or other resource) for this organization.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// Fields that break a rule, every one listed by its path.
    #[error("{0}")]
    Invalid(Violations),
    /// Two tools of one name would be in one session.
    #[error("two tools named {0:?}: a persona's tool names must be unique")]
    RepeatedToolName(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn refusal_text(refusal: TokenRefusal) -> &'static str {
    match refusal {
        TokenRefusal::Unknown => "the session token is unknown",
        TokenRefusal::AlreadyUsed => "the session token has been used already",
        TokenRefusal::Expired => "the session token has expired",
    }
}

impl SessionsError {
    /// Not the request's fault: the database is away, or something of ours failed.
    pub fn is_fault(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_fault())
    }

    /// One field that breaks a rule.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(Violations::single(field, message))
    }
}

impl From<sqlx::Error> for SessionsError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}
