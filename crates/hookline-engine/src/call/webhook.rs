//! Calling a webhook: building and signing its request from the stored (sealed) tool, checking
//! the destination against the mode's rules, and sending it through the SSRF-safe client. Used
//! by awaited calls, fire-and-forget deliveries and the tool test alike.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Map, Value};
use uuid::Uuid;

use hookline_core::sealed_tool::SealedTool;
use hookline_core::ErrorKind;
use hookline_schema::endpoint;
use hookline_schema::{DestinationPolicy, ToolDefinition};

use super::prepare_error::PrepareError;
use super::variables::{self, Scope, MASK};
use super::Engine;
use crate::outbound::{self, ssrf};
use crate::outcome::Outcome;
use crate::outgoing::{self, Signing};

impl Engine {
    /// Builds, signs and sends one request of a webhook tool. Returns the request as sent
    /// (masked) and what came of it.
    pub(crate) async fn attempt(
        &self,
        org_id: Uuid,
        tool: &SealedTool,
        arguments: &Value,
        call_id: &str,
        scope: Scope<'_>,
    ) -> (Option<Value>, Outcome) {
        let prepared = self.prepare(org_id, tool, arguments, call_id, scope).await;
        self.send_prepared(prepared).await
    }

    /// Builds and signs one request of a webhook tool and checks its destination, sending
    /// nothing: a call builds its request while its row is being written.
    pub(crate) async fn prepare(
        &self,
        org_id: Uuid,
        tool: &SealedTool,
        arguments: &Value,
        call_id: &str,
        scope: Scope<'_>,
    ) -> Prepared {
        let ToolDefinition::Server(webhook) = &tool.definition else {
            return Prepared::Ended(
                None,
                Outcome::failed(ErrorKind::Connection, "not a webhook tool"),
            );
        };
        let mut built = match self.build(org_id, tool, arguments, call_id, scope).await {
            Ok(built) => built,
            Err(e) => return Prepared::Ended(None, prepare_failed(org_id, tool, &e)),
        };
        let mut view = built.take_view();
        if let Some(blocked) = self.refused_destination(&built.url) {
            return Prepared::Ended(Some(view), blocked);
        }
        match built.to_reqwest(&self.client) {
            Ok(mut request) => match self
                .authorize(org_id, webhook.connection_id, &mut request, &mut view)
                .await
            {
                Ok(connection) => Prepared::Ready {
                    view,
                    request,
                    timeout: Duration::from_secs(u64::from(webhook.timeout_seconds.min(60))),
                    connection,
                },
                Err(outcome) => Prepared::Ended(Some(view), outcome),
            },
            Err(e) => {
                let cause = PrepareError::Other(e.to_string());
                Prepared::Ended(Some(view), prepare_failed(org_id, tool, &cause))
            }
        }
    }

    /// A dry run: the request a call would send, masked, built and checked as a call does it
    /// (its destination, its connection's token) and sent nowhere. When the call could not send
    /// it, the outcome the call would have comes with it.
    pub(crate) async fn dry_run(
        &self,
        org_id: Uuid,
        tool: &SealedTool,
        arguments: &Value,
        call_id: &str,
        scope: Scope<'_>,
    ) -> Result<(Value, Option<Outcome>), PrepareError> {
        let mut built = self.build(org_id, tool, arguments, call_id, scope).await?;
        let mut view = built.take_view();
        if let Some(blocked) = self.refused_destination(&built.url) {
            return Ok((view, Some(blocked)));
        }
        let connection_id = match &tool.definition {
            ToolDefinition::Server(webhook) => webhook.connection_id,
            _ => None,
        };
        let refused = self
            .show_authorization(org_id, connection_id, &mut view)
            .await
            .err();
        Ok((view, refused))
    }

    /// Sends a prepared request; the request as sent (masked) and what came of it.
    pub(crate) async fn send_prepared(&self, prepared: Prepared) -> (Option<Value>, Outcome) {
        match prepared {
            Prepared::Ready {
                view,
                request,
                timeout,
                connection,
            } => {
                let retry = connection.as_ref().and_then(|_| request.try_clone());
                let sent = outbound::send(&self.client, request, timeout).await;
                let outcome = match (sent, connection, retry) {
                    (Ok(answer), Some(used), Some(retry)) if answer.status == 401 => {
                        self.retry_unauthorized(used, retry, timeout).await
                    }
                    (sent, ..) => Outcome::from_send(sent),
                };
                (Some(view), outcome)
            }
            Prepared::Ended(view, outcome) => (view, outcome),
        }
    }

