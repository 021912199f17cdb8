//! What `/v1/connections` reads and answers: one type per wire shape.

use chrono::{DateTime, Utc};
use hookline_core::repo::connections::StoredConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Changes to a connection: the fields sent replace the stored ones, `null` clears `scope` or
/// `audience`. A `tokenUrl` on another origin needs `clientSecret` again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionPatch {
    #[schema(nullable = false)]
    pub name: Option<String>,
    #[serde(rename = "type")]
    #[schema(nullable = false)]
    pub connection_type: Option<String>,
    #[schema(nullable = false)]
    pub token_url: Option<String>,
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    #[schema(nullable = false)]
    pub client_secret: Option<String>,
    pub scope: Option<String>,
    pub audience: Option<String>,
}

/// A stored connection, its secret masked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub connection_type: String,
    pub token_url: String,
    pub client_id: String,
    /// `"••••"` and the last 4 characters (secrets of 12 characters or more), never the secret.
    pub client_secret: String,
    pub scope: Option<String>,
    pub audience: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How many tools use it (`connectionId`).
    pub usage_count: i64,
}

impl ConnectionView {
    /// The stored connection `c`, its secret shown as `secret_preview`.
    pub fn new(c: &StoredConnection, secret_preview: String) -> Self {
        Self {
            id: c.id,
            name: c.name.clone(),
            connection_type: c.connection_type.clone(),
            token_url: c.token_url.clone(),
            client_id: c.client_id.clone(),
            client_secret: secret_preview,
            scope: c.scope.clone(),
            audience: c.audience.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            usage_count: c.usage_count,
        }
    }
}
