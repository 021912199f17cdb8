//! The SQL of Hookline, one module per table family. Functions take an executor so that a
//! handler can run several of them in one transaction; every query names its organization.

pub mod api_keys;
pub mod organizations;
pub mod signing_secrets;

use sqlx::PgConnection;

use crate::error::StoreResult;
use crate::secrets::SecretBox;

/// Re-seals, under the current key, every sealed value made with an older one (for
/// `hookline secrets rotate`). Returns how many values were re-sealed.
pub async fn reseal_all(conn: &mut PgConnection, secrets: &SecretBox) -> StoreResult<u64> {
    signing_secrets::reseal_all(conn, secrets).await
}
