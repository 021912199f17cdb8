-- The conversation runtime. LLM connections: where a persona's conversation runtime sends its requests. The API key is
-- sealed with the secret box (never stored or shown in full). `personas.llm_id` stays text (it
-- was an opaque string before this table existed); the API checks it names an LLM of the same
-- organization, and deleting an LLM clears it (with ?force=true) or is refused.
CREATE TABLE llms (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name             text NOT NULL,
    provider         text NOT NULL,
    base_url         text NOT NULL,
    model            text NOT NULL,
    sealed_api_key   text,
    temperature      double precision,
    max_tokens       integer,
    timeout_seconds  integer NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT llms_org_name_key UNIQUE (org_id, name)
);
CREATE INDEX llms_org_created_idx ON llms (org_id, created_at, id);
CREATE INDEX personas_llm_idx ON personas (llm_id) WHERE llm_id IS NOT NULL;

-- The conversation of a session with a built-in runtime, in order (`seq`): user messages, the
-- persona's replies (with the tool calls it asked for), and tool results. `content` of a tool
-- message is the result as the LLM was given it (JSON text).
CREATE TABLE conversation_messages (
    seq           bigserial PRIMARY KEY,
    id            uuid NOT NULL UNIQUE,
    session_id    uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    turn_id       uuid NOT NULL,
    role          text NOT NULL,
    content       text NOT NULL DEFAULT '',
    tool_calls    json,
    tool_call_id  text,
    interrupted   boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversation_messages_session_idx ON conversation_messages (session_id, seq);
