//! Small rules for text shown to people: cutting to a size in bytes without splitting a
//! character, and counting with a noun.

/// The longest start of `text` of at most `max_bytes` bytes that ends at a character's edge.
pub fn cut(text: &str, max_bytes: usize) -> &str {
    let mut end = max_bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `1 tool`, `3 tools`: a count with its noun (a regular plural), never `tool(s)`.
pub fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_count_takes_its_noun_in_the_right_number() {
        assert_eq!(super::counted(1, "tool"), "1 tool");
        assert_eq!(super::counted(0, "tool"), "0 tools");
        assert_eq!(super::counted(3, "knowledge tool"), "3 knowledge tools");
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        assert_eq!(super::cut("héllo", 2), "h");
        assert_eq!(super::cut("héllo", 3), "hé");
        assert_eq!(super::cut("hi", 10), "hi");
    }
}
