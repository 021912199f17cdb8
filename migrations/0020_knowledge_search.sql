-- A search ranks a bounded number of candidates (docs/knowledge.md, "Search"); one way a chunk
-- becomes a candidate is a query word in its heading path, which the weighted `search` column's
-- index cannot answer without reading every chunk holding the word anywhere. This index holds the
-- heading path alone, so that lookup reads only the chunks it finds.
CREATE INDEX knowledge_chunks_heading_idx ON knowledge_chunks
    USING gin (to_tsvector('english', coalesce(heading, '')))
    WHERE heading IS NOT NULL;
