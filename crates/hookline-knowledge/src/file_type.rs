//! The kinds of file a document may be: told by the file's extension, checked against its
//! first bytes, so a renamed binary is refused at upload rather than failing later.

/// A supported kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Text,
    Markdown,
    Pdf,
    Docx,
    Csv,
    Json,
    Log,
}

/// The extensions accepted, for messages.
pub const SUPPORTED: &str = ".txt, .md, .pdf, .docx, .csv, .json, .log";

impl FileType {
    /// The type a file name's extension names, if supported.
    pub fn of_filename(filename: &str) -> Option<Self> {
        let (_, ext) = filename.rsplit_once('.')?;
        Some(match ext.to_ascii_lowercase().as_str() {
            "txt" | "text" => Self::Text,
            "md" | "markdown" => Self::Markdown,
            "pdf" => Self::Pdf,
            "docx" => Self::Docx,
            "csv" => Self::Csv,
            "json" => Self::Json,
            "log" => Self::Log,
            _ => return None,
        })
    }

    /// The type a stored content type names (as [`FileType::content_type`] wrote it).
    pub fn of_content_type(content_type: &str) -> Option<Self> {
        [
            Self::Text,
            Self::Markdown,
            Self::Pdf,
            Self::Docx,
            Self::Csv,
            Self::Json,
            Self::Log,
        ]
        .into_iter()
        .find(|t| t.content_type() == content_type)
    }

    /// The content type a document of this type is stored and shown with.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Text => "text/plain",
            Self::Markdown => "text/markdown",
            Self::Pdf => "application/pdf",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Csv => "text/csv",
            Self::Json => "application/json",
            // Apart from text/plain, so the stored type says how it is chunked.
            Self::Log => "text/x-log",
        }
    }

    /// Whether `content` looks like this type: a PDF starts with `%PDF-`, a DOCX is a zip
    /// archive, and text holds no NUL byte in its first 8 KiB (binary files almost always do).
    pub fn matches(self, content: &[u8]) -> bool {
        match self {
            Self::Pdf => content.starts_with(b"%PDF-"),
            Self::Docx => content.starts_with(b"PK\x03\x04"),
            _ => !content[..content.len().min(8192)].contains(&0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_told_by_extension_and_checked_by_content() {
        assert_eq!(FileType::of_filename("Guide.MD"), Some(FileType::Markdown));
        assert_eq!(FileType::of_filename("a.tar.log"), Some(FileType::Log));
        assert_eq!(FileType::of_filename("setup.exe"), None);
        assert_eq!(FileType::of_filename("README"), None);
        assert!(FileType::Pdf.matches(b"%PDF-1.7\n"));
        assert!(!FileType::Pdf.matches(b"hello"));
        assert!(!FileType::Text.matches(b"MZ\x90\x00\x03"));
        assert!(FileType::Text.matches("héllo".as_bytes()));
        for t in [FileType::Log, FileType::Docx, FileType::Csv] {
            assert_eq!(FileType::of_content_type(t.content_type()), Some(t));
        }
    }
}
