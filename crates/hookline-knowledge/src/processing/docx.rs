//! DOCX: the paragraphs of `word/document.xml` (unzipped by `zip`, read by `quick-xml`), headings
//! (`Heading1`… `Title` styles) kept as each chunk's heading path. The XML is read to at most
//! 64 MiB whatever its archive claims, so a zip bomb fails the document instead of the instance.

use std::io::Read;

use quick_xml::events::Event;

use super::chunks::{Collector, Failure, MAX_TEXT_BYTES};
use super::sections::Sections;

pub fn cut(content: &[u8], out: &mut Collector) -> Result<(), Failure> {
    let xml = document_xml(content)?;
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut sections = Sections::default();
    let mut paragraph = String::new();
    let mut level: Option<usize> = None;
    let mut in_text = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| Failure(format!("the DOCX's text cannot be read: {e}")))?;
        match event {
            Event::Eof => break,
            Event::Start(e) => match e.local_name().as_ref() {
                b"t" => in_text = true,
                b"p" => {
                    paragraph.clear();
                    level = None;
                }
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                b"pStyle" => {
                    let style = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"val")
                        .map(|a| String::from_utf8_lossy(&a.value).to_ascii_lowercase());
                    level = style.as_deref().and_then(heading_level);
                }
                b"tab" => paragraph.push('\t'),
                b"br" | b"cr" => paragraph.push('\n'),
                _ => {}
            },
            Event::Text(t) if in_text => {
                let text = t
                    .decode()
                    .map_err(|e| Failure(format!("the DOCX's text cannot be read: {e}")))?;
                paragraph.push_str(&text);
            }
            Event::GeneralRef(r) if in_text => {
                let name = r.decode().unwrap_or_default();
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    paragraph.push(c);
                } else if let Some(text) = quick_xml::escape::resolve_predefined_entity(&name) {
                    paragraph.push_str(text);
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"t" => in_text = false,
                b"p" => {
                    let text = paragraph.trim();
                    match level {
                        Some(level) if !text.is_empty() => sections.heading(level, text, out)?,
                        _ => sections.paragraph(text),
                    }
                    out.check_time()?;
                }
                _ => {}
            },
            _ => {}
        }
    }
    sections.flush(out)
}

/// The heading level of a paragraph style, lower-cased: `heading2` → 2, and `title` → 0, so a
/// document's title stays above its first-level headings.
fn heading_level(style: &str) -> Option<usize> {
    if style == "title" {
        return Some(0);
    }
    style
        .strip_prefix("heading")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| (1..=9).contains(n))
}

/// The document's main XML, read to at most [`MAX_TEXT_BYTES`].
fn document_xml(content: &[u8]) -> Result<String, Failure> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(content))
        .map_err(|e| Failure(format!("the DOCX is not a readable zip archive: {e}")))?;
    let entry = archive.by_name("word/document.xml").map_err(|e| {
        Failure(format!(
            "the DOCX has no readable word/document.xml (is it a Word document?): {e}"
        ))
    })?;
    let limit = MAX_TEXT_BYTES as u64;
    let mut xml = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut xml)
        .map_err(|e| Failure(format!("the DOCX cannot be unzipped: {e}")))?;
    if xml.len() as u64 > limit {
        return Err(Failure::new(
            "the DOCX's word/document.xml unzips to more than 64 MiB",
        ));
    }
    String::from_utf8(xml).map_err(|_| Failure::new("the DOCX's word/document.xml is not UTF-8"))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;
    use std::time::{Duration, Instant};

    use zip::write::SimpleFileOptions;

    use super::*;

    /// A DOCX whose document.xml body is `body` (WordprocessingML paragraphs).
    pub fn docx(body: &str) -> Vec<u8> {
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
        );
        zipped(
            &[("word/document.xml", xml.as_bytes())],
            zip::CompressionMethod::Stored,
        )
    }

    fn zipped(files: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, content) in files {
            writer
                .start_file(
                    *name,
                    SimpleFileOptions::default().compression_method(method),
                )
                .unwrap();
            writer.write_all(content).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    pub fn paragraph(style: Option<&str>, text: &str) -> String {
        let style = style
            .map(|s| format!(r#"<w:pPr><w:pStyle w:val="{s}"/></w:pPr>"#))
            .unwrap_or_default();
        format!(r#"<w:p>{style}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>"#)
    }

    fn read(content: &[u8]) -> Result<Vec<(Option<String>, String)>, Failure> {
        let mut out = Collector::new(100, Instant::now() + Duration::from_secs(60), 60);
        cut(content, &mut out)?;
        Ok(out
            .finish()?
            .into_iter()
            .map(|c| (c.heading, c.content))
            .collect())
    }

    #[test]
    fn paragraphs_are_read_under_their_headings() {
        let body = [
            paragraph(Some("Heading1"), "Returns"),
            paragraph(None, "Items come back within 30 days &amp; unused."),
            paragraph(Some("Heading2"), "Refunds"),
            paragraph(None, "Paid in 14 days."),
        ]
        .concat();
        let chunks = read(&docx(&body)).unwrap();
        assert_eq!(
            chunks,
            [
                (
                    Some("Returns".into()),
                    "Returns\n\nItems come back within 30 days & unused.".into()
                ),
                (
                    Some("Returns > Refunds".into()),
                    "Refunds\n\nPaid in 14 days.".into()
                ),
            ]
        );
    }

    #[test]
    fn a_zip_bomb_or_a_zip_that_is_no_document_fails() {
        let bomb = vec![b' '; 65 * 1024 * 1024];
        let file = zipped(
            &[("word/document.xml", &bomb)],
            zip::CompressionMethod::Deflated,
        );
        assert!(file.len() < 1024 * 1024, "{}", file.len());
        assert_eq!(
            read(&file).unwrap_err().0,
            "the DOCX's word/document.xml unzips to more than 64 MiB"
        );
        let other = zipped(&[("hello.txt", b"hi")], zip::CompressionMethod::Stored);
        assert!(read(&other)
            .unwrap_err()
            .0
            .contains("no readable word/document.xml"));
        assert!(read(b"PK\x03\x04broken")
            .unwrap_err()
            .0
            .contains("not a readable zip"));
    }
}
