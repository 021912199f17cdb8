//! What can go wrong in a repository, mapped once from sqlx's errors.

/// A repository failure. Driver text never leaves the process: the HTTP layer logs `Other` and
/// answers a generic 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated; `constraint` is its name (e.g. `tools_org_name_key`).
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// The pool had no connection to give in time.
    #[error("the database is not available")]
    Unavailable,
    #[error("sealed data could not be opened: {0}")]
    Secret(#[from] crate::secrets::SecretError),
    #[error("database error: {0}")]
    Other(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => Self::Unavailable,
            // 23505: unique violation; 23503: a row still referenced (in use) or gone meanwhile.
            sqlx::Error::Database(ref db)
                if matches!(db.code().as_deref(), Some("23505" | "23503")) =>
            {
                Self::Conflict {
                    constraint: db.constraint().unwrap_or_default().to_owned(),
                }
            }
            other => Self::Other(other),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
