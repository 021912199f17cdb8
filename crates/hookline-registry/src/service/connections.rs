//! Connections webhook tools authenticate with (OAuth2 client credentials). The client secret is
//! sealed like a tool's header values, shown only as the same masked preview, and never follows
//! `tokenUrl` to another origin unless it is sent again.

use crate::service::RegistryError;
use hookline_core::http::{CoreState, ListPage, ListParams};
use hookline_core::ids::ConnectionId;
use hookline_core::refusals::InUse;
use hookline_core::repo::connections::{self, secret_context, StoredConnection, NAME_CONSTRAINT};
use hookline_schema::{mask_header_value, ConnectionFields, ToolDefinition};
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::merge::{keeps_secret, origin_moved, patched_body};
use crate::connection_wire::ConnectionView;

/// The view of a stored connection, its secret opened only to compute the preview.
fn render(state: &CoreState, c: &StoredConnection) -> Result<ConnectionView, RegistryError> {
    let secret = c
        .open_secret(&state.settings.secrets)
        .map_err(RegistryError::internal)?;
    Ok(ConnectionView::new(c, mask_header_value(secret.expose())))
}

fn store_error(e: hookline_core::StoreError, name: &str) -> RegistryError {
    super::name_taken(e, NAME_CONSTRAINT, "a connection", "connection", name)
}

/// Stores a new connection, its client secret sealed.
pub async fn create(
    state: &CoreState,
    org_id: Uuid,
    fields: ConnectionFields,
) -> Result<ConnectionView, RegistryError> {
    let id = Uuid::now_v7();
    let sealed = state
        .settings
        .secrets
        .seal(&fields.client_secret, &secret_context(org_id, id));
    let stored = connections::insert(&state.pool, org_id, id, &fields, &sealed)
        .await
        .map_err(|e| store_error(e, &fields.name))?;
    tracing::info!(connection_id = %id, "connection created");
    render(state, &stored)
}

/// One page of the organization's connections, oldest first.
pub async fn list(
    state: &CoreState,
    org_id: Uuid,
    params: &ListParams,
) -> Result<ListPage<ConnectionView>, RegistryError> {
    let mut conn = state.pool.acquire().await?;
    let (found, total) =
        connections::list(&mut conn, org_id, params.search.as_deref(), params.page).await?;
    let data = found
        .iter()
        .map(|c| render(state, c))
        .collect::<Result<_, _>>()?;
    Ok(ListPage::new(data, total, params.page))
}

pub async fn get(
    state: &CoreState,
    org_id: Uuid,
    id: ConnectionId,
) -> Result<ConnectionView, RegistryError> {
    let c = connections::get(&state.pool, org_id, id.0)
        .await?
        .ok_or_else(|| RegistryError::NotFound("connection"))?;
    render(state, &c)
}

const RESEND: &str = "tokenUrl now points at another origin (scheme, host or port): send the \
    client secret again in full";

/// A partial update (JSON Merge Patch meaning, as everywhere). A `clientSecret` equal to the
/// current preview (or not sent) keeps the stored secret, as long as `tokenUrl` stays on the
/// same origin. The cached token is forgotten: the next call fetches one with the new fields.
pub async fn update(
    state: &CoreState,
    org_id: Uuid,
    id: ConnectionId,
    patch: Map<String, Value>,
) -> Result<ConnectionView, RegistryError> {
    let secrets = &state.settings.secrets;
    let mut tx = state.pool.begin().await?;
    let current = connections::lock(&mut tx, org_id, id.0)
        .await?
        .ok_or_else(|| RegistryError::NotFound("connection"))?;
    let stored_secret = current
        .open_secret(secrets)
        .map_err(RegistryError::internal)?;
    let preview = mask_header_value(stored_secret.expose());
    let keeps = keeps_secret(&patch, "clientSecret", Some(&preview));
    let kept = keeps.then(|| stored_secret.expose());
    let view = ConnectionView::new(&current, String::new());
    let merged = patched_body(&view, "clientSecret", patch, kept)?;
    let fields = ConnectionFields::parse(&merged, &state.settings.destinations)
        .map_err(RegistryError::Invalid)?;
    // Asked for only once the rest is valid: a broken URL is reported as such first.
    if keeps && origin_moved(&current.token_url, &fields.token_url) {
        return Err(RegistryError::field("clientSecret", RESEND));
    }
    let sealed = secrets.seal(&fields.client_secret, &secret_context(org_id, id.0));
    let stored = connections::update(&mut *tx, org_id, id.0, &fields, &sealed)
        .await
        .map_err(|e| store_error(e, &fields.name))?;
    tx.commit().await?;
    tracing::info!(connection_id = %id, "connection updated");
    render(state, &stored)
}

/// Deletes a connection. One that tools use is a 409 listing them as `tools`, unless `force`
/// (their calls then fail with kind `auth` until they name another connection).
pub async fn delete(
    state: &CoreState,
    org_id: Uuid,
    id: ConnectionId,
    force: bool,
) -> Result<(), RegistryError> {
    let mut tx = state.pool.begin().await?;
    connections::lock(&mut tx, org_id, id.0)
        .await?
        .ok_or_else(|| RegistryError::NotFound("connection"))?;
    let users = connections::tools_using(&mut *tx, org_id, id.0).await?;
    if !users.is_empty() && !force {
        return Err(InUse {
            what: "the connection",
            users,
            noun: "tool",
            key: "tools",
            instead: "change their connectionId first",
        }
        .into());
    }
    connections::delete(&mut *tx, org_id, id.0).await?;
    tx.commit().await?;
    tracing::info!(connection_id = %id, tools = users.len(), "connection deleted");
    Ok(())
}

/// Checks a webhook definition's `connectionId` (when set) names a connection of the
/// organization; 422 naming `{prefix}connectionId` otherwise.
pub(crate) async fn check_tool(
    db: &mut PgConnection,
    org_id: Uuid,
    definition: &ToolDefinition,
    prefix: &str,
) -> Result<(), RegistryError> {
    if let ToolDefinition::Server(webhook) = definition {
        if let Some(id) = webhook.connection_id {
            let field = hookline_schema::violations::join(prefix, "connectionId");
            connections::check_id(db, org_id, id, &field)
                .await?
                .map_err(RegistryError::Invalid)?;
        }
    }
    Ok(())
}
