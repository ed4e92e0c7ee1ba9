//! What `promready fix` did (or, with `--diff`, would do).

use std::fmt::Write as _;

use similar::TextDiff;

use crate::fix::{FixReport, Interruption};

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The unified diff of every changed file, paths as in reports.
pub(crate) fn diff(report: &FixReport) -> String {
    let mut out = String::new();
    for c in &report.changed {
        let d = TextDiff::from_lines(&c.before, &c.after);
        let _ = write!(
            out,
            "{}",
            d.unified_diff()
                .context_radius(3)
                .header(&format!("a/{}", c.path), &format!("b/{}", c.path))
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

pub(crate) fn render(report: &FixReport) -> Rendered {
    let mut out = String::new();
    let mut errors = String::new();
    let verb = if report.dry_run { "would fix" } else { "fixed" };
    let mut files = 0;
    for c in &report.changed {
        match &c.error {
            Some(e) => {
                let _ = writeln!(errors, "error: {}: {e}", c.path);
            }
            None => {
                files += 1;
                let _ = writeln!(out, "{verb} {} ({})", c.path, c.codes.join(", "));
                if let Some(note) = &c.note {
                    let _ = writeln!(out, "  note: {note}");
                }
            }
        }
    }
    for (n, why) in &report.held_back {
        let why = why
            .as_deref()
            .unwrap_or("the fix is unsafe; apply it with --unsafe-fixes");
        let _ = writeln!(
            out,
            "held back: {} {} at {}:{}: {why}",
            n.code, n.name, n.path, n.line
        );
    }
    for (n, reason) in &report.failed {
        let _ = writeln!(
            out,
            "not fixed: {} {} at {}:{}: {reason}",
            n.code, n.name, n.path, n.line
        );
    }
    for n in &report.no_fix {
        let _ = writeln!(
            out,
            "left: {} {} at {}:{}: the rule has no automatic fix (`promready explain {}`)",
            n.code, n.name, n.path, n.line, n.code
        );
    }
    let remaining: usize = report
        .after
        .iter()
        .map(|t| t.findings.iter().filter(|f| f.suppressed.is_none()).count())
        .sum();
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
    let tail = if remaining == 0 {
        "no findings remain".to_owned()
    } else {
        format!(
            "{} remain{}",
            plural(remaining, "finding"),
            if remaining == 1 { "s" } else { "" }
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
        let _ = writeln!(out, "  written: {p}");
    }
    for p in &i.not_written {
        let _ = writeln!(out, "  not written: {p}");
    }
    out
}
