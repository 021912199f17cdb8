//! The SQL of Hookline, one module per table family. Functions take an executor so that a
//! handler can run several of them in one transaction; every query names its organization.

pub mod api_keys;
pub mod batch;
pub mod events;
pub mod followups;
pub mod knowledge;
pub mod llms;
pub mod locks;
pub mod messages;
pub mod organizations;
pub mod personas;
pub mod retention;
pub mod sessions;
pub mod signing_secrets;
pub mod tool_calls;
pub mod tools;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::StoreResult;
use crate::secrets::{SecretBox, SecretError};

/// Which page of a list to read (`page` from 1). The repositories' own type, so that they import
/// nothing from `http`; the HTTP layer reads it from `?page=&perPage=` (`http::Pagination`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: i64,
    pub per_page: i64,
}

impl Page {
    /// Rows to skip; saturating, since `page` may be as large as `i64::MAX`.
    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// JSON as text, for binding to a `json` column: sqlx would send its `Json` wrapper as `jsonb`,
/// which forgets the key order before the column ever sees it.
pub fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("our types always serialize")
}

/// A sealed value that could not be opened, by organization and kind (e.g. "signing secret",
/// "header Authorization of tool <id>").
#[derive(Debug)]
pub struct Unopened {
    pub org_id: Uuid,
    pub what: String,
    pub error: SecretError,
}

/// What a re-sealing pass did: how many values moved to the current key, and every value it
/// could not open (left untouched).
#[derive(Debug, Default)]
pub struct Resealing {
    pub resealed: u64,
    pub unopened: Vec<Unopened>,
}

impl Resealing {
    /// `sealed` re-sealed under the current key, or `None` when it is current already or does
    /// not open (then it is reported as `what` of `org_id`).
    fn reseal(
        &mut self,
        secrets: &SecretBox,
        sealed: &str,
        context: &str,
        org_id: Uuid,
        what: impl FnOnce() -> String,
    ) -> Option<String> {
        if !secrets.is_stale(sealed) {
            return None;
        }
        match secrets.reseal(sealed, context) {
            Ok(fresh) => Some(fresh),
            Err(error) => {
                self.unopened.push(Unopened {
                    org_id,
                    what: what(),
                    error,
                });
                None
            }
        }
    }

    fn headers(&mut self, org_id: Uuid, owner: &str, result: (u64, Vec<(String, SecretError)>)) {
        self.resealed += result.0;
        for (header, error) in result.1 {
            self.unopened.push(Unopened {
                org_id,
                what: format!("header {header} of {owner}"),
                error,
            });
        }
    }
}

/// Re-seals, under the current key, every sealed value made with an older one (for
/// `hookline secrets rotate`): signing secrets, tools' header values, and the header values
/// carried in session tokens' and sessions' snapshots, and LLM API keys. A value that does not
/// open is reported and the others are still re-sealed.
pub async fn reseal_all(conn: &mut PgConnection, secrets: &SecretBox) -> StoreResult<Resealing> {
    let mut done = Resealing::default();
    signing_secrets::reseal_all(&mut *conn, secrets, &mut done).await?;
    tools::reseal_all(&mut *conn, secrets, &mut done).await?;
    sessions::reseal_all(&mut *conn, secrets, &mut done).await?;
    llms::reseal_all(&mut *conn, secrets, &mut done).await?;
    Ok(done)
}
