-- The user message whose turn last took the session's turn (its `seq` in conversation_messages).
-- A follow-up takes the turn only once the newest user message's turn has had it, so a message
-- posted while a follow-up waits is answered first, and once.
ALTER TABLE session_turns ADD COLUMN seq bigint NOT NULL DEFAULT 0;
