//! Text under headings, for formats with headings (Markdown, DOCX): paragraphs gather into the
//! section of the heading above them, and each section is cut as prose with its heading path
//! (`Setup > Ports`) kept on every chunk.

use super::chunks::{Collector, Failure};
use super::prose::{self, Place};

/// The longest heading path kept, in characters.
const MAX_HEADING_CHARS: usize = 500;

#[derive(Default)]
pub struct Sections {
    path: Vec<(usize, String)>,
    text: String,
}

impl Sections {
    /// A heading of `level` (the lower, the higher) starts a new section under the headings above it.
    /// Its words belong to the section's text too, so a search for them finds it.
    pub fn heading(
        &mut self,
        level: usize,
        title: &str,
        out: &mut Collector,
    ) -> Result<(), Failure> {
        self.flush(out)?;
        self.path.retain(|(l, _)| *l < level);
        self.path.push((level, title.to_owned()));
        self.paragraph(title);
        Ok(())
    }

    /// A paragraph (or a line of one) of the current section.
    pub fn paragraph(&mut self, text: &str) {
        self.text.push_str(text);
        self.text.push_str("\n\n");
    }

    /// A line that continues the paragraph before it.
    pub fn line(&mut self, text: &str) {
        self.text.push_str(text);
        self.text.push('\n');
    }

    /// Cuts the current section into chunks.
    pub fn flush(&mut self, out: &mut Collector) -> Result<(), Failure> {
        let heading = (!self.path.is_empty()).then(|| {
            let joined = self
                .path
                .iter()
                .map(|(_, t)| t.as_str())
                .collect::<Vec<_>>()
                .join(" > ");
            joined.chars().take(MAX_HEADING_CHARS).collect()
        });
        prose::cut(
            &self.text,
            &Place {
                heading,
                page: None,
            },
            out,
        )?;
        self.text.clear();
        out.check_time()
    }
}
