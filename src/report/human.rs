//! Human output: one miette report per finding, notices, a summary line.

use std::fmt::Write as _;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource,
    Severity as MSeverity,
};

use super::{Run, counts, notes, shown_path};
use crate::escape::{Shown as At, escape, escape_mapped};
use crate::finding::Severity;
use crate::finding::{Finding, Label};
use crate::source::FileDb;
use crate::span::FileId;
use crate::target::Target;

/// Text from an input, escaped to stay on its line.
fn inline(s: &str) -> String {
    escape(s, At::Inline).into_owned()
}

/// Where the bytes of a file moved to in its escaped snippet: pairs of
/// offsets just past each escaped character (old, new).
type Moves = Vec<(usize, usize)>;

fn moved(moves: &Moves, old: usize) -> usize {
    match moves.partition_point(|&(o, _)| o <= old) {
        0 => old,
        i => {
            let (o, n) = moves[i - 1];
            n + (old - o)
        }
    }
}

/// How to draw reports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub(crate) color: bool,
    pub(crate) width: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct Report {
    message: String,
    severity: MSeverity,
    help: Option<String>,
    /// `None` when the line is too long to draw (the location is then in
    /// the message).
    src: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl Diagnostic for Report {
    fn severity(&self) -> Option<MSeverity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.src.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|r| r as &dyn Diagnostic)))
    }
}

/// How a file's path is shown (prefixed with its input when there are several).
type Shown<'a> = &'a dyn Fn(&str) -> String;

/// A file as a snippet source: its name and its text escaped (see
/// [`escape`]), and where its bytes moved.
fn source(files: &FileDb, id: FileId, shown: Shown<'_>) -> (NamedSource<String>, Moves) {
    let f = files.get(id);
    let name = match &f.via {
        Some(via) => format!("{} (via {})", inline(&shown(&f.path)), inline(&shown(via))),
        None => inline(&shown(&f.path)),
    };
    let mut moves = Moves::new();
    let text = escape_mapped(&f.text, At::Snippet, |o, n| moves.push((o, n))).into_owned();
    (NamedSource::new(name, text), moves)
}

fn labeled(l: &Label, primary: bool, moves: &Moves) -> LabeledSpan {
    let start = moved(moves, l.loc.span.start);
    let span = (start, moved(moves, l.loc.span.end) - start);
    let text = Some(inline(&l.text));
    if primary {
        LabeledSpan::new_primary_with_span(text, span)
    } else {
        LabeledSpan::new_with_span(text, span)
    }
}

/// Columns past which a line is not drawn (the renderer cannot).
const MAX_DRAWN_COLUMN: usize = 4096;

fn too_wide(files: &FileDb, l: &Label) -> bool {
    let file = files.get(l.loc.file);
    file.line_col(l.loc.span.start).1 > MAX_DRAWN_COLUMN
        || file.line_col(l.loc.span.end).1 > MAX_DRAWN_COLUMN
}

fn report(files: &FileDb, f: &Finding, shown: Shown<'_>) -> Report {
    let file = f.primary.loc.file;
    if std::iter::once(&f.primary)
        .chain(&f.secondary)
        .any(|l| too_wide(files, l))
    {
        let src = files.get(file);
        let (line, col) = src.line_col(f.primary.loc.span.start);
        return Report {
            message: format!(
                "{} {}: {} (at {}:{line}:{col})",
                f.code,
                f.name,
                inline(&f.message),
                inline(&shown(&src.path))
            ),
            severity: match f.severity {
                Severity::Error => MSeverity::Error,
                Severity::Warning => MSeverity::Warning,
                Severity::Note => MSeverity::Advice,
            },
            help: Some(inline(&f.help)),
            src: None,
            labels: Vec::new(),
            related: Vec::new(),
        };
    }
    let (src, moves) = source(files, file, shown);
    let mut labels = vec![labeled(&f.primary, true, &moves)];
    let mut others: Vec<(FileId, Vec<&Label>)> = Vec::new();
    for l in &f.secondary {
        if l.loc.file == file {
            labels.push(labeled(l, false, &moves));
        } else if let Some((_, v)) = others.iter_mut().find(|(id, _)| *id == l.loc.file) {
            v.push(l);
        } else {
            others.push((l.loc.file, vec![l]));
        }
    }
    let mut help = inline(&f.help);
    for n in &f.notes {
        let _ = write!(help, "\nnote: {}", inline(n));
    }
    Report {
        message: format!("{} {}: {}", f.code, f.name, inline(&f.message)),
        severity: match f.severity {
            Severity::Error => MSeverity::Error,
            Severity::Warning => MSeverity::Warning,
            Severity::Note => MSeverity::Advice,
        },
        help: Some(help),
        src: Some(src),
        labels,
        related: others
            .into_iter()
            .map(|(id, ls)| {
                let (src, moves) = source(files, id, shown);
                Report {
                    message: format!("{}: where this comes from", f.code),
                    severity: MSeverity::Advice,
                    help: None,
                    src: Some(src),
                    labels: ls.into_iter().map(|l| labeled(l, false, &moves)).collect(),
                    related: Vec::new(),
                }
            })
            .collect(),
    }
}

