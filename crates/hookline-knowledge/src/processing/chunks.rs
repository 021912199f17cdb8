//! Collecting a document's chunks within its bounds: how many, how much text, how long.

use std::time::Instant;

use hookline_core::repo::knowledge::chunks::NewChunk;

/// Why a document could not be processed, in words for its `error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Failure(pub String);

impl Failure {
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// The most text one document's chunks may hold together (bytes), so a small file that
/// decompresses or expands to much more cannot take the instance's memory.
pub const MAX_TEXT_BYTES: usize = 64 * 1024 * 1024;
/// The longest CSV row or log line kept as one chunk (bytes); a longer one fails the document.
pub const MAX_RECORD_BYTES: usize = 16 * 1024;

/// The chunks of one document as they are made, refused past the document's bounds.
pub struct Collector {
    chunks: Vec<NewChunk>,
    text_bytes: usize,
    max_chunks: usize,
    deadline: Instant,
    seconds: u64,
}

impl Collector {
    pub fn new(max_chunks: usize, deadline: Instant, seconds: u64) -> Self {
        Self {
            chunks: Vec::new(),
            text_bytes: 0,
            max_chunks,
            deadline,
            seconds,
        }
    }

    /// Adds a chunk (blank ones are dropped).
    pub fn push(&mut self, chunk: NewChunk) -> Result<(), Failure> {
        if chunk.content.trim().is_empty() {
            return Ok(());
        }
        self.text_bytes += chunk.content.len();
        if self.chunks.len() >= self.max_chunks {
            return Err(Failure(format!(
                "the document makes more than {} chunks (HOOKLINE_KNOWLEDGE_MAX_CHUNKS)",
                self.max_chunks
            )));
        }
        if self.text_bytes > MAX_TEXT_BYTES {
            return Err(Failure::new(
                "the document's text is larger than 64 MiB once extracted",
            ));
        }
        self.chunks.push(chunk);
        self.check_time()
    }

    /// Fails once the document's time is up; extractors call it as they go.
    pub fn check_time(&self) -> Result<(), Failure> {
        if Instant::now() > self.deadline {
            return Err(Failure(format!(
                "processing took longer than {} s (HOOKLINE_KNOWLEDGE_DOCUMENT_SECONDS)",
                self.seconds
            )));
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Vec<NewChunk>, Failure> {
        if self.chunks.is_empty() {
            return Err(Failure::new("the document has no text"));
        }
        Ok(self.chunks)
    }
}

/// `content` as UTF-8 text (a byte-order mark dropped), or why not.
pub fn utf8(content: &[u8]) -> Result<&str, Failure> {
    let content = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
    std::str::from_utf8(content).map_err(|e| {
        Failure(format!(
            "the file is not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}
