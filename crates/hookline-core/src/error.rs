//! What can go wrong in a repository, mapped once from sqlx's errors.

use sqlx::postgres::{PgDatabaseError, PgSeverity};

/// A repository failure. Driver text never leaves the process: the HTTP layer logs `Other` and
/// answers a generic 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint was violated; `constraint` is its name (e.g. `tools_org_name_key`).
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// The database cannot be reached or is going away (see [`is_outage`]); trying again later
    /// may succeed. The HTTP layer answers 503 with `Retry-After`.
    #[error("the database is not available")]
    Unavailable,
    #[error("sealed data could not be opened: {0}")]
    Secret(#[from] crate::secrets::SecretError),
    #[error("database error: {0}")]
    Other(sqlx::Error),
}

impl StoreError {
    /// Not the request's fault: the database is away, or a statement or a sealed value failed.
    /// (A missing row or a taken name is the request's.)
    pub fn is_fault(&self) -> bool {
        matches!(self, Self::Unavailable | Self::Other(_) | Self::Secret(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if is_outage(&e) {
            tracing::debug!(error = %e, "the database is not available");
            return Self::Unavailable;
        }
        match e {
            sqlx::Error::RowNotFound => Self::NotFound,
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

/// Whether `e` says the database is out of reach rather than that a statement was wrong: no
/// connection in time or the pool closed, the socket failed, the connection was lost (SQLSTATE
/// class 08), Postgres is shutting down or restarting (57P01 "terminating connection due to
/// administrator command", 57P02, 57P03), it has no connection slot left (53300), or any error
/// Postgres raised as FATAL or PANIC, which ends the session (a database that refuses
/// connections for a while, say). Such an error passes once the database is back.
pub fn is_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            code.starts_with("08")
                || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
                || db.try_downcast_ref::<PgDatabaseError>().is_some_and(|pg| {
                    matches!(pg.severity(), PgSeverity::Fatal | PgSeverity::Panic)
                })
        }
        _ => false,
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
