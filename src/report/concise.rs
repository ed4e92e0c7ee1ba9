//! Concise output: one line per finding, note and input error, then the
//! summary line, for logs that are read line by line (a Packer build, a
//! CI job). Paths are shown as in the human output.

use std::fmt::Write as _;

use super::{Position, Run, notes, shown_path};
use crate::escape::{Shown, escape};

pub(crate) fn render(run: &Run<'_>) -> String {
    let several = run.targets.len() > 1;
    let mut out = String::new();
    for t in run.targets {
        for f in t.findings.iter().filter(|f| f.suppressed.is_none()) {
            let p = Position::of(&t.files, &f.primary.loc);
            let level = f.severity.as_str();
            let _ = writeln!(
                out,
                "{}:{}:{}: {level}: {} {}: {}",
                escape(&shown_path(t, &p.path, several), Shown::LineStart),
                p.line,
                p.column,
                f.code,
                f.name,
                escape(&f.message, Shown::Inline)
            );
        }
    }
    for t in run.targets {
        for (n, _) in notes(t, run.verbose) {
            let path = shown_path(t, &n.path, several);
            let path = escape(&path, Shown::LineStart);
            let message = escape(&n.message, Shown::Inline);
            let _ = match n.position() {
                Some((line, _)) => writeln!(out, "{path}:{line}: note: {message}"),
                None => writeln!(out, "{path}: note: {message}"),
            };
        }
    }
    for e in run.errors {
        let _ = writeln!(
            out,
            "error: {}",
            escape(&super::error_text(e).0, Shown::Inline)
        );
    }
    out.push_str(&super::human::summary(run));
    out.push('\n');
    out
}
