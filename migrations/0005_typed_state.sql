-- Typed state: the columns that hold a state from a closed set accept only its values, the same
-- sets as the Rust enums that write them (hookline_schema::ToolType, hookline_core::CallStatus,
-- ErrorKind and EventName). A value the code does not know is refused by the database instead of
-- being stored and misread later; a new value is a new migration.
ALTER TABLE tools ADD CONSTRAINT tools_tool_type_check
    CHECK (tool_type IN ('server', 'client', 'system'));

ALTER TABLE tool_calls ADD CONSTRAINT tool_calls_tool_type_check
    CHECK (tool_type IN ('server', 'client', 'system'));
ALTER TABLE tool_calls ADD CONSTRAINT tool_calls_status_check
    CHECK (status IN ('pending', 'running', 'completed', 'failed'));
-- A call's error is {kind, message, errors?}: an object with a known kind and a text message.
-- (A missing key makes the test NULL, which a CHECK would let through: hence the COALESCE.)
ALTER TABLE tool_calls ADD CONSTRAINT tool_calls_error_check
    CHECK (error IS NULL OR COALESCE(
        jsonb_typeof(error) = 'object'
        AND error->>'kind' IN ('invalid_arguments', 'http_status', 'timeout', 'connection',
                               'blocked_destination', 'response_too_large', 'client_timeout',
                               'client_error', 'encryption_key_missing')
        AND jsonb_typeof(error->'message') = 'string', false));

ALTER TABLE session_events ADD CONSTRAINT session_events_event_check
    CHECK (event IN ('toolCallStarted', 'toolCallCompleted', 'toolCallFailed', 'sessionEnded',
                     'messageStreamEvent', 'messageHistoryUpdated', 'turnFailed'));
