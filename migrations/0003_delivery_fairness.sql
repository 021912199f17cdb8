-- Fair delivery between organizations: a claim finds the organizations with due calls (a loose
-- scan of the first index), takes each one's oldest due calls up to its share, and counts the
-- calls each organization has in delivery (the second index holds only leased rows, a handful).
-- Both are partial, so awaited calls (never queued) cost nothing.
CREATE INDEX tool_calls_due_org_idx ON tool_calls (org_id, next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX tool_calls_leased_idx ON tool_calls (org_id) WHERE lease_owner IS NOT NULL;
