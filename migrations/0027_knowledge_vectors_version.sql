-- Each instance keeps the vectors of the folders it searches in memory (docs/knowledge.md, "Exact
-- or HNSW"). A folder's `vectors_version` grows with every change to its vectors (a batch stored,
-- a document deleted), in the statement that makes the change; a search reads it, one indexed row
-- per folder, and an instance whose copy was read at another version reads the folder again. No
-- message between instances is needed, and none can be missed.
ALTER TABLE knowledge_folders ADD COLUMN vectors_version bigint NOT NULL DEFAULT 0;
