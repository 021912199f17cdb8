//! LLM connections (`/v1/llms`): where a persona's conversation runtime sends its requests, and
//! every rule their fields follow. `baseUrl` is an outbound destination like a webhook URL, so it
//! goes through the same check.

use serde_json::Value;
use utoipa::ToSchema;

use crate::destination::DestinationPolicy;
use crate::endpoint::check_url;
use crate::fields::{object_at, Fields};
use crate::violations::Violations;

pub const MAX_LLM_NAME_CHARS: usize = 100;
pub const MAX_MODEL_CHARS: usize = 200;
pub const MAX_API_KEY_CHARS: usize = 8192;
pub const DEFAULT_LLM_TIMEOUT_SECONDS: i64 = 30;
pub const MAX_LLM_TIMEOUT_SECONDS: i64 = 120;
pub const MAX_TOKENS_LIMIT: i64 = 100_000;

/// Which wire API an LLM speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// OpenAI Chat Completions, and every server offering the same API.
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "openai" => Some(Self::OpenAi),
            "anthropic" => Some(Self::Anthropic),
            _ => None,
        }
    }

    /// Where requests go when no `baseUrl` is given.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Self::OpenAi => "https://api.openai.com/v1",
            Self::Anthropic => "https://api.anthropic.com",
        }
    }
}

/// What an LLM entry is for. Fixed once the entry exists: a persona's `llmId` must name a chat
/// entry, and an organization's knowledge vectors belong to its embedding entry, so changing
/// one's kind would leave either pointing at the wrong thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlmKind {
    /// Talks with a persona's user (Chat Completions or Messages).
    Chat,
    /// Turns text into vectors for knowledge search (OpenAI-compatible `POST /embeddings`).
    Embedding,
}

impl LlmKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::Embedding => "embedding",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "chat" => Some(Self::Chat),
            "embedding" => Some(Self::Embedding),
            _ => None,
        }
    }
}

/// An LLM connection's fields (all optional in an update).
// An LLM's fields as [`LlmFields::parse`] reads them, `api_key` in plain text (the caller seals
// it), and the body of `POST /v1/llms` in the OpenAPI document (named `LlmInput` there): one
// type, so the document and the checker cannot say two things.
#[derive(Debug, Clone, PartialEq, ToSchema)]
#[schema(as = LlmInput)]
#[serde(rename_all = "camelCase")]
pub struct LlmFields {
    /// 1–100 characters, unique in the organization.
    pub name: String,
    /// `chat` (default: a persona talks through it) or `embedding` (an OpenAI-compatible
    /// `POST /embeddings` model knowledge search embeds with; provider `openai`, no
    /// `temperature` or `maxTokens`). Fixed once the entry exists.
    #[schema(value_type = Option<String>, example = "chat")]
    pub kind: LlmKind,
    /// `openai` (Chat Completions and compatible servers) or `anthropic` (Messages).
    #[schema(value_type = String, example = "openai")]
    pub provider: Provider,
    /// Default `https://api.openai.com/v1` (openai) or `https://api.anthropic.com` (anthropic);
    /// the same outbound rules as a webhook URL.
    // Kept without a trailing `/`, so paths can be appended.
    #[schema(value_type = Option<String>)]
    pub base_url: String,
    /// 1–200 characters.
    pub model: String,
    /// Sealed at rest; sending the masked preview back keeps the stored key.
    pub api_key: Option<String>,
    /// 0–2.
    pub temperature: Option<f64>,
    /// 1–100,000.
    pub max_tokens: Option<i64>,
    /// 1–120 (default 30): bounds each LLM request, not a whole turn.
    #[schema(value_type = Option<i64>)]
    pub timeout_seconds: i64,
}

