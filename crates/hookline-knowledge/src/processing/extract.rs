//! From a file's bytes to its chunks, by type, within the document's bounds. Runs on a blocking
//! thread: it is CPU work.

use hookline_core::repo::knowledge::chunks::NewChunk;

use super::chunks::{utf8, Collector, Failure};
use super::{docx, json, markdown, pdf, prose, records};
use crate::file_type::FileType;

/// The chunks of a file of type `kind`, or why it could not be read.
pub fn chunks(
    kind: FileType,
    content: &[u8],
    mut out: Collector,
) -> Result<Vec<NewChunk>, Failure> {
    match kind {
        FileType::Text => prose::cut(utf8(content)?, &prose::Place::default(), &mut out)?,
        FileType::Markdown => markdown::cut(utf8(content)?, &mut out)?,
        FileType::Csv => records::csv(content, &mut out)?,
        FileType::Json => json::cut(utf8(content)?, &mut out)?,
        FileType::Log => records::log(utf8(content)?, &mut out)?,
        FileType::Pdf => pdf::cut(content, &mut out)?,
        FileType::Docx => docx::cut(content, &mut out)?,
    }
    out.finish()
}
