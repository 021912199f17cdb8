-- A tool call the conversation runtime refused to run (its arguments too large or not an object,
-- more calls than a response or a turn may run, an unknown tool): an event of its own, so the
-- session's stream shows why a call the LLM asked for never started.
ALTER TABLE session_events DROP CONSTRAINT session_events_event_check;
ALTER TABLE session_events ADD CONSTRAINT session_events_event_check
    CHECK (event IN ('toolCallStarted', 'toolCallCompleted', 'toolCallFailed', 'toolCallRefused',
                     'sessionEnded', 'messageStreamEvent', 'messageHistoryUpdated', 'turnFailed'));
