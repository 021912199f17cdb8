-- Follow-ups: a turn the persona asked for itself (the system tool `schedule_followup`), started
-- by the runtime when it is due and its session still active. Durable work like a delivery: a due
-- row is claimed by one instance under a lease (`holder`, `lease_until`), renewed while it waits
-- for the session's running turn, and marked `started` (with its turn) once that turn begins; a
-- claim whose instance died is claimed again when its lease ends. A session's end cancels its
-- pending follow-ups.
CREATE TABLE follow_ups (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    note        text NOT NULL,
    due_at      timestamptz NOT NULL,
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'claimed', 'started', 'cancelled')),
    holder      uuid,
    lease_until timestamptz,
    turn_id     uuid,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- What is due, in order: only rows still to run are indexed.
CREATE INDEX follow_ups_due ON follow_ups (due_at) WHERE status IN ('pending', 'claimed');
CREATE INDEX follow_ups_session ON follow_ups (session_id, created_at);

ALTER TABLE session_events DROP CONSTRAINT session_events_event_check;
ALTER TABLE session_events ADD CONSTRAINT session_events_event_check
    CHECK (event IN ('toolCallStarted', 'toolCallCompleted', 'toolCallFailed', 'toolCallRefused',
                     'sessionEnded', 'messageStreamEvent', 'messageHistoryUpdated', 'turnFailed',
                     'followUpScheduled', 'followUpStarted'));
