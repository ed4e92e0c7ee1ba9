//! Renderers. They read findings and nothing else, and return text; the
//! CLI decides where it goes.

pub(crate) mod concise;
pub(crate) mod fixes;
pub(crate) mod github;
pub(crate) mod human;
pub(crate) mod json;
pub(crate) mod rules;
pub(crate) mod sarif;

use crate::finding::Finding;
use crate::finding::Severity;
use crate::source::{FileDb, InputError, Notice};
use crate::span::Loc;
use crate::target::Target;

/// What a scan produced, as the renderers see it.
pub(crate) struct Run<'a> {
    pub(crate) targets: &'a [Target],
    /// The inputs that could not be scanned.
    pub(crate) errors: &'a [InputError],
    /// Also show skipped files in the human, concise and GitHub output.
    pub(crate) verbose: bool,
}

/// How an input error reads in one line, and its advice.
pub(crate) fn error_text(e: &InputError) -> (String, Option<String>) {
    use miette::Diagnostic as _;
    (e.to_string(), e.help().map(|h| h.to_string()))
}

/// The notes of a target that a report shows: its notices, and with
/// `verbose` the files it skipped. The flag says whether the note is a
/// skipped file (level `note` in SARIF) rather than a notice (`warning`).
pub(crate) fn notes(t: &Target, verbose: bool) -> impl Iterator<Item = (&Notice, bool)> {
    t.notices
        .iter()
        .map(|n| (n, false))
        .chain(t.skipped.iter().filter(move |_| verbose).map(|n| (n, true)))
}

/// A path of a target as human output shows it: as is for a single input;
/// with several inputs, prefixed with its input (`rg` and ruff name the
/// root a path was found under), and an archive's entries as
/// `ARCHIVE:path`.
pub(crate) fn shown_path(t: &Target, path: &str, several: bool) -> String {
    use crate::target::InputKind;
    if !several {
        return path.to_owned();
    }
    match t.kind {
        InputKind::Rootfs | InputKind::Directory => t.input.join(path).display().to_string(),
        InputKind::Archive => format!("{}:{path}", t.input.display()),
        InputKind::Files => path.to_owned(),
    }
}

/// A location as reports show it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Position {
    pub(crate) path: String,
    /// The path the file was reached through, when a symlink was followed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) via: Option<String>,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) end_line: usize,
    pub(crate) end_column: usize,
    /// Byte offsets `[start, end)` in the file.
    pub(crate) byte_range: [usize; 2],
}

impl Position {
    pub(crate) fn of(files: &FileDb, loc: &Loc) -> Position {
        let f = files.get(loc.file);
        let (line, column) = f.line_col(loc.span.start);
        let (end_line, end_column) = f.line_col(loc.span.end);
        Position {
            path: f.path.clone(),
            via: f.via.clone(),
            line,
            column,
            end_line,
            end_column,
            byte_range: [loc.span.start, loc.span.end],
        }
    }
}

/// Counts for the summary line.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub(crate) struct Counts {
    pub(crate) errors: usize,
    pub(crate) warnings: usize,
    pub(crate) notes: usize,
    pub(crate) files: usize,
    /// Findings an inline comment suppresses (not in the counts above).
    pub(crate) suppressed: usize,
}

pub(crate) fn counts(targets: &[Target]) -> Counts {
    let mut c = Counts::default();
    for t in targets {
        let live = || t.findings.iter().filter(|f| f.suppressed.is_none());
        c.suppressed += t.findings.len() - live().count();
        let mut files: Vec<_> = live().map(|f| f.primary.loc.file).collect();
        files.sort();
        files.dedup();
        c.files += files.len();
        for f in live() {
            match f.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Note => c.notes += 1,
            }
        }
    }
    c
}

/// A file of a target as a path from the working directory (where code
/// scanning and annotations look for it), and whether line numbers apply
/// to that file (not for an archive, whose lines are inside an entry).
pub(crate) fn repo_path(t: &Target, in_target: &str) -> (String, bool) {
    use crate::target::InputKind;
    match t.kind {
        InputKind::Rootfs | InputKind::Directory => {
            (t.input.join(in_target).display().to_string(), true)
        }
        InputKind::Files => (in_target.to_owned(), true),
        InputKind::Archive => (t.input.display().to_string(), false),
    }
}

pub(crate) fn all_findings(targets: &[Target]) -> impl Iterator<Item = (&Target, &Finding)> {
    targets
        .iter()
        .flat_map(|t| t.findings.iter().map(move |f| (t, f)))
}
