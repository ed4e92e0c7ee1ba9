//! Text that remembers where every byte came from.
//!
//! Parsers unquote, unescape and join continuation lines; the result is a
//! [`Cooked`] string whose bytes each carry the file and byte range they were
//! read from. Slicing a cooked string therefore always yields a location in
//! the original file, which is what diagnostics point at and fixes rewrite.

use std::ops::Range;

use crate::span::{FileId, Loc};

/// Where one byte of cooked text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Origin {
    file: FileId,
    start: u32,
    end: u32,
}

/// A string plus, for each of its bytes, the source range that produced it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cooked {
    text: String,
    origin: Vec<Origin>,
}

impl Cooked {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A cooked copy of `file[range]` that maps byte for byte.
    pub(crate) fn verbatim(file: FileId, src: &str, range: Range<usize>) -> Self {
        let mut out = Self::new();
        for (i, c) in src[range.clone()].char_indices() {
            let at = range.start + i;
            out.push(c, file, at..at + c.len_utf8());
        }
        out
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.text.len()
    }

    /// Appends `c`, produced by the source bytes `src` of `file`.
    pub(crate) fn push(&mut self, c: char, file: FileId, src: Range<usize>) {
        let o = Origin {
            file,
            start: src.start as u32,
            end: src.end as u32,
        };
        self.text.push(c);
        for _ in 0..c.len_utf8() {
            self.origin.push(o);
        }
    }

    pub(crate) fn push_cooked(&mut self, other: &Cooked) {
        self.text.push_str(&other.text);
        self.origin.extend_from_slice(&other.origin);
    }

    /// The cooked bytes `range` (which must fall on char boundaries).
    pub(crate) fn slice(&self, range: Range<usize>) -> Cooked {
        Cooked {
            text: self.text[range.clone()].to_owned(),
            origin: self.origin[range].to_vec(),
        }
    }

    /// The file location covering the cooked bytes `range`.
    ///
    /// When the bytes came from several files (a word assembled from a unit
    /// file and an environment file), the location names the file of the
    /// first byte and spans that file's bytes.
    pub(crate) fn loc_of(&self, range: Range<usize>) -> Option<Loc> {
        let first = if range.is_empty() {
            *self
                .origin
                .get(range.start)
                .or_else(|| self.origin.last())?
        } else {
            *self.origin.get(range.start)?
        };
        if range.is_empty() {
            return Some(Loc::new(
                first.file,
                first.start as usize..first.start as usize,
            ));
        }
        let (mut lo, mut hi) = (first.start, first.end);
        for o in &self.origin[range] {
            if o.file == first.file {
                lo = lo.min(o.start);
                hi = hi.max(o.end);
            }
        }
        Some(Loc::new(first.file, lo as usize..hi as usize))
    }

    /// The location of the whole text.
    pub(crate) fn loc(&self) -> Option<Loc> {
        self.loc_of(0..self.text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooked_locations_follow_source_bytes() {
        let f = FileId::TEST;
        let mut c = Cooked::new();
        c.push('a', f, 10..11);
        c.push(' ', f, 11..13); // an escaped space
        c.push('é', f, 13..15);
        assert_eq!(c.as_str(), "a é");
        assert_eq!(c.loc_of(1..4).map(|l| l.span), Some(11..15));
        assert_eq!(c.loc().map(|l| l.span), Some(10..15));
        assert_eq!(c.loc_of(4..4).map(|l| l.span), Some(13..13));
    }
}
