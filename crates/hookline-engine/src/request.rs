//! Turning a tool and the LLM's arguments into the exact HTTP request to send.
//!
//! Path templates are filled (percent-encoded) and their arguments leave the rest; `GET` and
//! `DELETE` carry what remains in the query string, `POST`, `PUT` and `PATCH` in a JSON body;
//! `queryParameters` always go to the query string; the tool's headers are added; every request is
//! signed (Standard Webhooks) with `webhook-id` = the call id.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};
use url::Url;

use hookline_core::SecretString;
use hookline_schema::endpoint::{fill_templates, templates};
use hookline_schema::{mask_header_value, WebhookTool};

use crate::signing::signature_header;

pub const USER_AGENT: &str = concat!("Hookline/", env!("CARGO_PKG_VERSION"), " (webhook tools)");

/// What may stand unescaped in a path segment: RFC 3986's unreserved characters.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One header of the request; `secret` ones are the tool's own and shown masked.
#[derive(Debug, Clone)]
pub struct Header {
    pub name: String,
    pub value: String,
    pub secret: bool,
}

#[derive(Debug, Clone)]
pub struct BuiltRequest {
    pub method: &'static str,
    pub url: Url,
    pub headers: Vec<Header>,
    pub body: Option<Vec<u8>>,
}

/// The signing part of a request.
pub struct Signing<'a> {
    pub call_id: &'a str,
    pub timestamp: i64,
    pub secrets: &'a [String],
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

pub fn build(
    tool: &WebhookTool,
    headers: &[(String, SecretString)],
    arguments: &Map<String, Value>,
    signing: &Signing<'_>,
) -> Result<BuiltRequest, BuildError> {
    let mut rest = arguments.clone();
    let found = templates(&tool.url).map_err(|e| BuildError(format!("the tool's url {e}")))?;
    let filled = fill_templates(&tool.url, &found, |name| {
        // shift_remove keeps the order of the other arguments (remove would swap the last in).
        let value = rest.shift_remove(name).unwrap_or(Value::Null);
        utf8_percent_encode(&scalar_text(&value), PATH_SEGMENT).to_string()
    });
    let mut url =
        Url::parse(&filled).map_err(|e| BuildError(format!("the filled URL is invalid: {e}")))?;

    let query_names: Vec<String> = tool
        .query_parameters
        .as_ref()
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let mut query: Vec<(String, Value)> = Vec::new();
    let mut body = Map::new();
    for (name, value) in rest {
        if query_names.contains(&name) || !tool.method.has_body() {
            query.push((name, value));
        } else {
            body.insert(name, value);
        }
    }
    append_query(&mut url, &query);

    let body = tool
        .method
        .has_body()
        .then(|| serde_json::to_vec(&Value::Object(body)).expect("JSON values serialize"));

    let mut out: Vec<Header> = headers
        .iter()
        .map(|(name, value)| Header {
            name: name.clone(),
            value: value.expose().to_owned(),
            secret: true,
        })
        .collect();
    let has = |out: &[Header], name: &str| out.iter().any(|h| h.name.eq_ignore_ascii_case(name));
    if body.is_some() && !has(&out, "content-type") {
        out.push(plain("content-type", "application/json"));
    }
    if !has(&out, "user-agent") {
        out.push(plain("user-agent", USER_AGENT));
    }
    let signed_body = body.as_deref().unwrap_or_default();
    out.push(plain("webhook-id", signing.call_id));
    out.push(plain("webhook-timestamp", &signing.timestamp.to_string()));
    out.push(plain(
        "webhook-signature",
        &signature_header(
            signing.secrets.iter().map(String::as_str),
            signing.call_id,
            signing.timestamp,
            signed_body,
        ),
    ));
    Ok(BuiltRequest {
        method: tool.method.as_str(),
        url,
        headers: out,
        body,
    })
}

fn plain(name: &str, value: &str) -> Header {
    Header {
        name: name.to_owned(),
        value: value.to_owned(),
        secret: false,
    }
}

