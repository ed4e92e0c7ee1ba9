//! GitHub Actions workflow commands: one annotation per finding
//! (`::error file=…,line=…::message`), paths relative to the working
//! directory so GitHub can place them on the file.

use std::fmt::Write as _;

use super::{Position, Run, all_findings, notes};
use crate::escape::{Shown, escape};
use crate::finding::Severity;

/// Escapes a workflow command's message: GitHub's own escapes for `%`,
/// CR and LF (so the annotation keeps its line breaks and no line of the
/// log starts with text from an input), and every other control character
/// as promready's text reports show it (`\x1b`, see [`escape`]).
fn data(s: &str) -> String {
    let s = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    escape(&s, Shown::Inline).into_owned()
}

/// Escapes a workflow command's property value.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

pub(crate) fn render(run: &Run<'_>) -> String {
    let mut out = String::new();
    for (t, f) in all_findings(run.targets).filter(|(_, f)| f.suppressed.is_none()) {
        let p = Position::of(&t.files, &f.primary.loc);
        let (file, lines) = super::repo_path(t, &p.path);
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let _ = write!(out, "::{level} file={}", property(&file));
        if lines {
            let _ = write!(
                out,
                ",line={},endLine={},col={},endColumn={}",
                p.line, p.end_line, p.column, p.end_column
            );
        }
        let title = format!("{} {}", f.code, f.name);
        let mut message = format!("{}\n{}", f.message, f.help);
        if !lines {
            message = format!("{}:{}: {message}", p.path, p.line);
        }
        let _ = writeln!(out, ",title={}::{}", property(&title), data(&message));
    }
    // Notes are warnings: CI shows them without failing on them. Skipped
    // files (with --verbose) are notices.
    for t in run.targets {
        for (n, skipped) in notes(t, run.verbose) {
            let (file, lines) = super::repo_path(t, &n.path);
            let position = n.position();
            let (level, title) = if skipped {
                ("notice", "promready: skipped")
            } else {
                ("warning", "promready note")
            };
            let _ = write!(out, "::{level} file={}", property(&file));
            let mut message = n.message.clone();
            match position {
                Some((line, col)) if lines => {
                    let _ = write!(out, ",line={line}");
                    if let Some(col) = col {
                        let _ = write!(out, ",col={col}");
                    }
                }
                Some((line, _)) => message = format!("{}:{line}: {message}", n.path),
                None if !lines => message = format!("{}: {message}", n.path),
                None => {}
            }
            let _ = writeln!(out, ",title={}::{}", property(title), data(&message));
        }
    }
    for e in run.errors {
        let (text, help) = super::error_text(e);
        let message = match help {
            Some(h) => format!("{text}\n{h}"),
            None => text,
        };
        let _ = writeln!(
            out,
            "::error title={}::{}",
            property("promready: input not scanned"),
            data(&message)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
        assert_eq!(data("a\u{1b}[2J\u{7}b\tc"), "a\\x1b[2J\\x07b\tc");
        assert_eq!(property("x\nb::c"), "x%0Ab%3A%3Ac");
    }
}
