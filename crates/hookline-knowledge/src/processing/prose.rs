//! Prose (plain text, Markdown sections, PDF pages, DOCX sections) cut into chunks: paragraphs
//! grouped up to a size, each chunk starting with the end of the one before it (overlap), so a
//! sentence that spans two chunks is found whole in one of them.

use hookline_core::repo::knowledge::chunks::NewChunk;

use super::chunks::{Collector, Failure};

/// A chunk's size aimed at, in characters: a few paragraphs, small enough that a search result
/// shows an LLM only what answers.
pub const TARGET_CHARS: usize = 1200;
/// Characters of the previous chunk repeated at the start of the next.
pub const OVERLAP_CHARS: usize = 200;

/// Where the text came from, copied onto each of its chunks.
#[derive(Debug, Clone, Default)]
pub struct Place {
    pub heading: Option<String>,
    pub page: Option<i32>,
}

/// Cuts `text` into chunks at `place`.
pub fn cut(text: &str, place: &Place, out: &mut Collector) -> Result<(), Failure> {
    let mut current = String::new();
    // The bytes at the start of `current` repeated from the chunk before: a chunk of only
    // those is never emitted.
    let mut repeated = 0;
    for paragraph in paragraphs(text) {
        for piece in pieces(paragraph) {
            if current.len() > repeated && chars(&current) + chars(piece) + 2 > TARGET_CHARS {
                let overlap = tail(&current, OVERLAP_CHARS).to_owned();
                emit(std::mem::take(&mut current), place, out)?;
                repeated = overlap.len();
                current = overlap;
            }
            if !current.is_empty() {
                current.push_str("\n\n");
            }
            current.push_str(piece);
        }
    }
    if current.len() > repeated {
        emit(current, place, out)?;
    }
    Ok(())
}

fn emit(content: String, place: &Place, out: &mut Collector) -> Result<(), Failure> {
    out.push(NewChunk {
        content,
        heading: place.heading.clone(),
        page: place.page,
        ..NewChunk::default()
    })
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// The paragraphs of `text`: runs of lines between blank lines, trimmed.
fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n\n")
        .flat_map(|p| p.split("\r\n\r\n"))
        .map(str::trim)
        .filter(|p| !p.is_empty())
}

/// A paragraph, or pieces of one longer than a chunk, cut at whitespace (or anywhere, for a
/// run without any).
fn pieces(paragraph: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = paragraph;
    // Linear in the paragraph: each turn looks at one chunk's characters only.
    while let Some((limit, _)) = rest.char_indices().nth(TARGET_CHARS) {
        let cut = rest[..limit]
            .rfind(char::is_whitespace)
            .filter(|&i| i > 0)
            .unwrap_or(limit);
        out.push(rest[..cut].trim_end());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// The last `n` characters of `s`, starting at a word.
fn tail(s: &str, n: usize) -> &str {
    let count = chars(s);
    if count <= n {
        return s;
    }
    let start = s.char_indices().nth(count - n).map_or(0, |(i, _)| i);
    let from_word = s[start..]
        .find(char::is_whitespace)
        .map_or(start, |i| start + i);
    s[from_word..].trim_start()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn cut_all(text: &str) -> Vec<String> {
        let mut out = Collector::new(1000, Instant::now() + Duration::from_secs(60), 60);
        cut(text, &Place::default(), &mut out).unwrap();
        out.finish()
            .unwrap()
            .into_iter()
            .map(|c| c.content)
            .collect()
    }

    #[test]
    fn short_paragraphs_share_a_chunk() {
        assert_eq!(cut_all("One.\n\nTwo.\n\n\n"), ["One.\n\nTwo."]);
    }

    #[test]
    fn long_text_is_cut_with_overlap_and_no_chunk_is_oversized() {
        let sentence = "The refund window is thirty days from delivery. ";
        let text = [sentence.repeat(20), sentence.repeat(20), "x".repeat(3000)].join("\n\n");
        let chunks = cut_all(&text);
        assert!(chunks.len() >= 3, "{chunks:?}");
        for c in &chunks {
            assert!(
                c.chars().count() <= TARGET_CHARS + OVERLAP_CHARS + 2,
                "{}",
                c.len()
            );
        }
        // The second chunk starts with words the first one ended with.
        let head: String = chunks[1].chars().take(40).collect();
        assert!(chunks[0].contains(head.trim()), "{head:?}");
    }
}
