//! Session variables a tool's `response.assign` stored (sealed) for later tools of the session.

use sqlx::PgExecutor;
use uuid::Uuid;

use crate::error::StoreResult;

/// Stores sealed values under their names, replacing older ones of the same name.
pub async fn put_many(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    values: &[(String, String)],
) -> StoreResult<()> {
    let (names, sealed): (Vec<String>, Vec<String>) = values.iter().cloned().unzip();
    sqlx::query!(
        r#"INSERT INTO session_variables (session_id, name, sealed_value)
           SELECT $1, n, v FROM unnest($2::text[], $3::text[]) AS t(n, v)
           ON CONFLICT (session_id, name) DO UPDATE
               SET sealed_value = excluded.sealed_value, updated_at = now()"#,
        session_id,
        &names,
        &sealed,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The sealed values stored for `names` (those that have one).
pub async fn get_many(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    names: &[String],
) -> StoreResult<Vec<(String, String)>> {
    let rows = sqlx::query!(
        r#"SELECT name, sealed_value FROM session_variables
           WHERE session_id = $1 AND name = ANY($2::text[])"#,
        session_id,
        names,
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.name, r.sealed_value)).collect())
}
