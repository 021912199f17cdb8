//! PDF: the text of each page (read by `pdf-extract`), cut as prose with its page number kept on
//! every chunk. An encrypted PDF, or one whose pages are only images, fails with a reason.

use super::chunks::{Collector, Failure};
use super::prose::{self, Place};

const ENCRYPTED: &str =
    "the PDF is encrypted (password-protected); upload a copy saved without a password";
const NO_TEXT: &str = "the PDF has no text: its pages are images (a scan?); run text recognition \
    (OCR) on it and upload the result";

pub fn cut(content: &[u8], out: &mut Collector) -> Result<(), Failure> {
    let pages = pdf_extract::extract_text_from_mem_by_pages(content).map_err(|e| {
        if encrypted(content) {
            Failure::new(ENCRYPTED)
        } else {
            Failure(format!("the PDF cannot be read: {e}"))
        }
    })?;
    if pages.iter().all(|page| page.trim().is_empty()) {
        return Err(Failure::new(if encrypted(content) {
            ENCRYPTED
        } else {
            NO_TEXT
        }));
    }
    for (i, text) in pages.iter().enumerate() {
        let place = Place {
            heading: None,
            page: Some(i32::try_from(i + 1).unwrap_or(i32::MAX)),
        };
        prose::cut(text, &place, out)?;
    }
    Ok(())
}

/// Whether the file's trailer names an encryption dictionary (`/Encrypt`), asked only once
/// reading failed: a PDF encrypted with an empty password reads fine and is kept.
fn encrypted(content: &[u8]) -> bool {
    content.windows(8).any(|w| w == b"/Encrypt")
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::{Duration, Instant};

    use lopdf::content::{Content, Operation};
    use lopdf::{dictionary, Document, Object, Stream};

    use super::*;

    /// A PDF of one page per entry, each with its text (none for an empty string: an image-only
    /// page, as a scan is); `encrypt` adds an encryption dictionary to the trailer.
    pub fn pdf(pages: &[&str], encrypt: bool) -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let font_id = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        });
        let resources_id =
            doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
        let mut kids = Vec::new();
        for text in pages {
            let operations = if text.is_empty() {
                vec![
                    Operation::new("re", vec![10.into(), 10.into(), 100.into(), 100.into()]),
                    Operation::new("f", vec![]),
                ]
            } else {
                vec![
                    Operation::new("BT", vec![]),
                    Operation::new("Tf", vec!["F1".into(), 12.into()]),
                    Operation::new("Td", vec![50.into(), 700.into()]),
                    Operation::new("Tj", vec![Object::string_literal(*text)]),
                    Operation::new("ET", vec![]),
                ]
            };
            let content = Content { operations }.encode().unwrap();
            let content_id = doc.add_object(Stream::new(dictionary! {}, content));
            let page_id = doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
            });
            kids.push(page_id.into());
        }
        let count = i64::try_from(kids.len()).unwrap();
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => kids, "Count" => count,
                "Resources" => resources_id,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            }),
        );
        let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", catalog_id);
        if encrypt {
            let encrypt_id = doc.add_object(dictionary! {
                "Filter" => "Standard", "V" => 1, "R" => 2, "P" => -4,
                "O" => Object::string_literal(vec![7u8; 32]),
                "U" => Object::string_literal(vec![9u8; 32]),
            });
            doc.trailer.set("Encrypt", encrypt_id);
            doc.trailer.set(
                "ID",
                vec![
                    Object::string_literal(vec![1u8; 16]),
                    Object::string_literal(vec![1u8; 16]),
                ],
            );
        }
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).unwrap();
        bytes
    }

    fn read(content: &[u8]) -> Result<Vec<(Option<i32>, String)>, Failure> {
        let mut out = Collector::new(100, Instant::now() + Duration::from_secs(60), 60);
        cut(content, &mut out)?;
        Ok(out
            .finish()?
            .into_iter()
            .map(|c| (c.page, c.content))
            .collect())
    }

    #[test]
    fn each_page_keeps_its_number() {
        let chunks = read(&pdf(&["Welcome to Acme.", "Refunds take 14 days."], false)).unwrap();
        assert_eq!(chunks.len(), 2, "{chunks:?}");
        assert_eq!(chunks[1].0, Some(2));
        assert!(chunks[1].1.contains("Refunds take 14 days."), "{chunks:?}");
    }

    #[test]
    fn encrypted_and_image_only_pdfs_fail_with_a_reason() {
        assert_eq!(read(&pdf(&["", ""], false)).unwrap_err().0, NO_TEXT);
        assert_eq!(
            read(&pdf(&["Secret plans."], true)).unwrap_err().0,
            ENCRYPTED
        );
        let broken = read(b"%PDF-1.5\nnot really").unwrap_err().0;
        assert!(broken.starts_with("the PDF cannot be read"), "{broken}");
    }
}
