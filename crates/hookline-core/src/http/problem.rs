//! RFC 7807 problem documents, for every error status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hookline_schema::{FieldError, Violations};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::StoreError;
use crate::refusals::{InUse, NameTaken};

/// An error answer: status, a short title, a sentence of detail, every invalid field, and any
/// extra members (e.g. the personas that still use a tool).
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub extra: Map<String, Value>,
    /// Seconds to wait before trying again (`Retry-After`), for a 429 or a 503.
    pub retry_after: Option<u64>,
    /// The database was unavailable (not a limit of this instance): the answer carries
    /// [`DatabaseUnavailable`] so the layer in front of the routes learns of it.
    pub database_unavailable: bool,
    /// A problem type more precise than the status's own (see [`ProblemType`]).
    pub kind: Option<ProblemType>,
}

/// Problems more precise than their status, each with a `type` URI of its own
/// (`urn:hookline:problem:<slug>`) that stays the same from release to release, so a client can
/// tell two `409`s or two `503`s apart without reading the sentence in `detail`. A problem not
/// listed here has its status's type (`conflict`, `unavailable`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemType {
    /// 409: the resource is named by others (listed in the problem); `?force=true` deletes it.
    InUse,
    /// 409: a name that must be unique is taken (in the organization, or on one persona).
    NameTaken,
    /// 409: the session has ended; it takes no more calls or messages.
    SessionEnded,
    /// 409: the session has expired; it takes no more calls or messages.
    SessionExpired,
    /// 409: the client tool call was answered already, or timed out.
    CallSettled,
    /// 409: the session's persona has no LLM, so it cannot take messages.
    NoLlm,
    /// 503: this instance is at one of its own limits (not the database); try again shortly.
    Busy,
}

impl ProblemType {
    /// The last part of the type's URI.
    pub fn slug(self) -> &'static str {
        match self {
            Self::InUse => "in-use",
            Self::NameTaken => "name-taken",
            Self::SessionEnded => "session-ended",
            Self::SessionExpired => "session-expired",
            Self::CallSettled => "call-settled",
            Self::NoLlm => "no-llm",
            Self::Busy => "busy",
        }
    }
}

/// A response extension: the request failed because the database was unavailable.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseUnavailable;

/// A [`Problem`] on the heap, so `Result<_, ApiError>` stays small on the happy path.
#[derive(Debug)]
pub struct ApiError(pub Box<Problem>);

impl std::ops::Deref for ApiError {
    type Target = Problem;
    fn deref(&self) -> &Problem {
        &self.0
    }
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self(Box::new(Problem {
            status,
            detail: detail.into(),
            errors: Vec::new(),
            extra: Map::new(),
            retry_after: None,
            database_unavailable: false,
            kind: None,
        }))
    }

    /// 503: the database is unavailable (Postgres restarting, down or out of reach); `detail`
    /// says what the client should know, such as what was stored before it went away.
    pub fn database_unavailable(detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, detail);
        e.0.database_unavailable = true;
        e
    }

    /// Gives the problem a type of its own (its status stays).
    pub fn typed(mut self, kind: ProblemType) -> Self {
        self.0.kind = Some(kind);
        self
    }

    /// 409: the session has ended or expired (`expired`), so it takes nothing more.
    pub fn session_closed(expired: bool) -> Self {
        if expired {
            Self::conflict("the session has expired").typed(ProblemType::SessionExpired)
        } else {
            Self::conflict("the session has ended").typed(ProblemType::SessionEnded)
        }
    }

    /// 503: this instance is at one of its own limits, named in `detail`.
    pub fn busy(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, detail).typed(ProblemType::Busy)
    }

    /// 429: the caller is over a rate; it may try again after `wait` (rounded up to seconds).
    pub fn rate_limited(detail: impl Into<String>, wait: std::time::Duration) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, detail);
        e.0.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        e
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 400 when a field has the wrong JSON type (and none is missing), else 422; every problem
    /// listed.
    pub fn invalid(violations: Violations) -> Self {
        let status = if violations.is_malformed() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        let detail = match violations.len() {
            1 => "1 field is invalid".to_owned(),
            n => format!("{n} fields are invalid"),
        };
        let mut error = Self::new(status, detail);
        error.0.errors = violations.into_errors();
        error
    }

    /// A 422 naming one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(Violations::single(field, message))
    }

    /// A 500 that logs what happened and tells the client nothing about it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "something went wrong on our side; it has been logged",
        )
    }

    /// Names a field the error is about (e.g. the `name` of a 409).
    pub fn with_field(mut self, field: &str, message: &str) -> Self {
        self.0.errors.push(FieldError::new(field, message));
        self
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.0.extra.insert(key.to_owned(), value);
        self
    }

    fn slug(&self) -> &'static str {
        if let Some(kind) = self.kind {
            return kind.slug();
        }
        match self.status {
            StatusCode::BAD_REQUEST => "bad-request",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not-found",
            StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
            StatusCode::CONFLICT => "conflict",
            StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
            StatusCode::UNPROCESSABLE_ENTITY => "validation",
            StatusCode::TOO_MANY_REQUESTS => "rate-limited",
            StatusCode::SERVICE_UNAVAILABLE => "unavailable",
            _ if self.status.is_server_error() => "internal",
            _ => "error",
        }
    }

    /// The problem document this error answers with.
    pub fn body(&self) -> ProblemDocument {
        ProblemDocument {
            kind: format!("urn:hookline:problem:{}", self.slug()),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
            extra: self.extra.clone(),
        }
    }
}

