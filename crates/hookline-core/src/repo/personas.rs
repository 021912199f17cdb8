//! Personas and the ordered list of tools each one may call.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use hookline_schema::{PersonaDetails, PersonaFields};

use crate::error::StoreResult;
use crate::repo::tools::like_pattern;
use crate::repo::Page;

#[derive(Debug, Clone)]
pub struct Persona {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub system_prompt: Option<String>,
    pub llm_id: Option<String>,
    pub language_code: Option<String>,
    pub avatar_id: Option<String>,
    pub voice_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Persona {
    /// The persona's fields beside its name, as every other form of a persona holds them.
    pub fn details(&self) -> PersonaDetails {
        PersonaDetails {
            description: self.description.clone(),
            system_prompt: self.system_prompt.clone(),
            llm_id: self.llm_id.clone(),
            language_code: self.language_code.clone(),
            avatar_id: self.avatar_id.clone(),
            voice_id: self.voice_id.clone(),
        }
    }
}

/// A tool as a persona lists it.
#[derive(Debug, Clone)]
pub struct PersonaTool {
    pub persona_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub tool_type: String,
    pub subtype: Option<String>,
}

pub async fn insert(
    conn: &mut PgConnection,
    org_id: Uuid,
    p: &PersonaFields,
) -> StoreResult<Persona> {
    let persona = sqlx::query_as!(
        Persona,
        "INSERT INTO personas (id, org_id, name, description, system_prompt, llm_id,
             language_code, avatar_id, voice_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING id, org_id, name, description, system_prompt, llm_id, language_code,
             avatar_id, voice_id, created_at, updated_at",
        Uuid::now_v7(),
        org_id,
        p.name,
        p.details.description,
        p.details.system_prompt,
        p.details.llm_id,
        p.details.language_code,
        p.details.avatar_id,
        p.details.voice_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    set_tools(conn, persona.id, &p.tool_ids).await?;
    Ok(persona)
}

pub async fn update(
    conn: &mut PgConnection,
    org_id: Uuid,
    id: Uuid,
    p: &PersonaFields,
) -> StoreResult<Persona> {
    let persona = sqlx::query_as!(
        Persona,
        "UPDATE personas SET name = $3, description = $4, system_prompt = $5, llm_id = $6,
             language_code = $7, avatar_id = $8, voice_id = $9, updated_at = now()
         WHERE org_id = $1 AND id = $2
         RETURNING id, org_id, name, description, system_prompt, llm_id, language_code,
             avatar_id, voice_id, created_at, updated_at",
        org_id,
        id,
        p.name,
        p.details.description,
        p.details.system_prompt,
        p.details.llm_id,
        p.details.language_code,
        p.details.avatar_id,
        p.details.voice_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    set_tools(conn, id, &p.tool_ids).await?;
    Ok(persona)
}

/// Replaces a persona's tools with `tool_ids`, in that order.
pub async fn set_tools(
    conn: &mut PgConnection,
    persona_id: Uuid,
    tool_ids: &[Uuid],
) -> StoreResult<()> {
    sqlx::query!(
        "DELETE FROM persona_tools WHERE persona_id = $1",
        persona_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO persona_tools (persona_id, tool_id, position)
         SELECT $1, id, n FROM unnest($2::uuid[]) WITH ORDINALITY AS t(id, n)",
        persona_id,
        tool_ids,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<Option<Persona>> {
    Ok(sqlx::query_as!(
        Persona,
        "SELECT id, org_id, name, description, system_prompt, llm_id, language_code, avatar_id,
             voice_id, created_at, updated_at
         FROM personas WHERE org_id = $1 AND id = $2",
        org_id,
        id,
    )
    .fetch_optional(db)
    .await?)
}

/// Locks the persona's row for the rest of the transaction.
pub async fn lock(conn: &mut PgConnection, org_id: Uuid, id: Uuid) -> StoreResult<Option<Persona>> {
    Ok(sqlx::query_as!(
        Persona,
        "SELECT id, org_id, name, description, system_prompt, llm_id, language_code, avatar_id,
             voice_id, created_at, updated_at
         FROM personas WHERE org_id = $1 AND id = $2 FOR UPDATE",
        org_id,
        id,
    )
    .fetch_optional(conn)
    .await?)
}

pub async fn delete(db: impl PgExecutor<'_>, org_id: Uuid, id: Uuid) -> StoreResult<bool> {
    let done = sqlx::query!(
        "DELETE FROM personas WHERE org_id = $1 AND id = $2",
        org_id,
        id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn list(
    db: &mut PgConnection,
    org_id: Uuid,
    search: Option<&str>,
    page: Page,
) -> StoreResult<(Vec<Persona>, i64)> {
    let pattern = search.map(like_pattern);
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "total!" FROM personas WHERE org_id = $1
             AND ($2::text IS NULL OR name ILIKE $2 OR description ILIKE $2)"#,
        org_id,
        pattern.as_deref(),
    )
    .fetch_one(&mut *db)
    .await?;
    let rows = sqlx::query_as!(
        Persona,
        "SELECT id, org_id, name, description, system_prompt, llm_id, language_code, avatar_id,
             voice_id, created_at, updated_at
         FROM personas WHERE org_id = $1
           AND ($2::text IS NULL OR name ILIKE $2 OR description ILIKE $2)
         ORDER BY created_at, id LIMIT $3 OFFSET $4",
        org_id,
        pattern.as_deref(),
        page.per_page,
        page.offset(),
    )
    .fetch_all(&mut *db)
    .await?;
    Ok((rows, total))
}

/// The tools of these personas, each persona's in its order.
pub async fn tools_of(
    db: impl PgExecutor<'_>,
    persona_ids: &[Uuid],
) -> StoreResult<Vec<PersonaTool>> {
    Ok(sqlx::query_as!(
        PersonaTool,
        r#"SELECT pt.persona_id, t.id, t.name, t.tool_type, t.definition->>'subtype' AS "subtype?"
           FROM persona_tools pt JOIN tools t ON t.id = pt.tool_id
           WHERE pt.persona_id = ANY($1) ORDER BY pt.persona_id, pt.position"#,
        persona_ids,
    )
    .fetch_all(db)
    .await?)
}

/// Appends a tool to a persona's list (nothing happens if it is there already).
pub async fn attach(conn: &mut PgConnection, persona_id: Uuid, tool_id: Uuid) -> StoreResult<()> {
    sqlx::query!(
        "INSERT INTO persona_tools (persona_id, tool_id, position)
         SELECT $1, $2, COALESCE(max(position), 0) + 1 FROM persona_tools WHERE persona_id = $1
         ON CONFLICT DO NOTHING",
        persona_id,
        tool_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a tool from a persona's list; false when it was not there.
pub async fn detach(db: impl PgExecutor<'_>, persona_id: Uuid, tool_id: Uuid) -> StoreResult<bool> {
    let done = sqlx::query!(
        "DELETE FROM persona_tools WHERE persona_id = $1 AND tool_id = $2",
        persona_id,
        tool_id,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
