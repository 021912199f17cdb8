//! Turning a tool and the LLM's arguments into the exact HTTP request to send.
//!
//! Path templates are filled (percent-encoded) and their arguments leave the rest; `GET` and
//! `DELETE` carry what remains in the query string, `POST`, `PUT` and `PATCH` in a JSON body;
//! `queryParameters` always go to the query string; the tool's headers are added; every request is
//! signed (Standard Webhooks) with `webhook-id` = the call id.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};
use url::Url;

use hookline_core::SecretString;
use hookline_schema::endpoint::{fill_templates, templates};
use hookline_schema::{mask_header_value, Violations, WebhookTool};

use crate::signing::signature_header;

pub const USER_AGENT: &str = concat!("Hookline/", env!("CARGO_PKG_VERSION"), " (webhook tools)");

/// What may stand unescaped in a path segment: RFC 3986's unreserved characters.
pub(crate) const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
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
    /// The view of a request whose variables are masked (see `call::variables`).
    pub shown: Option<Value>,
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
    build_at(tool, &tool.url, headers, arguments, signing)
}

/// [`build`] with `tool_url` in place of the tool's own: the tool's url with its variables filled
/// (`call::variables`), so that filling them never copies the whole tool.
pub fn build_at(
    tool: &WebhookTool,
    tool_url: &str,
    headers: &[(String, SecretString)],
    arguments: &Map<String, Value>,
    signing: &Signing<'_>,
) -> Result<BuiltRequest, BuildError> {
    let problems = path_problems(tool_url, |name| arguments.get(name));
    if !problems.is_empty() {
        return Err(BuildError(format!(
            "the arguments cannot fill the url: {problems}"
        )));
    }
    let mut rest = arguments.clone();
    let found = templates(tool_url).map_err(|e| BuildError(format!("the tool's url {e}")))?;
    let filled = fill_templates(tool_url, &found, |name| {
        // shift_remove keeps the order of the other arguments (remove would swap the last in).
        let value = rest.shift_remove(name).unwrap_or(Value::Null);
        utf8_percent_encode(&scalar_text(&value), PATH_SEGMENT).to_string()
    });
    let mut url =
        Url::parse(&filled).map_err(|e| BuildError(format!("the filled URL is invalid: {e}")))?;
    // Belt and braces behind `path_value_problems`: a filled value never adds or removes a
    // path segment.
    let template_segments = Url::parse(&fill_templates(tool_url, &found, |_| "x".into()))
        .map(|u| u.path_segments().map_or(0, Iterator::count));
    if template_segments != Ok(url.path_segments().map_or(0, Iterator::count)) {
        return Err(BuildError(
            "a path template value changed the url's path segments".into(),
        ));
    }

    let query_names = property_names(tool.query_parameters.as_ref());
    let declared = declared_names(tool);
    // Keys the tool's URL fixes (`?scope=read`): an argument never adds to or overrides them.
    let fixed: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    let mut query: Vec<(String, Value)> = Vec::new();
    let mut body = Map::new();
    for (name, value) in rest {
        if declared.as_ref().is_some_and(|d| !d.contains(&name)) {
            tracing::debug!(argument = %name, "an undeclared argument is not sent");
            continue;
        }
        if query_names.contains(&name) || !tool.method.has_body() {
            if fixed.contains(&name) {
                tracing::debug!(argument = %name, "the url fixes this query key; not sent");
                continue;
            }
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
            secret: !tool.plain_headers.contains(name),
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
        shown: None,
    })
}

/// The property names a schema declares.
fn property_names(schema: Option<&Value>) -> Vec<String> {
    schema
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// The arguments a tool may send: `None` (all of them) when neither `parameters` nor
/// `queryParameters` declares `properties`, else exactly the declared ones.
fn declared_names(tool: &WebhookTool) -> Option<Vec<String>> {
    let schemas = [tool.parameters.as_ref(), tool.query_parameters.as_ref()];
    let declares = schemas
        .iter()
        .flatten()
        .any(|s| s.get("properties").is_some_and(Value::is_object));
    declares.then(|| schemas.into_iter().flat_map(property_names).collect())
}

/// How many times a path value is percent-decoded to look for a dot segment (a receiver, or a
/// proxy before it, may decode more than once).
const DECODE_ROUNDS: usize = 3;

/// Problems with the values the URL's path templates would take, each under `arguments.<name>`:
/// missing, empty, or `.`/`..` (as a whole or between slashes, as given or after percent-decoding),
/// any of which would make the request reach another path than the template's.
pub fn path_value_problems(tool: &WebhookTool, arguments: &Value) -> Violations {
    path_problems(&tool.url, |name| arguments.get(name))
}

/// [`path_value_problems`] of `url`, each argument read by `argument`.
fn path_problems<'a>(url: &str, argument: impl Fn(&str) -> Option<&'a Value>) -> Violations {
    let mut v = Violations::new();
    let Ok(found) = templates(url) else {
        return v;
    };
    for t in found {
        let field = format!("arguments.{}", t.name);
        match argument(&t.name) {
            None | Some(Value::Null) => {
                v.rule(
                    field,
                    "is required: it fills a path segment of the tool's url",
                );
            }
            Some(value) if walks_the_path(&scalar_text(value)) => v.rule(
                field,
                "must not be empty, \".\" or \"..\" (in any encoding): it fills a path segment \
                 of the tool's url",
            ),
            Some(_) => {}
        }
    }
    v
}

