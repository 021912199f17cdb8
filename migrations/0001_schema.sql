-- The whole Hookline schema. Every row belongs to one organization; every query is scoped by it.

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organizations_name_key UNIQUE (name)
);

-- Only a SHA-256 hash of each key is kept; the key itself is shown once.
CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name          text NOT NULL,
    key_hash      bytea NOT NULL,
    key_prefix    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);
CREATE INDEX api_keys_org_idx ON api_keys (org_id, created_at);

-- Standard Webhooks signing secrets, sealed with the secret box (receivers need them in full).
CREATE TABLE signing_secrets (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz
);
CREATE INDEX signing_secrets_org_idx ON signing_secrets (org_id, created_at);

-- Definitions, snapshots and call payloads are `json`, not `jsonb`, so they keep the key order
-- their authors wrote (an LLM sees a schema's properties in that order).
-- `definition` is the tool as the API shows it (header values masked); the real header values
-- are sealed in `sealed_headers` (name -> ciphertext). `version` grows with every update so
-- caches of compiled validators can tell a stale entry.
CREATE TABLE tools (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name            text NOT NULL,
    tool_type       text NOT NULL,
    description     text NOT NULL,
    definition      json  NOT NULL,
    sealed_headers  json  NOT NULL DEFAULT '{}',
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tools_org_name_key UNIQUE (org_id, name)
);
CREATE INDEX tools_org_created_idx ON tools (org_id, created_at, id);

CREATE TABLE personas (
    id             uuid PRIMARY KEY,
    org_id         uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name           text NOT NULL,
    description    text,
    system_prompt  text,
    llm_id         text,
    language_code  text,
    avatar_id      text,
    voice_id       text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX personas_org_created_idx ON personas (org_id, created_at, id);

-- A tool in use cannot be deleted (no cascade from tools): the API answers 409 or detaches.
CREATE TABLE persona_tools (
    persona_id  uuid NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
    tool_id     uuid NOT NULL REFERENCES tools (id),
    position    integer NOT NULL,
    PRIMARY KEY (persona_id, tool_id)
);
CREATE INDEX persona_tools_tool_idx ON persona_tools (tool_id);

-- A session token is stored only as a hash, beside the configuration (tool snapshot included)
-- it was issued for. `consumed_at` makes it single-use.
CREATE TABLE session_tokens (
    token_hash    bytea PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    persona_id    uuid,
    client_label  text,
    config        json  NOT NULL,
    expires_at    timestamptz NOT NULL,
    consumed_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_tokens_expiry_idx ON session_tokens (expires_at);

CREATE TABLE sessions (
    id                  uuid PRIMARY KEY,
    org_id              uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    persona_id          uuid,
    client_label        text,
    client_secret_hash  bytea NOT NULL,
    config              json  NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    ended_at            timestamptz,
    -- The last event number given out; bumping it under the row lock keeps events in order.
    event_seq           bigint NOT NULL DEFAULT 0,
    CONSTRAINT sessions_client_secret_hash_key UNIQUE (client_secret_hash)
) WITH (fillfactor = 80);
CREATE INDEX sessions_org_idx ON sessions (org_id, created_at);

-- The call log, and the outbox of fire-and-forget calls: a due call has `next_attempt_at` set and
-- is claimed with FOR UPDATE SKIP LOCKED under a lease.
CREATE TABLE tool_calls (
    id                 uuid PRIMARY KEY,
    org_id             uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    session_id         uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    tool_call_id       text NOT NULL,
    tool_name          text NOT NULL,
    tool_type          text NOT NULL,
    status             text NOT NULL,
    await_response     boolean NOT NULL DEFAULT true,
    arguments          json  NOT NULL,
    request            json ,
    response           json ,
    result             json ,
    error              jsonb,
    http_status        integer,
    truncated          boolean NOT NULL DEFAULT false,
    execution_time_ms  bigint,
    attempts           integer NOT NULL DEFAULT 0,
    attempt_log        jsonb NOT NULL DEFAULT '[]',
    next_attempt_at    timestamptz,
    lease_owner        uuid,
    lease_until        timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    CONSTRAINT tool_calls_session_call_key UNIQUE (session_id, tool_call_id)
) WITH (fillfactor = 80);
-- Room in each page (fillfactor) lets a call's completion be a HOT update that touches no index.
-- A session's calls are found through the unique index, and listed by id (UUIDv7: time order).
CREATE INDEX tool_calls_due_idx ON tool_calls (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- Each session's events, numbered 1, 2, 3... (the SSE id), fanned out with LISTEN/NOTIFY.
CREATE TABLE session_events (
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq         bigint NOT NULL,
    event       text NOT NULL,
    data        json  NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, seq)
);
