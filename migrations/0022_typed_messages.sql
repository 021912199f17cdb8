-- A conversation's messages hold typed state, as the call log does (0005): the role is one of a
-- closed set (hookline_core::Role), and whether a tool message is an error is a column of its
-- own rather than something read back out of its JSON text.
ALTER TABLE conversation_messages ADD CONSTRAINT conversation_messages_role_check
    CHECK (role IN ('user', 'persona', 'tool'));
ALTER TABLE conversation_messages ADD COLUMN is_error boolean NOT NULL DEFAULT false;
-- Tool results stored before this column were errors when their JSON text began with an
-- "error" key: the runtime wrote an error result as {"error": ...} and serde_json writes that
-- key first.
UPDATE conversation_messages SET is_error = true
    WHERE role = 'tool' AND content LIKE '{"error":%';
ALTER TABLE conversation_messages ADD CONSTRAINT conversation_messages_is_error_check
    CHECK (NOT is_error OR role = 'tool');
