-- Knowledge: folders of documents a knowledge tool searches (RAG).
CREATE TABLE knowledge_folders (
    id           uuid PRIMARY KEY,
    org_id       uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name         text NOT NULL,
    description  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT knowledge_folders_org_name_key UNIQUE (org_id, name)
);
CREATE INDEX knowledge_folders_org_created_idx ON knowledge_folders (org_id, created_at, id);

-- A document is also its own processing job: while `processing`, any instance may claim it
-- (FOR UPDATE SKIP LOCKED) by writing itself as `lease_holder` until `lease_until`; the lease is
-- longer than the time a document may take, so a live holder always finishes (fenced by the
-- holder) before anyone else may claim it, and a dead holder's document is claimed again once the
-- lease has run out. `attempts` counts claims, so a document that kills its instance every time
-- fails instead of going round forever.
CREATE TABLE knowledge_documents (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    folder_id     uuid NOT NULL REFERENCES knowledge_folders (id) ON DELETE CASCADE,
    filename      text NOT NULL,
    content_type  text NOT NULL,
    size          bigint NOT NULL CHECK (size >= 0),
    status        text NOT NULL DEFAULT 'processing'
                  CHECK (status IN ('processing', 'ready', 'failed')),
    error         text,
    chunk_count   integer,
    attempts      integer NOT NULL DEFAULT 0,
    lease_holder  uuid,
    lease_until   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX knowledge_documents_folder_idx ON knowledge_documents (folder_id, created_at, id);
CREATE INDEX knowledge_documents_org_idx ON knowledge_documents (org_id);
CREATE INDEX knowledge_documents_due_idx ON knowledge_documents (created_at)
    WHERE status = 'processing';

-- The uploaded bytes, kept only until the document is processed (apart from the document row, so
-- lists never touch them).
CREATE TABLE knowledge_files (
    document_id  uuid PRIMARY KEY REFERENCES knowledge_documents (id) ON DELETE CASCADE,
    content      bytea NOT NULL
);

-- The searchable pieces of ready documents, written in the same transaction that makes their
-- document `ready` (so a search never sees half a document). `search` weighs the heading path
-- above the text; English stemming (see docs/knowledge.md).
CREATE TABLE knowledge_chunks (
    id           bigserial PRIMARY KEY,
    document_id  uuid NOT NULL REFERENCES knowledge_documents (id) ON DELETE CASCADE,
    folder_id    uuid NOT NULL,
    ordinal      integer NOT NULL,
    content      text NOT NULL,
    heading      text,
    page         integer,
    row_number   integer,
    line_number  integer,
    search       tsvector NOT NULL GENERATED ALWAYS AS (
                     setweight(to_tsvector('english', coalesce(heading, '')), 'A')
                     || setweight(to_tsvector('english', content), 'B')
                 ) STORED
);
CREATE INDEX knowledge_chunks_document_idx ON knowledge_chunks (document_id, ordinal);
CREATE INDEX knowledge_chunks_search_idx ON knowledge_chunks USING gin (search);
