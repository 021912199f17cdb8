-- Two more kinds a call's error may have, for the tool limits and connections of tool power:
-- `rate_limited` (a tool's own limits held the call until its timeout) and `auth` (a connection's
-- token could not be had). The CHECK holds the whole set again (hookline_core::ErrorKind).
ALTER TABLE tool_calls DROP CONSTRAINT tool_calls_error_check;
ALTER TABLE tool_calls ADD CONSTRAINT tool_calls_error_check
    CHECK (error IS NULL OR COALESCE(
        jsonb_typeof(error) = 'object'
        AND error->>'kind' IN ('invalid_arguments', 'http_status', 'timeout', 'connection',
                               'blocked_destination', 'response_too_large', 'client_timeout',
                               'client_error', 'encryption_key_missing', 'tool_error',
                               'rate_limited', 'auth')
        AND jsonb_typeof(error->'message') = 'string', false));
