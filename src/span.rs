//! The ground floor: where a byte of text is (a file and a range in it) and
//! how a byte offset reads as a line and column. Every layer above points
//! into files with these; this module imports nothing of promready.

use std::ops::Range;

/// Index of a file in the file database of one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FileId(u32);

impl FileId {
    #[cfg(test)]
    pub(crate) const TEST: FileId = FileId(u32::MAX);

    /// The id of the `index`th file (saturating: a scan holds far fewer).
    pub(crate) fn from_index(index: usize) -> Self {
        FileId(u32::try_from(index).unwrap_or(u32::MAX))
    }

    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

/// A byte range in a file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Loc {
    pub(crate) file: FileId,
    pub(crate) span: Range<usize>,
}

impl Loc {
    pub(crate) fn new(file: FileId, span: Range<usize>) -> Self {
        Self { file, span }
    }
}

/// Line starts of a text, for byte offset → (line, column) conversion.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// 1-based line and 1-based column (in characters) of byte `offset`.
    pub(crate) fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let col = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_counts_characters() {
        let text = "ab\ncé d\r\nx";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 0), (1, 1));
        assert_eq!(idx.line_col(text, 3), (2, 1));
        assert_eq!(idx.line_col(text, 7), (2, 4));
    }
}
