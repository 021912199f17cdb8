-- Hybrid knowledge search (docs/knowledge.md, "Hybrid search"): an LLM entry may be an embedding
-- model, chunks of ready documents get vectors from it, and a search fuses the semantic ranking
-- with the lexical one.

-- `chat` entries are what personas talk through; `embedding` entries turn text into vectors
-- (OpenAI-compatible `POST /embeddings`). The kind is fixed once the entry exists.
ALTER TABLE llms ADD COLUMN kind text NOT NULL DEFAULT 'chat'
    CHECK (kind IN ('chat', 'embedding'));
-- The organization's embedding model is its newest embedding entry.
CREATE INDEX llms_org_embedding_idx ON llms (org_id, created_at DESC, id DESC)
    WHERE kind = 'embedding';

-- A ready document's embedding state, apart from its `status`: a document is searchable
-- lexically whether or not its vectors exist, and an embedding server that is down never fails
-- it. `embedded_llm_id`/`embedded_model` name what its vectors were made with; the document is
-- due again whenever those differ from the organization's embedding model (a new entry or a
-- changed model re-embeds). `embed_after` is both the lease of the worker embedding it and the
-- backoff after a failure: nobody claims it before then.
ALTER TABLE knowledge_documents
    ADD COLUMN embedded_llm_id uuid,
    ADD COLUMN embedded_model text,
    ADD COLUMN embed_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN embed_after timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN embedding_error text;
CREATE INDEX knowledge_documents_embed_idx ON knowledge_documents (org_id, embed_after)
    WHERE status = 'ready';

-- One vector a chunk, unit length (so cosine similarity is a dot product), as `real[]`: the
-- `vector` extension is not assumed. A vector belongs to the entry and model that made it; a
-- search reads only those of the organization's current embedding model, so one organization's
-- searched vectors always have one dimension count. Deleting the entry deletes its vectors.
CREATE TABLE knowledge_embeddings (
    chunk_id   bigint PRIMARY KEY REFERENCES knowledge_chunks (id) ON DELETE CASCADE,
    folder_id  uuid NOT NULL,
    llm_id     uuid NOT NULL REFERENCES llms (id) ON DELETE CASCADE,
    model      text NOT NULL,
    vector     real[] NOT NULL CHECK (array_ndims(vector) = 1)
);
CREATE INDEX knowledge_embeddings_folder_idx ON knowledge_embeddings (folder_id, llm_id, model);
CREATE INDEX knowledge_embeddings_llm_idx ON knowledge_embeddings (llm_id);
