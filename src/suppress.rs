//! Inline suppressions: `# promready: ignore[PR003] reason` on the line of
//! a finding or the line before it (in YAML, unit and environment files
//! alike). A suppression without a reason, or one that matches nothing, is
//! reported itself.

use std::ops::Range;

use crate::source::FileDb;
use crate::span::FileId;

/// One suppression comment.
#[derive(Debug, Clone)]
pub(crate) struct Comment {
    pub(crate) file: FileId,
    /// 1-based line of the comment.
    pub(crate) line: usize,
    pub(crate) span: Range<usize>,
    /// Rule codes or names, as written.
    pub(crate) rules: Vec<String>,
    pub(crate) reason: String,
}

const MARK: &str = "promready:";

/// Every suppression comment in the files read.
pub(crate) fn comments(db: &FileDb) -> Vec<Comment> {
    let mut out = Vec::new();
    for id in db.ids() {
        let text = &db.get(id).text;
        if !text.contains(MARK) {
            continue;
        }
        let mut offset = 0;
        for (i, line) in text.split_inclusive('\n').enumerate() {
            if let Some(c) = parse(line) {
                out.push(Comment {
                    file: id,
                    line: i + 1,
                    span: offset + c.0.start..offset + c.0.end,
                    rules: c.1,
                    reason: c.2,
                });
            }
            offset += line.len();
        }
    }
    out
}

/// The span of the comment, the rules and the reason.
fn parse(line: &str) -> Option<(Range<usize>, Vec<String>, String)> {
    let hash = line.find('#')?;
    let after = &line[hash + 1..];
    let rest = after
        .trim_start()
        .strip_prefix(MARK)?
        .trim_start()
        .strip_prefix("ignore[")?;
    let close = rest.find(']')?;
    let rules: Vec<String> = rest[..close]
        .split(',')
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect();
    let reason = rest[close + 1..].trim().to_owned();
    let end = line.trim_end().len();
    Some((hash..end, rules, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_found_anywhere_on_a_line() {
        let (span, rules, reason) = parse("    - --bind-address=127.0.0.1 # promready: ignore[PR003, etcd-metrics-on-loopback] scraped via proxy\n").unwrap();
        assert_eq!(rules, ["PR003", "etcd-metrics-on-loopback"]);
        assert_eq!(reason, "scraped via proxy");
        assert_eq!(span.start, 31);
        assert_eq!(parse("# promready:ignore[PR010]").unwrap().2, "");
        assert!(parse("# promready: check[PR010]").is_none());
        assert!(parse("promready: ignore[PR010]").is_none());
    }
}
