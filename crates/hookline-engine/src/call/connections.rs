//! Connections at call time: a webhook tool with a `connectionId` is sent with its connection's
//! OAuth2 access token as `Authorization: Bearer …`, and a 401 from the endpoint gets one new
//! token and one more try.
//!
//! Tokens live in three places, cheapest first: this instance's memory (trusted until the token
//! is due for refresh, and at most `HOOKLINE_CONNECTION_RECHECK_SECONDS`), the shared row in
//! Postgres (`connection_tokens`, sealed), and the token endpoint. Only one caller at a time goes
//! further than memory on an instance (a per-connection gate), and only the holder of the row's
//! lease asks the endpoint: a burst of calls on many instances makes one token request, the
//! others wait for the row to hold the new token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use uuid::Uuid;

use hookline_core::repo::connections::{self, token_context};
use hookline_core::secrets::SecretString;
use hookline_core::ErrorKind;
use hookline_schema::mask_header_value;

use super::Engine;
use crate::outbound::oauth2::{self, TokenError, TokenRequest};
use crate::outbound::{self};
use crate::outcome::Outcome;

/// How often a caller waiting for another instance's token request reads the shared row.
const WAIT_STEP: Duration = Duration::from_millis(50);

/// This instance's tokens and the gates that let one caller per connection refresh at a time.
#[derive(Default)]
pub(crate) struct Tokens {
    remembered: Mutex<HashMap<Uuid, Remembered>>,
    gates: Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<Gate>>>>,
}

struct Remembered {
    org_id: Uuid,
    token: SecretString,
    refresh_at: DateTime<Utc>,
    recheck_at: Instant,
}

/// The last failure behind a gate: callers that queued behind a failing refresh hear its answer
/// instead of each asking the endpoint again.
#[derive(Default)]
struct Gate {
    failure: Option<(Instant, TokenError)>,
}

impl Tokens {
    /// The token this instance remembers, unless it is due or is `stale` (which is forgotten).
    fn remembered(
        &self,
        org_id: Uuid,
        connection_id: Uuid,
        stale: Option<&SecretString>,
    ) -> Option<SecretString> {
        let mut map = self.remembered.lock().expect("token memory lock");
        let found = map.get(&connection_id)?;
        let fresh = found.org_id == org_id
            && found.recheck_at > Instant::now()
            && found.refresh_at > Utc::now()
            && Some(&found.token) != stale;
        if fresh {
            Some(found.token.clone())
        } else {
            map.remove(&connection_id);
            None
        }
    }

    fn remember(
        &self,
        org_id: Uuid,
        connection_id: Uuid,
        token: &SecretString,
        refresh_at: DateTime<Utc>,
        recheck: Duration,
    ) {
        self.remembered.lock().expect("token memory lock").insert(
            connection_id,
            Remembered {
                org_id,
                token: token.clone(),
                refresh_at,
                recheck_at: Instant::now() + recheck,
            },
        );
    }

    fn gate(&self, connection_id: Uuid) -> Arc<tokio::sync::Mutex<Gate>> {
        self.gates
            .lock()
            .expect("token gate lock")
            .entry(connection_id)
            .or_default()
            .clone()
    }
}

/// The token a request was sent with, kept for the one retry after a 401.
pub(crate) struct Authorized {
    org_id: Uuid,
    connection_id: Uuid,
    token: SecretString,
}

/// The kind a call fails with when no token could be had.
fn token_failed(e: TokenError) -> Outcome {
    match e {
        TokenError::Unreachable(m) => Outcome::failed(ErrorKind::Connection, m),
        TokenError::Refused(m) => Outcome::failed(ErrorKind::Auth, m),
    }
}

