//! Markdown: cut into sections at its ATX headings (`#` to `######`), each section's text cut as
//! prose with its heading path (`Setup > Ports`) kept on every chunk. Fenced code blocks are
//! text, whatever their lines start with.

use super::chunks::{Collector, Failure};
use super::sections::Sections;

pub fn cut(text: &str, out: &mut Collector) -> Result<(), Failure> {
    let mut sections = Sections::default();
    let mut fence: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
            }
        } else if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
        } else if let Some((level, title)) = heading(line) {
            sections.heading(level, title, out)?;
            continue;
        }
        sections.line(line);
    }
    sections.flush(out)
}

/// A line's heading level and title, when it is an ATX heading (`## Ports ##` → 2, "Ports").
fn heading(line: &str) -> Option<(usize, &str)> {
    if line.starts_with("    ") {
        return None;
    }
    let trimmed = line.trim_start();
    let level = trimmed.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &trimmed[level..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let title = rest.trim().trim_end_matches('#').trim_end();
    (!title.is_empty()).then_some((level, title))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn chunks_keep_their_heading_path() {
        let text = "Intro line.\n\n# Setup\n\nInstall it.\n\n## Ports ##\n\nUse 8080.\n\n```\n# not a heading\n```\n\n# Billing\n\n#hashtag is text.\n";
        let mut out = Collector::new(100, Instant::now() + Duration::from_secs(60), 60);
        cut(text, &mut out).unwrap();
        let got: Vec<(Option<String>, String)> = out
            .finish()
            .unwrap()
            .into_iter()
            .map(|c| (c.heading, c.content))
            .collect();
        assert_eq!(got[0], (None, "Intro line.".to_owned()));
        assert_eq!(
            got[1],
            (Some("Setup".into()), "Setup\n\nInstall it.".into())
        );
        assert_eq!(got[2].0.as_deref(), Some("Setup > Ports"));
        assert!(got[2].1.contains("# not a heading"), "{:?}", got[2]);
        assert_eq!(
            got[3],
            (
                Some("Billing".into()),
                "Billing\n\n#hashtag is text.".into()
            )
        );
        assert_eq!(got.len(), 4);
    }
}
