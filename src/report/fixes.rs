//! What `promready fix` did (or, with `--diff`, would do).

use std::fmt::Write as _;

use similar::TextDiff;

use crate::escape::{Shown, escape};
use crate::fix::{FixReport, Interruption};

/// Text from an input, escaped to stay on its line.
fn inline(s: &str) -> std::borrow::Cow<'_, str> {
    escape(s, Shown::Inline)
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The unified diff of every changed file, paths as in reports.
pub(crate) fn diff(report: &FixReport) -> String {
    let mut out = String::new();
    for c in &report.changed {
        // Control characters are shown escaped, as in every text report
        // (line breaks, CRLF ones included, stay line breaks).
        let (before, after) = (
            escape(&c.before, Shown::Snippet),
            escape(&c.after, Shown::Snippet),
        );
        let d = TextDiff::from_lines(before.as_ref(), after.as_ref());
        let path = inline(&c.path);
        let _ = write!(
            out,
            "{}",
            d.unified_diff()
                .context_radius(3)
                .header(&format!("a/{path}"), &format!("b/{path}"))
        );
        if !c.before.is_empty() && !c.after.ends_with('\n') && !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// What `fix` writes: one line per changed file, then every finding it
/// leaves (held back, not fixed, no automatic fix) with its line in the
/// file as it is after the run, and a summary; and, apart, the errors
/// (files that could not be written), for standard error.
pub(crate) struct Rendered {
    pub(crate) out: String,
    pub(crate) errors: String,
}

/// One line for each finding the fix left with a reason: held back, not
/// fixed, or not tried before the round limit.
fn named_lines(report: &FixReport, out: &mut String) {
    for (n, why) in &report.held_back {
        let why = why
            .as_deref()
            .unwrap_or("the fix is unsafe; apply it with --unsafe-fixes");
        let _ = writeln!(
            *out,
            "held back: {} {} at {}:{}: {}",
            n.code,
            n.name,
            inline(&n.path),
            n.line,
            inline(why)
        );
    }
    for (n, reason) in &report.failed {
        let _ = writeln!(
            *out,
            "not fixed: {} {} at {}:{}: {}",
            n.code,
            n.name,
            inline(&n.path),
            n.line,
            inline(reason)
        );
    }
    for n in &report.at_limit {
        let _ = writeln!(
            *out,
            "not fixed yet: {} {} at {}:{}: fixing stopped at the limit of {} rounds before its turn",
            n.code,
            n.name,
            inline(&n.path),
            n.line,
            crate::fix::MAX_ROUNDS
        );
    }
}

/// One line per changed file (and its note), the errors of files that
/// could not be written, and how many files were changed.
fn changed(report: &FixReport, verb: &str) -> (String, String, usize) {
    let mut out = String::new();
    let mut errors = String::new();
    let mut files = 0;
    for c in &report.changed {
        match &c.error {
            Some(e) => {
                let _ = writeln!(errors, "error: {}: {}", inline(&c.path), inline(e));
            }
            None => {
                files += 1;
                let _ = writeln!(out, "{verb} {} ({})", inline(&c.path), c.codes.join(", "));
                if let Some(note) = &c.note {
                    let _ = writeln!(out, "  note: {}", inline(note));
                }
            }
        }
    }
    (out, errors, files)
}

pub(crate) fn render(report: &FixReport) -> Rendered {
    let verb = if report.dry_run { "would fix" } else { "fixed" };
    let (mut out, errors, files) = changed(report, verb);
    named_lines(report, &mut out);
    // What is left that the lines above do not name (findings without an
    // automatic fix): one line each, so that a build log shows them all.
    let named: std::collections::HashSet<(&str, &str, usize)> = report
        .held_back
        .iter()
        .map(|(n, _)| n)
        .chain(report.failed.iter().map(|(n, _)| n))
        .chain(&report.at_limit)
        .map(|n| (n.code.as_str(), n.path.as_str(), n.line))
        .collect();
    // Findings left, by severity (errors first).
    let mut left = [0usize; 3];
    for t in &report.after {
        for f in t.findings.iter().filter(|f| f.suppressed.is_none()) {
            let p = super::Position::of(&t.files, &f.primary.loc);
            let level = f.severity.as_str();
            left[match f.severity {
                crate::finding::Severity::Error => 0,
                crate::finding::Severity::Warning => 1,
                crate::finding::Severity::Note => 2,
            }] += 1;
            if !named.contains(&(f.code.as_str(), p.path.as_str(), p.line)) {
                let _ = writeln!(
                    out,
                    "remains: {} {} ({level}) at {}:{}: {}",
                    f.code,
                    f.name,
                    inline(&p.path),
                    p.line,
                    inline(&f.message)
                );
            }
        }
    }
    let remaining: usize = left.iter().sum();
    let mut parts = vec![format!(
        "{verb} {} in {}",
        plural(report.fixed, "finding"),
        plural(files, "file")
    )];
    if !report.held_back.is_empty() {
        parts.push(format!("{} held back", report.held_back.len()));
    }
    let unfixed = report.failed.len() + report.no_fix.len();
    if unfixed > 0 {
        parts.push(format!("{unfixed} not fixable automatically"));
    }
    if !report.at_limit.is_empty() {
        parts.push(format!(
            "stopped at the limit of {} rounds with {} left to try (run `promready fix` again to go on)",
            crate::fix::MAX_ROUNDS,
            report.at_limit.len()
        ));
    }
    let tail = if remaining == 0 {
        "no findings remain".to_owned()
    } else {
        let by_level: Vec<String> = left
            .iter()
            .zip(["error", "warning", "note"])
            .filter(|(n, _)| **n > 0)
            .map(|(n, w)| plural(*n, w))
            .collect();
        format!(
            "{} remain{} ({})",
            plural(remaining, "finding"),
            if remaining == 1 { "s" } else { "" },
            by_level.join(", ")
        )
    };
    parts.push(tail);
    let _ = writeln!(out, "promready: {}", parts.join("; "));
    Rendered { out, errors }
}

/// What `fix` says on standard error when a signal stopped it while
/// writing: nothing changed, or which files were written and which not.
pub(crate) fn interrupted(i: &Interruption) -> String {
    if i.written.is_empty() {
        return "interrupted: nothing was changed\n".to_owned();
    }
    let total = i.written.len() + i.not_written.len();
    let mut out = format!(
        "interrupted: {} of {} written; each file is either written in full or left as it was\n",
        i.written.len(),
        plural(total, "file"),
    );
    for p in &i.written {
        let _ = writeln!(out, "  written: {}", inline(p));
    }
    for p in &i.not_written {
        let _ = writeln!(out, "  not written: {}", inline(p));
    }
    out
}