pub(crate) fn walks_the_path(text: &str) -> bool {
    let mut current = text.to_owned();
    for _ in 0..=DECODE_ROUNDS {
        let dot_part = current
            .split(['/', '\\'])
            .any(|part| part == "." || part == "..");
        if current.is_empty() || dot_part {
            return true;
        }
        let decoded = percent_decode_str(&current)
            .decode_utf8_lossy()
            .into_owned();
        if decoded == current {
            return false;
        }
        current = decoded;
    }
    false
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
        if let Some(shown) = &self.shown {
            return shown.clone();
        }
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

    /// [`masked_view`](Self::masked_view), moving the view out when it was made beforehand (a
    /// request with variables) rather than copying it.
    pub fn take_view(&mut self) -> Value {
        self.shown.take().unwrap_or_else(|| self.masked_view())
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
            "parameters": {"type": "object", "properties": {"orderId": {"type": "string"},
                "tags": {}, "verbose": {}, "n": {}, "filter": {}, "none": {}}}}),
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
            "parameters": {"type": "object", "properties": {"subject": {"type": "string"}}},
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

    fn tenant_tool() -> WebhookTool {
        tool(
            json!({"type": "server", "subtype": "webhook", "name": "t", "description": "d",
            "url": "https://api.example.com/v1/tenants/{tenant}/users/{id}/orders", "method": "GET",
            "parameters": {"type": "object", "properties": {"tenant": {"type": "string"}, "id": {}}}}),
        )
    }

    #[test]
    fn path_values_never_walk_the_path() {
        let t = tenant_tool();
        for bad in [
            json!(""),
            json!("."),
            json!(".."),
            json!("%2e%2E"),
            json!("%2e"),
            json!("%252e%252e"),
            json!("../admin"),
            json!("a/../../b"),
            json!("..\\x"),
        ] {
            let args = json!({"tenant": "acme", "id": bad});
            let found = path_value_problems(&t, &args);
            let fields: Vec<_> = found.errors().iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["arguments.id"], "{bad}");
            assert!(build(&t, &[], args.as_object().unwrap(), &signing()).is_err());
        }
        let missing = path_value_problems(&t, &json!({"tenant": "acme"}));
        assert_eq!(missing.errors()[0].field, "arguments.id");
        // Dots inside a segment, and slashes, stay inside the one segment.
        for (good, path) in [
            (json!("a..b"), "/v1/tenants/acme/users/a..b/orders"),
            (json!("x/y"), "/v1/tenants/acme/users/x%2Fy/orders"),
            (json!("..."), "/v1/tenants/acme/users/.../orders"),
            (json!(7), "/v1/tenants/acme/users/7/orders"),
        ] {
            let args = json!({"tenant": "acme", "id": good});
            assert!(path_value_problems(&t, &args).is_empty(), "{good}");
            let built = build(&t, &[], args.as_object().unwrap(), &signing()).unwrap();
            assert_eq!(built.url.path(), path);
        }
    }

    #[test]
    fn only_declared_arguments_are_sent_and_the_urls_query_keys_stay_fixed() {
        let t = tool(
            json!({"type": "server", "subtype": "webhook", "name": "t", "description": "d",
            "url": "https://x.com/items?scope=read", "method": "GET",
            "parameters": {"type": "object", "properties": {"scope": {"type": "string"}, "q": {"type": "string"}}}}),
        );
        let args = json!({"scope": "admin", "q": "x", "extra": "y"});
        let built = build(&t, &[], args.as_object().unwrap(), &signing()).unwrap();
        assert_eq!(built.url.query(), Some("scope=read&q=x"));
        // A POST sends declared body arguments in the body, the URL's keys are left alone there.
        let t = tool(
            json!({"type": "server", "subtype": "webhook", "name": "t", "description": "d",
            "url": "https://x.com/items?scope=read",
            "parameters": {"type": "object", "properties": {"scope": {"type": "string"}}},
            "queryParameters": {"type": "object", "properties": {"page": {"type": "integer"}}}}),
        );
        let args = json!({"scope": "admin", "page": 2, "extra": true});
        let built = build(&t, &[], args.as_object().unwrap(), &signing()).unwrap();
        assert_eq!(built.url.query(), Some("scope=read&page=2"));
        assert_eq!(
            built.body.as_deref(),
            Some(br#"{"scope":"admin"}"#.as_slice())
        );
        // Without any declared properties every argument goes, but still never to a fixed key.
        let t = tool(
            json!({"type": "server", "subtype": "webhook", "name": "t", "description": "d",
            "url": "https://x.com/items?scope=read", "method": "DELETE"}),
        );
        let args = json!({"scope": "admin", "other": 1});
        let built = build(&t, &[], args.as_object().unwrap(), &signing()).unwrap();
        assert_eq!(built.url.query(), Some("scope=read&other=1"));
    }
}
