-- Tool power (issue 25).
--
-- Session variables a tool's `response.assign` stored for later tools of the same session, sealed
-- by the secret box like header values. The session token's own variables stay in its snapshot.
CREATE TABLE session_variables (
    session_id   uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    name         text NOT NULL,
    sealed_value text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, name)
);

-- A tool's `limits`, shared by every instance. One row per limited endpoint (organization and
-- tool name): a token bucket for `perSecond` (`tokens` as of `refilled_at`) and how long the
-- endpoint asked to be left alone (`blocked_until`, from a 429's Retry-After). Its calls in
-- flight are rows of `tool_call_slots`, each held under a lease so that a dead instance's slot
-- frees itself.
CREATE TABLE tool_limit_state (
    org_id        uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    tool_name     text NOT NULL,
    tokens        double precision NOT NULL DEFAULT 0,
    refilled_at   timestamptz NOT NULL DEFAULT now(),
    blocked_until timestamptz,
    PRIMARY KEY (org_id, tool_name)
);

CREATE TABLE tool_call_slots (
    org_id      uuid NOT NULL,
    tool_name   text NOT NULL,
    holder      uuid NOT NULL,
    lease_until timestamptz NOT NULL,
    PRIMARY KEY (org_id, tool_name, holder),
    FOREIGN KEY (org_id, tool_name) REFERENCES tool_limit_state (org_id, tool_name) ON DELETE CASCADE
);
