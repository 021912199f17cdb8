//! The OAuth2 client credentials grant (RFC 6749 §4.4): one token request, sent through the same
//! SSRF-safe client as webhooks (vetting resolver, no redirects, no proxies, size cap), and its
//! answer read. Hand-written on our client rather than through an OAuth2 crate, which would bring
//! its own HTTP client and so sidestep those rules.
//!
//! The client authenticates with HTTP Basic (RFC 6749 §2.3.1: every server must accept it; the
//! id and secret are form-encoded before base64, as the RFC asks). `scope` and `audience` go in
//! the form body when the connection has them.

use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use hookline_core::secrets::SecretString;

use super::{send, SendError};

/// What a token endpoint gave.
#[derive(Debug)]
pub struct Granted {
    pub access_token: SecretString,
    /// `expires_in`, when the answer had it.
    pub expires_in: Option<Duration>,
}

/// Why no token was had. The messages name no secret and no URL; they are what the LLM hears.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenError {
    /// The endpoint could not be reached, or failed on its side (5xx): kind `connection`.
    #[error("{0}")]
    Unreachable(String),
    /// The endpoint refused the credentials or answered something that is not a token, or the
    /// connection is gone or unusable: kind `auth`.
    #[error("{0}")]
    Refused(String),
}

/// The longest token answer read; a real one is a few hundred bytes.
const MAX_TOKEN_ANSWER_BYTES: usize = 64 * 1024;

/// What a client credentials request asks for.
pub struct TokenRequest<'a> {
    pub token_url: &'a url::Url,
    pub client_id: &'a str,
    pub client_secret: &'a SecretString,
    pub scope: Option<&'a str>,
    pub audience: Option<&'a str>,
}

/// Asks the token endpoint for an access token, within `timeout`.
pub async fn fetch(
    client: &reqwest::Client,
    ask: &TokenRequest<'_>,
    timeout: Duration,
) -> Result<Granted, TokenError> {
    let form = form_body(ask);
    let request = client
        .post(ask.token_url.clone())
        .header(reqwest::header::AUTHORIZATION, basic(ask))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .body(form)
        .build()
        .map_err(|_| TokenError::Refused("the connection's token URL is not usable".into()))?;
    let answer = send(client, request, timeout).await.map_err(|e| match e {
        SendError::Blocked(b) => {
            b.log();
            TokenError::Refused(
                "the connection's token endpoint is not an allowed destination".into(),
            )
        }
        SendError::Timeout(m) => TokenError::Unreachable(format!("the token endpoint: {m}")),
        SendError::Connection(m) => TokenError::Unreachable(format!("the token endpoint: {m}")),
        SendError::TooLarge { .. } => {
            TokenError::Refused("the token endpoint answered with more than 1 MiB".into())
        }
    })?;
    if answer.body.len() > MAX_TOKEN_ANSWER_BYTES {
        return Err(TokenError::Refused(
            "the token endpoint answered with more than 64 KiB".into(),
        ));
    }
    read_answer(answer.status, &answer.body)
}

/// The form: `grant_type=client_credentials`, with `scope` and `audience` when set.
fn form_body(ask: &TokenRequest<'_>) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials");
    if let Some(scope) = ask.scope {
        form.append_pair("scope", scope);
    }
    if let Some(audience) = ask.audience {
        form.append_pair("audience", audience);
    }
    form.finish()
}

/// `Basic base64(urlencode(id):urlencode(secret))`.
fn basic(ask: &TokenRequest<'_>) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!(
        "{}:{}",
        encode(ask.client_id),
        encode(ask.client_secret.expose())
    );
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Reads a token endpoint's answer: a 2xx JSON object with a Bearer `access_token`.
pub fn read_answer(status: u16, body: &[u8]) -> Result<Granted, TokenError> {
    if (500..600).contains(&status) {
        return Err(TokenError::Unreachable(format!(
            "the token endpoint failed with HTTP {status}"
        )));
    }
    let json: Option<Value> = serde_json::from_slice(body).ok();
    if !(200..300).contains(&status) {
        // RFC 6749 §5.2: `error` is a short code such as invalid_client; it names no secret.
        let code = json
            .as_ref()
            .and_then(|j| j.get("error"))
            .and_then(Value::as_str)
            .filter(|c| c.len() <= 64 && c.chars().all(|c| c.is_ascii_graphic()))
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        return Err(TokenError::Refused(format!(
            "the token endpoint refused the connection's credentials with HTTP {status}{code}"
        )));
    }
    let not_a_token = || TokenError::Refused("the token endpoint's answer is not a token".into());
    let json = json.ok_or_else(not_a_token)?;
    let token = json
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(not_a_token)?;
    if let Some(kind) = json.get("token_type").and_then(Value::as_str) {
        if !kind.eq_ignore_ascii_case("bearer") {
            return Err(TokenError::Refused(format!(
                "the token endpoint gave a token of type {:?}, not Bearer",
                hookline_core::text::cut(kind, 32)
            )));
        }
    }
    // Some servers send `expires_in` as a string.
    let expires_in = match json.get("expires_in") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|s| s.is_finite() && *s > 0.0)
    .map(|s| Duration::from_secs_f64(s.min(366.0 * 86_400.0)));
    Ok(Granted {
        access_token: SecretString::new(token.to_owned()),
        expires_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tokens_and_refusals() {
        let ok = read_answer(
            200,
            br#"{"access_token":"abc","token_type":"bearer","expires_in":"120"}"#,
        )
        .unwrap();
        assert_eq!(ok.access_token.expose(), "abc");
        assert_eq!(ok.expires_in, Some(Duration::from_secs(120)));
        let no_expiry = read_answer(200, br#"{"access_token":"abc"}"#).unwrap();
        assert_eq!(no_expiry.expires_in, None);
        for (status, body) in [
            (200, &b"<html>hi</html>"[..]),
            (200, br#"{"token":"x"}"#),
            (200, br#"{"access_token":"a","token_type":"mac"}"#),
            (401, br#"{"error":"invalid_client"}"#),
        ] {
            assert!(
                matches!(read_answer(status, body), Err(TokenError::Refused(_))),
                "{status}"
            );
        }
        let refused = read_answer(400, br#"{"error":"invalid_client"}"#).unwrap_err();
        assert!(refused.to_string().contains("invalid_client"));
        assert!(matches!(
            read_answer(503, b""),
            Err(TokenError::Unreachable(_))
        ));
    }
}