    /// Builds and signs a webhook tool's request, opening its sealed headers and the
    /// organization's signing secrets (a dry run stops here).
    pub(crate) async fn build(
        &self,
        org_id: Uuid,
        tool: &SealedTool,
        arguments: &Value,
        call_id: &str,
        scope: Scope<'_>,
    ) -> Result<outgoing::BuiltRequest, PrepareError> {
        let ToolDefinition::Server(webhook) = &tool.definition else {
            return Err(PrepareError::Other("not a webhook tool".into()));
        };
        let secrets = self
            .caches
            .signing_secrets(&self.pool, &self.settings.secrets, org_id)
            .await
            .map_err(|e| match e {
                hookline_core::StoreError::Secret(s) => PrepareError::secret("signing secret", s),
                other => PrepareError::Other(other.to_string()),
            })?;
        let empty = Map::new();
        let arguments = arguments.as_object().unwrap_or(&empty);
        let headers = tool
            .open_headers(org_id, &self.settings.secrets)
            .map_err(|e| PrepareError::secret("header value", e))?;
        let signing = Signing {
            call_id,
            timestamp: Utc::now().timestamp(),
            secrets: &secrets,
        };
        let used = variables::used(webhook, &headers);
        if used.is_empty() {
            return outgoing::build(webhook, &headers, arguments, &signing)
                .map_err(|e| PrepareError::Other(e.to_string()));
        }
        let values = self.variable_values(org_id, scope, &used).await?;
        let real = variables::fill(webhook, &headers, arguments, |n| values[n].clone())?;
        let mut built =
            outgoing::build_at(webhook, &real.url, &real.headers, &real.arguments, &signing)
                .map_err(|e| PrepareError::Other(e.to_string()))?;
        // The call log's copy is built with every value masked (unsigned: it is given the real
        // signature, the one sent).
        let masked = variables::fill(webhook, &headers, arguments, |_| MASK.to_owned())?;
        let unsigned = Signing {
            secrets: &[],
            ..signing
        };
        let mut shown = outgoing::build_at(
            webhook,
            &masked.url,
            &masked.headers,
            &masked.arguments,
            &unsigned,
        )
        .map(|b| b.masked_view())
        .map_err(|e| PrepareError::Other(e.to_string()))?;
        if let Some(sent) = built.headers.iter().find(|h| h.name == "webhook-signature") {
            shown["headers"]["webhook-signature"] = Value::String(sent.value.clone());
        }
        if let Some(url) = shown["url"].as_str() {
            let encoded = percent_encoding::utf8_percent_encode(MASK, outgoing::PATH_SEGMENT);
            shown["url"] = Value::String(url.replace(&encoded.to_string(), MASK));
        }
        built.shown = Some(shown);
        Ok(built)
    }

    /// What the mode rules allow, checked again when a call is made (a tool defined by a server
    /// in development mode may be run by one in production mode): the scheme, and a literal IP
    /// address, which skips name resolution and so the vetting resolver. Details go to the log.
    pub(crate) fn destination_allowed(&self, url: &url::Url) -> bool {
        destination_allowed(&self.settings.destinations, url)
    }

    /// How a webhook request to `url` ends when the mode's rules refuse its destination (a
    /// call and a dry run alike); `None` when it may go.
    fn refused_destination(&self, url: &url::Url) -> Option<Outcome> {
        (!self.destination_allowed(url))
            .then(|| Outcome::failed(ErrorKind::BlockedDestination, ssrf::NOT_ALLOWED))
    }
}

/// [`Engine::destination_allowed`] under `policy`, for requests made away from the engine (an
/// embedding model's, by the knowledge crate).
pub(crate) fn destination_allowed(policy: &DestinationPolicy, url: &url::Url) -> bool {
    if !endpoint::scheme_allowed(url, policy) {
        tracing::warn!(
            scheme = url.scheme(),
            host = url.host_str().unwrap_or_default(),
            "a call over a scheme this mode refuses was not made"
        );
        return false;
    }
    match endpoint::literal_ip(url).map(|ip| ssrf::check(policy, &ip.to_string(), ip)) {
        Some(Err(blocked)) => {
            blocked.log();
            false
        }
        _ => true,
    }
}

/// A webhook request ready to send, or how its call ended without one (its secrets did not
/// open, its destination is refused...).
pub(crate) enum Prepared {
    Ready {
        /// The request as it will be sent, masked, for the call log.
        view: Value,
        request: reqwest::Request,
        timeout: Duration,
        /// The connection token it carries, for one retry after a 401.
        connection: Option<super::connections::Authorized>,
    },
    Ended(Option<Value>, Outcome),
}

impl Prepared {
    /// The request as it would have been sent (masked), for a call that ends before sending.
    pub(crate) fn into_view(self) -> Option<Value> {
        match self {
            Self::Ready { view, .. } => Some(view),
            Self::Ended(view, _) => view,
        }
    }
}

/// A call that could not be prepared (its secrets did not open, say): the cause goes to the log
/// with the organization and tool it concerns; the LLM hears that it failed on our side.
fn prepare_failed(org_id: Uuid, tool: &SealedTool, cause: &PrepareError) -> Outcome {
    let tool_name = tool.definition.name();
    match cause {
        PrepareError::MissingKey { what, key_id } => {
            tracing::error!(%org_id, tool = %tool_name, %key_id, secret = %what,
                "a call could not be prepared: a stored secret was encrypted with a key this server is not configured with (add it to HOOKLINE_ENCRYPTION_OLD_KEYS)");
            Outcome::failed(
                ErrorKind::EncryptionKeyMissing,
                format!("the call could not be prepared on our side: {cause}"),
            )
        }
        PrepareError::MissingVariables(_) | PrepareError::Variable(..) => {
            let mut outcome = Outcome::failed(ErrorKind::InvalidArguments, cause.to_string());
            if let Some(error) = &mut outcome.error {
                error.errors = cause.violations().into_errors();
            }
            outcome
        }
        PrepareError::Other(e) => {
            tracing::error!(%org_id, tool = %tool_name, error = %e, "a call could not be prepared");
            Outcome::failed(
                ErrorKind::Connection,
                "the call could not be prepared on our side",
            )
        }
    }
}
