-- Connections: credentials Hookline uses on a webhook tool's behalf (OAuth2 client credentials).
-- The client secret is sealed like a tool's header values; `connection_tokens` is the access token
-- every instance shares, with the lease that lets one instance at a time fetch a new one.
CREATE TABLE connections (
    id                    uuid PRIMARY KEY,
    org_id                uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name                  text NOT NULL,
    connection_type       text NOT NULL CHECK (connection_type IN ('oauth2_client_credentials')),
    token_url             text NOT NULL,
    client_id             text NOT NULL,
    sealed_client_secret  text NOT NULL,
    scope                 text,
    audience              text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT connections_org_name_key UNIQUE (org_id, name)
);
CREATE INDEX connections_org_created_idx ON connections (org_id, created_at, id);

-- One row per connection once a token was asked for. `sealed_token` is usable until
-- `refresh_at` (shortly before the endpoint's `expires_in`); `lease_until` marks a fetch in
-- progress by some instance, so a burst of calls on many instances makes one token request.
CREATE TABLE connection_tokens (
    connection_id  uuid PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    sealed_token   text,
    refresh_at     timestamptz,
    lease_until    timestamptz,
    fetched_at     timestamptz
);