/// The `Retry-After` of every 503.
pub const RETRY_AFTER_SECONDS: &str = "1";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if self.database_unavailable {
            response.extensions_mut().insert(DatabaseUnavailable);
        }
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // Every 503 is worth retrying (the database away, a limit of this instance reached),
            // and a client told when retries sooner than one left to guess.
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::new(StatusCode::NOT_FOUND, "not found"),
            StoreError::Conflict { constraint } => Self::conflict(format!(
                "conflicts with an existing resource ({constraint})"
            )),
            StoreError::Unavailable => Self::database_unavailable(
                "the database is busy or not reachable; try again shortly",
            ),
            StoreError::Secret(crate::secrets::SecretError::UnknownKey(key_id)) => {
                tracing::error!(%key_id, "a stored secret was encrypted with a key this server is not configured with");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("a stored secret was encrypted with key {key_id}, which this server is not configured with; the operator must add that key to HOOKLINE_ENCRYPTION_OLD_KEYS"),
                )
                .with("kind", serde_json::json!(crate::ErrorKind::EncryptionKeyMissing))
                .with("keyId", serde_json::json!(key_id))
            }
            other => Self::internal(other),
        }
    }
}

/// 409 `name-taken`, naming the field when there is one.
impl From<NameTaken> for ApiError {
    fn from(e: NameTaken) -> Self {
        let taken = Self::conflict(e.detail).typed(ProblemType::NameTaken);
        match e.field {
            Some((field, message)) => taken.with_field(field, &message),
            None => taken,
        }
    }
}

/// 409 `in-use`: says how many use it and what to do instead, and lists them (`{"id", "name"}`)
/// under the refusal's key, so a client can show or fix them.
impl From<InUse> for ApiError {
    fn from(e: InUse) -> Self {
        let listed: Vec<Value> = e
            .users
            .iter()
            .map(|(id, name)| serde_json::json!({"id": id, "name": name}))
            .collect();
        Self::conflict(e.to_string())
            .with(e.key, Value::Array(listed))
            .typed(ProblemType::InUse)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}

/// Answers any route that does not exist.
pub async fn not_found_fallback() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such route")
}

/// Answers a route that exists with a method it does not take.
pub async fn method_not_allowed_fallback() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this route does not take that method",
    )
}

