-- The janitor deletes what sessions over (ended, or expired) before the retention's cutoff
-- recorded, a batch at a time (hookline_core::repo::retention). Each batch finds the sessions
-- over by this expression, the one its statements write; without the index every batch read the
-- whole sessions table.
CREATE INDEX sessions_over_idx ON sessions (LEAST(expires_at, COALESCE(ended_at, expires_at)));