/// `Bearer <token>` as a header value, marked sensitive (never printed by the HTTP stack).
fn bearer(token: &SecretString) -> Result<HeaderValue, TokenError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
        TokenError::Refused(
            "the token endpoint gave a token that cannot be sent in a header".into(),
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

fn store_failed(e: hookline_core::StoreError) -> TokenError {
    tracing::error!(error = %e, "a connection's token could not be read or written");
    TokenError::Unreachable("the connection's token could not be had on our side".into())
}

impl Engine {
    /// Adds the access token of the tool's connection (if it has one) to its request, and its
    /// masked preview to the request's `view` for the call log.
    pub(crate) async fn authorize(
        &self,
        org_id: Uuid,
        connection_id: Option<Uuid>,
        request: &mut reqwest::Request,
        view: &mut serde_json::Value,
    ) -> Result<Option<Authorized>, Outcome> {
        let Some(connection_id) = connection_id else {
            return Ok(None);
        };
        let (token, value) = self
            .access_token(org_id, connection_id, None)
            .await
            .and_then(|token| bearer(&token).map(|value| (token, value)))
            .map_err(token_failed)?;
        request.headers_mut().insert(AUTHORIZATION, value);
        show_bearer(view, &token);
        Ok(Some(Authorized {
            org_id,
            connection_id,
            token,
        }))
    }

    /// A dry run's view of the tool's connection: the `Authorization` header a call would send,
    /// masked. The token is had as a call has it (remembered, or asked of the token endpoint), so
    /// a connection that cannot get one fails the dry run the way it would fail the call.
    pub(crate) async fn show_authorization(
        &self,
        org_id: Uuid,
        connection_id: Option<Uuid>,
        view: &mut serde_json::Value,
    ) -> Result<(), Outcome> {
        let Some(connection_id) = connection_id else {
            return Ok(());
        };
        let token = self
            .access_token(org_id, connection_id, None)
            .await
            .map_err(token_failed)?;
        show_bearer(view, &token);
        Ok(())
    }

    /// After a 401 from the endpoint: a new token (unless another caller has one already), and
    /// the request sent once more.
    pub(crate) async fn retry_unauthorized(
        &self,
        used: Authorized,
        mut retry: reqwest::Request,
        timeout: Duration,
    ) -> Outcome {
        let value = match self
            .access_token(used.org_id, used.connection_id, Some(&used.token))
            .await
            .and_then(|token| bearer(&token))
        {
            Ok(value) => value,
            Err(e) => return token_failed(e),
        };
        retry.headers_mut().insert(AUTHORIZATION, value);
        tracing::info!(connection_id = %used.connection_id, "endpoint answered 401; sent again with a new token");
        Outcome::from_send(outbound::send(&self.client, retry, timeout).await)
    }

    /// A usable token of the connection other than `stale`.
    async fn access_token(
        &self,
        org_id: Uuid,
        connection_id: Uuid,
        stale: Option<&SecretString>,
    ) -> Result<SecretString, TokenError> {
        if let Some(token) = self.tokens.remembered(org_id, connection_id, stale) {
            return Ok(token);
        }
        let asked = Instant::now();
        let gate = self.tokens.gate(connection_id);
        let mut gate = gate.lock().await;
        // Whoever held the gate before may have just had a token, or just failed to.
        if let Some(token) = self.tokens.remembered(org_id, connection_id, stale) {
            return Ok(token);
        }
        if let Some((at, e)) = &gate.failure {
            if *at >= asked {
                return Err(e.clone());
            }
        }
        let had = self.shared_token(org_id, connection_id, stale).await;
        gate.failure = had.as_ref().err().map(|e| (Instant::now(), e.clone()));
        had
    }

    /// The token of the shared row, or a new one from the endpoint by whoever holds the lease.
    async fn shared_token(
        &self,
        org_id: Uuid,
        connection_id: Uuid,
        stale: Option<&SecretString>,
    ) -> Result<SecretString, TokenError> {
        let settings = &self.settings.connections;
        let context = token_context(org_id, connection_id);
        let give_up = Instant::now() + settings.token_timeout + Duration::from_secs(1);
        let lease_ms = (settings.token_timeout + Duration::from_secs(5)).as_millis() as i64;
        loop {
            let row = connections::token(&self.pool, connection_id)
                .await
                .map_err(store_failed)?;
            // What this caller saw: a lease is only taken while the row still holds it.
            let mut seen: Option<String> = None;
            if let Some((sealed, refresh_at)) = row.as_ref().and_then(|r| r.usable(Utc::now())) {
                seen = Some(sealed.to_owned());
                // A token of another organization's connection does not open here.
                if let Ok(token) = self.settings.secrets.open(sealed, &context) {
                    if Some(&token) != stale {
                        self.tokens.remember(
                            org_id,
                            connection_id,
                            &token,
                            refresh_at,
                            settings.recheck,
                        );
                        return Ok(token);
                    }
                }
            }
            let Some(connection) = connections::get(&self.pool, org_id, connection_id)
                .await
                .map_err(store_failed)?
            else {
                return Err(TokenError::Refused(
                    "the tool's connection no longer exists".into(),
                ));
            };
            if connections::take_lease(&self.pool, connection_id, lease_ms, seen.as_deref())
                .await
                .map_err(store_failed)?
            {
                let had = self.fetch_token(&connection).await;
                if had.is_err() {
                    connections::release_lease(&self.pool, connection_id)
                        .await
                        .map_err(store_failed)?;
                }
                return had;
            }
            if Instant::now() >= give_up {
                return Err(TokenError::Unreachable(format!(
                    "no token within {} seconds (the token request for this connection is still running)",
                    settings.token_timeout.as_secs()
                )));
            }
            tokio::time::sleep(WAIT_STEP).await;
        }
    }

    /// Asks the token endpoint (the caller holds the lease) and shares what it gave.
    async fn fetch_token(
        &self,
        connection: &connections::StoredConnection,
    ) -> Result<SecretString, TokenError> {
        let settings = &self.settings.connections;
        let (org_id, connection_id) = (connection.org_id, connection.id);
        let secret = connection
            .open_secret(&self.settings.secrets)
            .map_err(|e| {
                tracing::error!(%connection_id, error = %e, "a connection's client secret does not open");
                TokenError::Refused("the connection's client secret does not open on this server".into())
            })?;
        let token_url = url::Url::parse(&connection.token_url)
            .ok()
            .filter(|url| self.destination_allowed(url))
            .ok_or_else(|| {
                TokenError::Refused(
                    "the connection's token endpoint is not an allowed destination".into(),
                )
            })?;
        let granted = oauth2::fetch(
            &self.client,
            &TokenRequest {
                token_url: &token_url,
                client_id: &connection.client_id,
                client_secret: &secret,
                scope: connection.scope.as_deref(),
                audience: connection.audience.as_deref(),
            },
            settings.token_timeout,
        )
        .await;
        let granted = match granted {
            Ok(granted) => granted,
            Err(e) => {
                tracing::warn!(%connection_id, error = %e, "no token from a connection's token endpoint");
                return Err(e);
            }
        };
        let lifetime = granted
            .expires_in
            .unwrap_or(settings.default_token_lifetime);
        // Refreshed a margin before it runs out; a token too short-lived for the margin, halfway.
        let usable_for = if lifetime > settings.refresh_margin * 2 {
            lifetime - settings.refresh_margin
        } else {
            lifetime / 2
        };
        let refresh_at =
            Utc::now() + chrono::Duration::from_std(usable_for).unwrap_or(chrono::Duration::zero());
        let sealed = self.settings.secrets.seal(
            granted.access_token.expose(),
            &token_context(org_id, connection_id),
        );
        connections::store_token(&self.pool, connection_id, &sealed, refresh_at)
            .await
            .map_err(store_failed)?;
        self.tokens.remember(
            org_id,
            connection_id,
            &granted.access_token,
            refresh_at,
            settings.recheck,
        );
        tracing::info!(%connection_id, usable_seconds = usable_for.as_secs(), "connection token fetched");
        Ok(granted.access_token)
    }
}

/// Puts the token's masked preview into a request's view as its `Authorization` header.
fn show_bearer(view: &mut serde_json::Value, token: &SecretString) {
    if let Some(headers) = view.get_mut("headers").and_then(|h| h.as_object_mut()) {
        headers.insert(
            "Authorization".into(),
            format!("Bearer {}", mask_header_value(token.expose())).into(),
        );
    }
}
