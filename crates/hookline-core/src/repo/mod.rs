//! The SQL of Hookline, one module per table family. Functions take an executor so that a
//! handler can run several of them in one transaction; every query names its organization.

pub mod api_keys;
pub mod events;
pub mod organizations;
pub mod personas;
pub mod sessions;
pub mod signing_secrets;
pub mod tool_calls;
pub mod tools;

use sqlx::PgConnection;

use crate::error::StoreResult;
use crate::secrets::SecretBox;

/// JSON as text, for binding to a `json` column: sqlx would send its `Json` wrapper as `jsonb`,
/// which forgets the key order before the column ever sees it.
pub fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("our types always serialize")
}

/// Re-seals, under the current key, every sealed value made with an older one (for
/// `hookline secrets rotate`): signing secrets, tools' header values, and the header values
/// carried in session tokens' and sessions' snapshots. Returns how many values were re-sealed.
pub async fn reseal_all(conn: &mut PgConnection, secrets: &SecretBox) -> StoreResult<u64> {
    Ok(signing_secrets::reseal_all(&mut *conn, secrets).await?
        + tools::reseal_all(&mut *conn, secrets).await?
        + sessions::reseal_all(&mut *conn, secrets).await?)
}
