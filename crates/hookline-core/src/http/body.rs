//! Reading request bodies, queries and path ids the way the API contract says: any content type
//! is read as JSON, bodies over 1 MiB are a 413, bad JSON a 400, a path id that is not a UUID a 404.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde_json::Value;

use super::deadline::is_body_timeout;
use super::problem::ApiError;
use hookline_schema::violations::join;
use hookline_schema::Violations;

pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A request body parsed as JSON, whatever its `Content-Type`.
#[derive(Debug)]
pub struct JsonBody(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|e| {
                if is_body_timeout(&e) {
                    ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "the request body did not arrive in time (HOOKLINE_BODY_READ_TIMEOUT_SECONDS)",
                    )
                } else {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "the request body is larger than 1 MiB",
                    )
                }
            })?;
        let value = parse_json(&bytes)?;
        let mut found = Violations::new();
        refuse_nul(&value, "", true, &mut found);
        if !found.is_empty() {
            return Err(ApiError::invalid(found));
        }
        Ok(JsonBody(value))
    }
}

const NUL: &str = "must not contain the NUL character (U+0000)";

/// Postgres text cannot hold U+0000 (valid in JSON), so it is refused in every string and key of
/// a body, where it is named like any other broken field. The values a body only carries through
/// — a tool call's `arguments`, a client tool's `result` — are kept as JSON, which holds it.
fn refuse_nul(value: &Value, path: &str, top: bool, found: &mut Violations) {
    match value {
        Value::String(s) if s.contains('\0') => found.rule(path, NUL),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                refuse_nul(item, &format!("{path}[{i}]"), false, found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                if key.contains('\0') {
                    found.rule(path, format!("has a key that {NUL}"));
                    continue;
                }
                if top && (key == "arguments" || key == "result") {
                    continue;
                }
                refuse_nul(item, &join(path, key), false, found);
            }
        }
        _ => {}
    }
}

fn parse_json(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

impl JsonBody {
    /// The body as an object, or a 400 naming what it is instead.
    pub fn object(self) -> Result<serde_json::Map<String, Value>, ApiError> {
        match self.0 {
            Value::Object(map) => Ok(map),
            _ => Err(ApiError::bad_request(
                "the request body must be a JSON object",
            )),
        }
    }
}

/// The query string as a map (the last value of a repeated key wins).
#[derive(Debug, Default)]
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let map: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        if let Some((key, _)) = map
            .iter()
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return Err(ApiError::bad_request("a query parameter is invalid")
                .with_field(&key.replace('\0', "\\0"), NUL));
        }
        Ok(Self(map))
    }
}

impl QueryMap {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A boolean flag such as `?force=true`; anything but true/false is a 422.
    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        match self.get(key) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::field(key, "must be true or false")),
        }
    }
}