impl LlmFields {
    /// Parses an LLM body, reporting every problem with its field path.
    pub fn parse(value: &Value, policy: &DestinationPolicy) -> Result<Self, Violations> {
        let map = object_at(value, "")?;
        let mut v = Violations::new();
        let mut f = Fields::new(map, "", &mut v);
        let name = bounded(&mut f, "name", MAX_LLM_NAME_CHARS, true);
        let kind = match f.string("kind") {
            None => Some(LlmKind::Chat),
            Some(k) => LlmKind::parse(k).or_else(|| {
                f.v.rule("kind", "must be \"chat\" or \"embedding\"");
                None
            }),
        };
        let provider = f
            .required_string("provider")
            .and_then(|p| match Provider::parse(p) {
                Some(p) => Some(p),
                None => {
                    f.v.rule("provider", "must be \"openai\" or \"anthropic\"");
                    None
                }
            });
        let base_url = f.string("baseUrl").map(str::to_owned);
        let model = bounded(&mut f, "model", MAX_MODEL_CHARS, true);
        let api_key = f.string("apiKey").and_then(|key| api_key_ok(&mut f, key));
        let temperature = number_in(&mut f, "temperature", 0.0, 2.0);
        let max_tokens = f.integer_in("maxTokens", 1..=MAX_TOKENS_LIMIT);
        let timeout_seconds = f
            .integer_in("timeoutSeconds", 1..=MAX_LLM_TIMEOUT_SECONDS)
            .unwrap_or(DEFAULT_LLM_TIMEOUT_SECONDS);
        f.finish("an LLM");
        if kind == Some(LlmKind::Embedding) {
            // Only the OpenAI-compatible embeddings API is spoken; sampling fields mean nothing
            // to an embedding model, so they are refused rather than kept unused.
            if provider == Some(Provider::Anthropic) {
                v.rule(
                    "provider",
                    "must be \"openai\" for an embedding model (OpenAI-compatible /embeddings)",
                );
            }
            if temperature.is_some() {
                v.rule("temperature", "is for chat models only (kind \"chat\")");
            }
            if max_tokens.is_some() {
                v.rule("maxTokens", "is for chat models only (kind \"chat\")");
            }
        }
        let base_url = match (provider, base_url) {
            (_, Some(url)) => check_base_url(&url, policy, &mut v),
            (Some(provider), None) => Some(provider.default_base_url().to_owned()),
            (None, None) => None,
        };
        if !v.is_empty() {
            return Err(v);
        }
        Ok(Self {
            name: name.unwrap_or_default(),
            kind: kind.expect("checked above"),
            provider: provider.expect("checked above"),
            base_url: base_url.expect("checked above"),
            model: model.unwrap_or_default(),
            api_key,
            temperature,
            max_tokens,
            timeout_seconds,
        })
    }
}

/// A required or optional string of 1..=max characters that is not blank.
fn bounded(f: &mut Fields, key: &'static str, max: usize, required: bool) -> Option<String> {
    let text = if required {
        f.required_string(key)
    } else {
        f.string(key)
    }?;
    let count = text.chars().count();
    if text.trim().is_empty() {
        f.v.rule(key, "must not be empty or blank");
        None
    } else if count > max {
        f.v.rule(key, format!("must be at most {max} characters"));
        None
    } else {
        Some(text.to_owned())
    }
}

/// The key travels in an HTTP header, so it must be a valid header value.
fn api_key_ok(f: &mut Fields, key: &str) -> Option<String> {
    if key.is_empty() || key.chars().count() > MAX_API_KEY_CHARS {
        f.v.rule(
            "apiKey",
            format!("must be 1 to {MAX_API_KEY_CHARS} characters (null for none)"),
        );
        None
    } else if !key.chars().all(|c| c.is_ascii_graphic()) {
        f.v.rule("apiKey", "must be printable ASCII without spaces");
        None
    } else {
        Some(key.to_owned())
    }
}

fn number_in(f: &mut Fields, key: &'static str, min: f64, max: f64) -> Option<f64> {
    let n = match f.get(key)? {
        Value::Number(n) => n.as_f64()?,
        _ => {
            f.v.wrong_type(key, "a number");
            return None;
        }
    };
    if (min..=max).contains(&n) {
        Some(n)
    } else {
        f.v.rule(key, format!("must be between {min} and {max}"));
        None
    }
}

