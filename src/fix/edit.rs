//! Byte edits on file text.

use std::ops::Range;

use crate::span::FileId;

/// Replace `range` of a file with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    pub(crate) file: FileId,
    pub(crate) range: Range<usize>,
    pub(crate) text: String,
}

/// Applies non-overlapping edits to `text`; `None` if two overlap.
pub(crate) fn apply(text: &str, edits: &[&Edit]) -> Option<String> {
    let mut sorted: Vec<&&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for e in sorted {
        if e.range.start < at || e.range.end > text.len() {
            return None;
        }
        out.push_str(text.get(at..e.range.start)?);
        out.push_str(&e.text);
        at = e.range.end;
    }
    out.push_str(text.get(at..)?);
    Some(out)
}

/// The line ending a file uses: CRLF if its first line ends so.
pub(crate) fn newline(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Start of the line holding `offset`.
pub(crate) fn line_start(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1)
}

/// End of the line holding `offset`, before its line ending.
pub(crate) fn line_end(text: &str, offset: usize) -> usize {
    let end = text[offset.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| offset + i);
    if end > 0 && text.as_bytes().get(end - 1) == Some(&b'\r') && end < text.len() {
        end - 1
    } else {
        end
    }
}

/// The whole lines spanning `range`, with the line ending after them.
pub(crate) fn whole_lines(text: &str, range: &Range<usize>) -> Range<usize> {
    let start = line_start(text, range.start);
    let end = text[range.end.min(text.len())..]
        .find('\n')
        .map_or(text.len(), |i| range.end + i + 1);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_and_refuse_overlaps() {
        let e = |r: Range<usize>, t: &str| Edit {
            file: FileId::TEST,
            range: r,
            text: t.to_owned(),
        };
        let (a, b) = (e(0..1, "X"), e(4..4, " Y"));
        assert_eq!(apply("abcd", &[&b, &a]).as_deref(), Some("Xbcd Y"));
        let c = e(0..2, "Z");
        assert_eq!(apply("abcd", &[&a, &c]), None);
    }

    #[test]
    fn lines_and_endings() {
        let t = "a: 1\r\nb: 2\r\nc: 3";
        assert_eq!(newline(t), "\r\n");
        assert_eq!(line_end(t, 7), 10);
        assert_eq!(line_end(t, 13), 16);
        assert_eq!(whole_lines(t, &(7..8)), 6..12);
        assert_eq!(whole_lines(t, &(13..14)), 12..16);
    }
}
