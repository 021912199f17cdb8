-- A session ends once, with exactly one `sessionEnded`, numbered after every event of the calls
-- answered before the end. `end_announced` records that the event was written; whichever
-- transaction leaves the session ended with no awaited call still running writes it, under the
-- session row's lock.
ALTER TABLE sessions ADD COLUMN end_announced boolean NOT NULL DEFAULT false;
UPDATE sessions SET end_announced = true WHERE ended_at IS NOT NULL;
-- The janitor looks for ended sessions whose announcement is overdue (their process died).
CREATE INDEX sessions_unannounced_idx ON sessions (ended_at)
    WHERE ended_at IS NOT NULL AND NOT end_announced;