/// The webhook URL rules, no `{templates}` (nothing fills them), and no trailing `/` kept.
fn check_base_url(url: &str, policy: &DestinationPolicy, v: &mut Violations) -> Option<String> {
    match check_url(url, policy) {
        Err(message) => {
            v.rule("baseUrl", message);
            None
        }
        Ok(templates) if !templates.is_empty() => {
            v.rule("baseUrl", "must not hold {templates}");
            None
        }
        Ok(_) if url.contains('?') => {
            v.rule("baseUrl", "must not have a query string");
            None
        }
        Ok(_) => Some(url.trim_end_matches('/').to_owned()),
    }
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
    fn defaults_follow_the_provider() {
        let llm = LlmFields::parse(
            &json!({"name": "claude", "provider": "anthropic", "model": "claude-sonnet-4"}),
            &prod(),
        )
        .unwrap();
        assert_eq!(llm.base_url, "https://api.anthropic.com");
        assert_eq!(llm.timeout_seconds, 30);
        assert_eq!(llm.api_key, None);
        let llm = LlmFields::parse(
            &json!({"name": "g", "provider": "openai", "model": "gpt-4o-mini",
                    "baseUrl": "https://gateway.example.com/v1/", "apiKey": "sk-abc",
                    "temperature": 0.3, "maxTokens": 1024, "timeoutSeconds": 120}),
            &prod(),
        )
        .unwrap();
        assert_eq!(llm.base_url, "https://gateway.example.com/v1");
        assert_eq!(llm.temperature, Some(0.3));
    }

    #[test]
    fn reports_every_problem_by_field() {
        let err = LlmFields::parse(
            &json!({"name": " ", "provider": "gemini", "model": "m".repeat(201),
                    "baseUrl": "https://10.0.0.1/v1", "apiKey": "sk with space",
                    "temperature": 2.5, "maxTokens": 0, "timeoutSeconds": 121, "colour": 1}),
            &prod(),
        )
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "name",
                "provider",
                "model",
                "apiKey",
                "temperature",
                "maxTokens",
                "timeoutSeconds",
                "colour",
                "baseUrl"
            ]
        );
        let err = LlmFields::parse(&json!({"temperature": "hot"}), &prod()).unwrap_err();
        assert!(err.has_type_errors());
        assert_eq!(fields(err), ["name", "provider", "model", "temperature"]);
    }

    #[test]
    fn an_embedding_model_speaks_openai_without_sampling() {
        let llm = LlmFields::parse(
            &json!({"name": "e", "kind": "embedding", "provider": "openai",
                    "model": "text-embedding-3-small"}),
            &prod(),
        )
        .unwrap();
        assert_eq!(llm.kind, LlmKind::Embedding);
        let chat = LlmFields::parse(
            &json!({"name": "c", "provider": "openai", "model": "gpt-4o-mini"}),
            &prod(),
        )
        .unwrap();
        assert_eq!(chat.kind, LlmKind::Chat);
        let err = LlmFields::parse(
            &json!({"name": "e", "kind": "embedding", "provider": "anthropic", "model": "m",
                    "temperature": 0.5, "maxTokens": 10}),
            &prod(),
        )
        .unwrap_err();
        assert_eq!(fields(err), ["provider", "temperature", "maxTokens"]);
        let err = LlmFields::parse(
            &json!({"name": "e", "kind": "vector", "provider": "openai", "model": "m"}),
            &prod(),
        )
        .unwrap_err();
        assert_eq!(fields(err), ["kind"]);
    }

    #[test]
    fn base_url_follows_the_webhook_rules() {
        let parse = |url: &str, policy: &DestinationPolicy| {
            LlmFields::parse(
                &json!({"name": "x", "provider": "openai", "model": "m", "baseUrl": url}),
                policy,
            )
        };
        assert!(parse("http://api.example.com/v1", &prod()).is_err());
        assert!(parse("https://127.0.0.1:8080/v1", &prod()).is_err());
        assert!(parse("https://{host}/v1", &prod()).is_err());
        assert!(parse("https://x.example.com/{v}", &prod()).is_err());
        assert!(parse("https://x.example.com/v1?key=1", &prod()).is_err());
        let local = DestinationPolicy::production(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(parse("http://127.0.0.1:11434/v1", &local).is_ok());
        assert!(parse(
            "http://localhost:11434/v1",
            &DestinationPolicy::development()
        )
        .is_ok());
    }
}
