//! Connections (`/v1/connections`): credentials Hookline uses on a webhook tool's behalf, and
//! every rule their fields follow. Only OAuth2 client credentials (RFC 6749 §4.4) for now; the
//! token URL is an outbound destination like a webhook URL, so it goes through the same check.

use serde_json::Value;
use utoipa::ToSchema;

use crate::destination::DestinationPolicy;
use crate::endpoint::check_url;
use crate::fields::{object_at, Fields};
use crate::violations::Violations;

pub const MAX_CONNECTION_NAME_CHARS: usize = 100;
pub const MAX_CLIENT_ID_CHARS: usize = 1024;
pub const MAX_CLIENT_SECRET_CHARS: usize = 8192;
pub const MAX_SCOPE_CHARS: usize = 2048;
pub const MAX_AUDIENCE_CHARS: usize = 2048;

/// The one kind of connection so far.
pub const OAUTH2_CLIENT_CREDENTIALS: &str = "oauth2_client_credentials";

/// What a connection is: OAuth2 client credentials (RFC 6749 §4.4) is the only kind so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionType {
    OAuth2ClientCredentials,
}

/// A connection's fields.
// A connection's fields as [`ConnectionFields::parse`] reads them, `client_secret` in plain text
// (the caller seals it), and the body of `POST /v1/connections` in the OpenAPI document (named
// `ConnectionInput` there): one type, so the document and the checker cannot say two things.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[schema(as = ConnectionInput)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionFields {
    /// 1–100 characters, unique in the organization.
    pub name: String,
    /// `oauth2_client_credentials` (RFC 6749 §4.4), the only type so far.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "oauth2_client_credentials")]
    pub connection_type: ConnectionType,
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

impl ConnectionFields {
    /// Parses a connection body, reporting every problem with its field path.
    pub fn parse(value: &Value, policy: &DestinationPolicy) -> Result<Self, Violations> {
        let map = object_at(value, "")?;
        let mut v = Violations::new();
        let mut f = Fields::new(map, "", &mut v);
        let name = text(&mut f, "name", MAX_CONNECTION_NAME_CHARS, true);
        if let Some(kind) = f.required_string("type") {
            if kind != OAUTH2_CLIENT_CREDENTIALS {
                f.v.rule(
                    "type",
                    format!("must be \"{OAUTH2_CLIENT_CREDENTIALS}\" (not \"{kind}\")"),
                );
            }
        }
        let token_url = f.required_string("tokenUrl").and_then(|url| {
            let problem = match check_url(url, policy) {
                Err(message) => Some(message),
                Ok(templates) if !templates.is_empty() => Some("must not hold {templates}".into()),
                Ok(_) => None,
            };
            match problem {
                Some(message) => {
                    f.v.rule("tokenUrl", message);
                    None
                }
                None => Some(url.to_owned()),
            }
        });
        let client_id = text(&mut f, "clientId", MAX_CLIENT_ID_CHARS, true);
        let client_secret = f.required_string("clientSecret").and_then(|secret| {
            if secret.is_empty() || secret.chars().count() > MAX_CLIENT_SECRET_CHARS {
                f.v.rule(
                    "clientSecret",
                    format!("must be 1 to {MAX_CLIENT_SECRET_CHARS} characters"),
                );
                None
            } else if secret.chars().any(char::is_control) {
                f.v.rule("clientSecret", "must not contain control characters");
                None
            } else {
                Some(secret.to_owned())
            }
        });
        let scope = text(&mut f, "scope", MAX_SCOPE_CHARS, false);
        let audience = text(&mut f, "audience", MAX_AUDIENCE_CHARS, false);
        f.finish("a connection");
        if !v.is_empty() {
            return Err(v);
        }
        Ok(Self {
            name: name.expect("checked above"),
            connection_type: ConnectionType::OAuth2ClientCredentials,
            token_url: token_url.expect("checked above"),
            client_id: client_id.expect("checked above"),
            client_secret: client_secret.expect("checked above"),
            scope,
            audience,
        })
    }
}

/// A string of 1..=max characters, not blank, without control characters.
fn text(f: &mut Fields, key: &'static str, max: usize, required: bool) -> Option<String> {
    let text = if required {
        f.required_string(key)
    } else {
        f.string(key)
    }?;
    if text.trim().is_empty() {
        f.v.rule(key, "must not be empty or blank");
        None
    } else if text.chars().count() > max {
        f.v.rule(key, format!("must be at most {max} characters"));
        None
    } else if text.chars().any(char::is_control) {
        f.v.rule(key, "must not contain control characters");
        None
    } else {
        Some(text.to_owned())
    }
}

/// A webhook tool's `connectionId`: `Some(None)` when absent, `None` when it is refused. Whether
/// it names a connection of the organization is checked by the registry, which sees the
/// database. A tool that sets its own `Authorization` header could not also send the
/// connection's token, so the two together are refused.
pub(crate) fn parse_connection_id(
    f: &mut Fields,
    headers: Option<&indexmap::IndexMap<String, String>>,
) -> Option<Option<uuid::Uuid>> {
    let Some(value) = f.get("connectionId") else {
        return Some(None);
    };
    let path = f.path("connectionId");
    let Some(text) = value.as_str() else {
        f.v.wrong_type(path, "a connection id (a UUID string)");
        return None;
    };
    let Ok(id) = uuid::Uuid::parse_str(text) else {
        f.v.rule(path, "is not a connection of your organization");
        return None;
    };
    if let Some(name) = headers
        .into_iter()
        .flat_map(|h| h.keys())
        .find(|k| k.eq_ignore_ascii_case("authorization"))
    {
        let header = crate::violations::join(&f.path("headers"), name);
        f.v.rule(
            header,
            "is set by the connection (connectionId); remove one of them",
        );
        return None;
    }
    Some(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prod() -> DestinationPolicy {
        DestinationPolicy::production(vec![])
    }

    fn fields(err: Violations) -> Vec<String> {
        err.errors().iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn reads_a_client_credentials_connection() {
        let c = ConnectionFields::parse(
            &json!({"name": "crm", "type": "oauth2_client_credentials",
                    "tokenUrl": "https://auth.example.com/oauth/token", "clientId": "abc",
                    "clientSecret": "s3cret", "scope": "orders:read", "audience": null}),
            &prod(),
        )
        .unwrap();
        assert_eq!(c.client_id, "abc");
        assert_eq!(c.scope.as_deref(), Some("orders:read"));
        assert_eq!(c.audience, None);
    }

    #[test]
    fn reports_every_problem_by_field() {
        let err = ConnectionFields::parse(
            &json!({"name": " ", "type": "basic", "tokenUrl": "https://10.0.0.1/token",
                    "clientId": "", "clientSecret": "a\nb", "scope": "s".repeat(2049),
                    "colour": 1}),
            &prod(),
        )
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "name",
                "type",
                "tokenUrl",
                "clientId",
                "clientSecret",
                "scope",
                "colour"
            ]
        );
        let err = ConnectionFields::parse(&json!({}), &prod()).unwrap_err();
        assert_eq!(
            fields(err),
            ["name", "type", "tokenUrl", "clientId", "clientSecret"]
        );
        let err = ConnectionFields::parse(
            &json!({"name": "x", "type": "oauth2_client_credentials",
                    "tokenUrl": "http://auth.example.com/{tenant}/token", "clientId": "a",
                    "clientSecret": "b"}),
            &DestinationPolicy::development(),
        )
        .unwrap_err();
        assert_eq!(fields(err), ["tokenUrl"]);
    }
}
