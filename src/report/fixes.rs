//! What `promready fix` did (or, with `--diff`, would do).

use std::fmt::Write as _;

use similar::TextDiff;

use crate::fix::FixReport;

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

/// One line per changed file, what was held back or could not be fixed,
/// and a summary.
pub(crate) fn render(report: &FixReport) -> String {
    let mut out = String::new();
    let verb = if report.dry_run { "would fix" } else { "fixed" };
    let mut files = 0;
    for c in &report.changed {
        match &c.error {
            Some(e) => {
                let _ = writeln!(out, "error: {}: {e}", c.path);
            }
            None => {
                files += 1;
                let _ = writeln!(out, "{verb} {} ({})", c.path, c.codes.join(", "));
            }
        }
        if let Some(note) = &c.note {
            let _ = writeln!(out, "  note: {note}");
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
    let remaining: usize = report.after.iter().map(|t| t.findings.len()).sum();
    let mut parts = vec![format!(
        "{verb} {} in {}",
        plural(report.fixed, "finding"),
        plural(files, "file")
    )];
    if !report.held_back.is_empty() {
        parts.push(format!(
            "{} held back (unsafe: use --unsafe-fixes)",
            report.held_back.len()
        ));
    }
    if !report.failed.is_empty() {
        parts.push(format!("{} not fixable automatically", report.failed.len()));
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
    out
}