/// Renders every finding, the notices and the summary line.
pub(crate) fn render(run: &Run<'_>, style: Style) -> String {
    let targets = run.targets;
    let several = targets.len() > 1;
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
        .with_context_lines(1);
    let mut out = String::new();
    for t in targets {
        let shown = |p: &str| shown_path(t, p, several);
        for f in t.findings.iter().filter(|f| f.suppressed.is_none()) {
            let _ = handler.render_report(&mut out, &report(&t.files, f, &shown));
            out.push('\n');
        }
    }
    let mut noted = false;
    for t in targets {
        for (n, _) in notes(t, run.verbose) {
            let _ = writeln!(
                out,
                "note: {}: {}",
                inline(&shown_path(t, &n.path, several)),
                inline(&n.message)
            );
            noted = true;
        }
    }
    if noted {
        out.push('\n');
    }
    out.push_str(&summary(run));
    out.push('\n');
    out
}

/// `promready: 2 errors, 1 warning in 1 file (kubelet 1.10.13 from var/lib/dpkg/status)`
pub(crate) fn summary(run: &Run<'_>) -> String {
    let targets = run.targets;
    let c = counts(targets);
    let mut s = String::from("promready: ");
    if c.errors + c.warnings + c.notes == 0 {
        s.push_str("no problems found");
    } else {
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        let mut parts = Vec::new();
        if c.errors > 0 {
            parts.push(plural(c.errors, "error"));
        }
        if c.warnings > 0 {
            parts.push(plural(c.warnings, "warning"));
        }
        if c.notes > 0 {
            parts.push(plural(c.notes, "note"));
        }
        let _ = write!(s, "{} in {}", parts.join(", "), plural(c.files, "file"));
    }
    if c.suppressed > 0 {
        let _ = write!(s, "; {} suppressed", c.suppressed);
    }
    match run.errors.len() {
        0 => {}
        1 => s.push_str("; 1 input could not be scanned"),
        n => {
            let _ = write!(s, "; {n} inputs could not be scanned");
        }
    }
    let context: Vec<String> = targets.iter().map(describe_target).collect();
    if !context.is_empty() {
        let _ = write!(s, " ({})", context.join("; "));
    }
    s
}

fn describe_target(t: &Target) -> String {
    let mut names: Vec<&str> = t.invocations.iter().map(|i| i.component.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let who = if names.is_empty() {
        "no Kubernetes component found".to_owned()
    } else {
        names.join(", ")
    };
    let version = match &t.version {
        Some(v) => format!("Kubernetes {} per {}", v.version, inline(&v.source)),
        None if t.invocations.iter().any(|i| i.version.is_some()) => {
            // Files that declare different versions are each judged with
            // their own (a note lists them).
            let by_file: std::collections::BTreeSet<_> = t
                .invocations
                .iter()
                .filter_map(|i| i.version.as_ref().map(|v| v.version))
                .collect();
            let listed: Vec<String> = by_file.iter().map(ToString::to_string).collect();
            let rest = if t.invocations.iter().any(|i| i.version.is_none()) {
                ", unknown for the rest"
            } else {
                ""
            };
            format!("Kubernetes {} by file{rest}", listed.join(", "))
        }
        None => {
            let bounded: Vec<String> = t
                .invocations
                .iter()
                .filter(|i| {
                    i.version.is_none() && (i.window.newest().is_some() || i.window.is_empty())
                })
                .map(|i| {
                    if i.window.is_empty() {
                        format!("the flags of {} fit no single version", i.component)
                    } else {
                        format!("{} {}", i.component, i.window.describe())
                    }
                })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if bounded.is_empty() {
                "Kubernetes version unknown".to_owned()
            } else {
                format!(
                    "Kubernetes version not detected, bounded by flags: {}",
                    bounded.join(", ")
                )
            }
        }
    };
    format!("{}: {who}; {version}", crate::escape::path(&t.input))
}
