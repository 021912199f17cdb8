//! What `/v1/connections` reads and answers: one type per wire shape.

use chrono::{DateTime, Utc};
use hookline_core::repo::connections::StoredConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A connection's fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInput {
    /// 1–100 characters, unique in the organization.
    pub name: String,
    /// `oauth2_client_credentials` (RFC 6749 §4.4), the only type so far.
    #[serde(rename = "type")]
    #[schema(example = "oauth2_client_credentials")]
    pub connection_type: String,
    /// Where access tokens are asked for; the same outbound rules as a webhook URL.
    #[schema(example = "https://auth.example.com/oauth/token")]
    pub token_url: String,
    /// 1–1024 characters.
    pub client_id: String,
    /// 1–8192 characters; sealed at rest, shown masked. Sending the masked preview back keeps
    /// the stored secret (unless `tokenUrl` moves to another origin).
    pub client_secret: String,
    /// Sent as `scope` with each token request (space-separated scopes).
    pub scope: Option<String>,
    /// Sent as `audience` with each token request (Auth0 and others ask for it).
    pub audience: Option<String>,
}

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
