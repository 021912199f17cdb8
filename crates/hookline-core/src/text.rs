//! Cutting text to a size in bytes without splitting a character.

/// The longest start of `text` of at most `max_bytes` bytes that ends at a character's edge.
pub fn cut(text: &str, max_bytes: usize) -> &str {
    let mut end = max_bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cut_never_splits_a_character() {
        assert_eq!(super::cut("héllo", 2), "h");
        assert_eq!(super::cut("héllo", 3), "hé");
        assert_eq!(super::cut("hi", 10), "hi");
    }
}