/// The body of every error answer (RFC 7807).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemDocument {
    /// A URI naming the kind of problem, e.g. `urn:hookline:problem:validation`: the status's
    /// own (`bad-request`, `unauthorized`, `not-found`, `conflict`, `validation`, `rate-limited`,
    /// `unavailable`, `internal`...) or a more precise one (`in-use`, `name-taken`,
    /// `session-ended`, `session-expired`, `call-settled`, `no-llm`, `busy`).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    pub detail: String,
    /// Every invalid field, each with a path a person can follow (`personaConfig.tools[2].name`).
    pub errors: Vec<FieldError>,
    /// Members some problems add, e.g. the `personas` that still use a tool.
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Map<String, Value>,
}

/// The error answers routes share, for the API reference.
pub mod responses {
    use super::ProblemDocument;

    macro_rules! problem_response {
        ($(#[doc = $doc:literal] $name:ident = $description:literal;)*) => {$(
            #[doc = $doc]
            #[derive(utoipa::ToResponse)]
            #[response(description = $description, content_type = "application/problem+json")]
            pub struct $name(#[allow(dead_code)] ProblemDocument);
        )*};
    }

    problem_response! {
        /// 400.
        BadRequest = "Not JSON, or a field of the wrong type (all listed)";
        /// 401.
        Unauthorized = "No, unknown or revoked credential";
        /// 404.
        NotFound = "No such resource for this credential";
        /// 409.
        Conflict = "A name already taken, or a resource in use";
        /// 413.
        TooLarge = "The request body is larger than 1 MiB";
        /// 422.
        Invalid = "A rule is broken, a field missing or unknown (every one listed)";
        /// 429.
        RateLimited = "Over a rate; `Retry-After` says when to try again";
    }

    /// 503, with when to try again.
    #[derive(utoipa::ToResponse)]
    #[response(
        description = "The database is busy or not reachable, or this instance is at a limit; try again after `Retry-After` seconds",
        content_type = "application/problem+json",
        headers(("Retry-After" = u32, description = "Seconds to wait before trying again"))
    )]
    pub struct Unavailable(#[allow(dead_code)] ProblemDocument);

    /// 409 of a delete.
    #[derive(utoipa::ToResponse)]
    #[response(
        description = "In use: the problem lists what uses it (`personas` or `tools`); `?force=true` deletes it anyway",
        content_type = "application/problem+json"
    )]
    pub struct InUse(#[allow(dead_code)] ProblemDocument);

    /// Declares a route kind's error answers once; a route lists its success and the set
    /// (`responses((status = 200, body = ToolView), ChangeErrors)`).
    macro_rules! error_set {
        ($(#[doc = $doc:literal] $name:ident = [$($status:literal $response:ident),*];)*) => {$(
            #[doc = $doc]
            pub struct $name;

            impl utoipa::IntoResponses for $name {
                fn responses() -> std::collections::BTreeMap<
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
                > {
                    [$((
                        $status.to_string(),
                        utoipa::openapi::Ref::from_response_name(stringify!($response)).into(),
                    )),*]
                    .into_iter()
                    .collect()
                }
            }
        )*};
    }

    error_set! {
        /// A route on one resource by its id, without a body (read, plain delete).
        ByIdErrors = [401 Unauthorized, 404 NotFound, 503 Unavailable];
        /// A page of a collection (search and paging in the query).
        ListErrors = [400 BadRequest, 401 Unauthorized, 422 Invalid, 503 Unavailable];
        /// A page of what one resource holds.
        ListInErrors = [400 BadRequest, 401 Unauthorized, 404 NotFound, 422 Invalid, 503 Unavailable];
        /// Creating a resource from a JSON body.
        CreateErrors = [400 BadRequest, 401 Unauthorized, 409 Conflict, 413 TooLarge, 422 Invalid, 503 Unavailable];
        /// Replacing or changing one resource from a JSON body.
        ChangeErrors = [400 BadRequest, 401 Unauthorized, 404 NotFound, 409 Conflict, 413 TooLarge, 422 Invalid, 503 Unavailable];
        /// Deleting a resource others may name (`?force=true` deletes it anyway).
        DeleteErrors = [401 Unauthorized, 404 NotFound, 409 InUse, 422 Invalid, 503 Unavailable];
    }
}
