-- A call's error may be `tool_error`: the tool answered with an error of its own (an MCP
-- server's `isError` result or JSON-RPC error). The CHECK of 0005 holds the whole set again,
-- with the new kind (hookline_core::ErrorKind).
ALTER TABLE tool_calls DROP CONSTRAINT tool_calls_error_check;
ALTER TABLE tool_calls ADD CONSTRAINT tool_calls_error_check
    CHECK (error IS NULL OR COALESCE(
        jsonb_typeof(error) = 'object'
        AND error->>'kind' IN ('invalid_arguments', 'http_status', 'timeout', 'connection',
                               'blocked_destination', 'response_too_large', 'client_timeout',
                               'client_error', 'encryption_key_missing', 'tool_error')
        AND jsonb_typeof(error->'message') = 'string', false));