/// A value as text in a URL: strings as they are, everything else as its JSON text.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Appends arguments to the query string (kept as the URL had it): arrays as repeated keys,
/// objects as JSON text, `null` left out.
fn append_query(url: &mut Url, query: &[(String, Value)]) {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (name, value) in query {
        match value {
            Value::Null => {}
            Value::Array(items) => {
                for item in items.iter().filter(|i| !i.is_null()) {
                    pairs.push((name, scalar_text(item)));
                }
            }
            other => pairs.push((name, scalar_text(other))),
        }
    }
    if !pairs.is_empty() {
        url.query_pairs_mut()
            .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
    }
}

impl BuiltRequest {
    /// The request as the call log and the test route show it: header values of the tool masked.
    pub fn masked_view(&self) -> Value {
        let headers: Map<String, Value> = self
            .headers
            .iter()
            .map(|h| {
                let value = if h.secret {
                    mask_header_value(&h.value)
                } else {
                    h.value.clone()
                };
                (h.name.clone(), Value::String(value))
            })
            .collect();
        let body = self.body.as_ref().map(|b| {
            serde_json::from_slice(b)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into()))
        });
        json!({"method": self.method, "url": self.url.as_str(), "headers": headers, "body": body})
    }

    pub fn to_reqwest(&self, client: &reqwest::Client) -> Result<reqwest::Request, BuildError> {
        let method = reqwest::Method::from_bytes(self.method.as_bytes())
            .map_err(|e| BuildError(e.to_string()))?;
        let mut builder = client.request(method, self.url.clone());
        for h in &self.headers {
            builder = builder.header(h.name.as_str(), h.value.as_str());
        }
        if let Some(body) = &self.body {
            builder = builder.body(body.clone());
        }
        builder
            .build()
            .map_err(|e| BuildError(format!("the request cannot be built: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookline_schema::{DestinationPolicy, ToolDefinition};

    fn tool(value: Value) -> WebhookTool {
        match ToolDefinition::parse(&value, "", &DestinationPolicy::development()).unwrap() {
            ToolDefinition::Server(t) => t,
            _ => unreachable!(),
        }
    }

    fn signing() -> Signing<'static> {
        Signing {
            call_id: "call-1",
            timestamp: 1_700_000_000,
            secrets: &[],
        }
    }

    #[test]
    fn get_puts_arguments_in_the_query_and_fills_templates() {
        let t = tool(
            json!({"type": "server", "subtype": "webhook", "name": "t", "description": "d",
            "url": "https://x.com/orders/{orderId}/items?fixed=1", "method": "GET",
            "parameters": {"type": "object", "properties": {"orderId": {"type": "string"}}}}),
        );
        let args = json!({"orderId": "A/B 1", "tags": ["a", "b"], "verbose": true, "n": 2, "filter": {"x": 1}, "none": null});
        let built = build(&t, &[], args.as_object().unwrap(), &signing()).unwrap();
        assert_eq!(
            built.url.as_str(),
            "https://x.com/orders/A%2FB%201/items?fixed=1&tags=a&tags=b&verbose=true&n=2&filter=%7B%22x%22%3A1%7D"
        );
        assert!(built.body.is_none());
    }

    #[test]
    fn post_sends_json_and_query_parameters_stay_in_the_query() {
        let t = tool(
            json!({"type": "server", "subtype": "webhook", "name": "t", "description": "d",
            "url": "https://x.com/tickets", "headers": {"Authorization": "Bearer secret-token-1234"},
            "queryParameters": {"type": "object", "properties": {"dryRun": {"type": "boolean"}}}}),
        );
        let headers = vec![(
            "Authorization".to_owned(),
            SecretString::new("Bearer secret-token-1234".into()),
        )];
        let args = json!({"subject": "Broken", "dryRun": false});
        let built = build(&t, &headers, args.as_object().unwrap(), &signing()).unwrap();
        assert_eq!(built.url.as_str(), "https://x.com/tickets?dryRun=false");
        assert_eq!(
            built.body.as_deref(),
            Some(br#"{"subject":"Broken"}"#.as_slice())
        );
        let view = built.masked_view();
        assert_eq!(view["headers"]["Authorization"], "••••1234");
        assert_eq!(view["headers"]["content-type"], "application/json");
        assert_eq!(view["headers"]["webhook-id"], "call-1");
        assert!(!view.to_string().contains("secret-token"));
    }
}
