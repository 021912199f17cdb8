-- A session's turn: one turn at a time per session, across every instance sharing the database.
-- Taken as a lease with an end, renewed while the turn runs, so a running turn holds no database
-- connection (an advisory lock held one for the whole turn, which capped the turns running at
-- once to the connections of a pool), and a holder that died frees the session when its lease
-- runs out. Released leases keep their row (holder cleared, `lease_until = '-infinity'`): taking
-- and releasing change no indexed column, so they are HOT updates of one row per session.
CREATE TABLE session_turns (
    session_id  uuid PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    holder      uuid NOT NULL,
    lease_until timestamptz NOT NULL
);
