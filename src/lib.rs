//! promready: make Kubernetes node images ready to be scraped by Prometheus
//! before they ship.
//!
//! The pipeline is `source → discover → model → rules → report`; see the
//! README for the user-facing interface. [`run`] is the whole CLI, callable
//! in-process by tests.

mod archive;
mod cli;
mod data;
mod discover;
mod finding;
mod fix;
mod model;
mod parse;
mod report;
mod rules;
mod scan;
mod source;
mod text;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

pub use cli::Cli;
use cli::{Command, Format, ListFormat};

/// Exit status: no findings.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status: findings were reported.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: usage or input error.
pub const EXIT_ERROR: u8 = 2;

/// What a run produced: the text for standard output, the text for
/// standard error, and the exit status.
#[derive(Debug, Default)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub status: u8,
}

/// Environment a run needs from its caller, so tests are deterministic.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    /// Draw reports in colour.
    pub color: bool,
    pub width: usize,
}

impl Terminal {
    /// No colour, 100 columns: what tests and pipes get.
    pub const PLAIN: Terminal = Terminal {
        color: false,
        width: 100,
    };
}

/// Runs the CLI with `args` (including the program name).
pub fn run<I, T>(args: I, term: Terminal) -> Outcome
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let text = e.render().to_string();
            return if e.use_stderr() {
                Outcome {
                    stderr: text,
                    status: EXIT_ERROR,
                    ..Outcome::default()
                }
            } else {
                Outcome {
                    stdout: text,
                    ..Outcome::default()
                }
            };
        }
    };
    match execute(cli, term) {
        Ok(o) => o,
        Err(diag) => Outcome {
            stderr: render_error(diag.as_ref(), term),
            status: EXIT_ERROR,
            ..Outcome::default()
        },
    }
}

type Diag = Box<dyn miette::Diagnostic + Send + Sync>;

fn render_error(diag: &dyn miette::Diagnostic, term: Terminal) -> String {
    let theme = if term.color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(term.width)
        .with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, diag).is_err() {
        out = format!("error: {diag}\n");
    }
    out
}

fn load_rules(
    extra: &[std::path::PathBuf],
) -> Result<
    (
        std::collections::BTreeMap<String, model::ComponentSpec>,
        Vec<rules::Rule>,
    ),
    Diag,
> {
    let components = model::load_components()
        .map_err(|(path, text, e)| Box::new(rules::RuleError::new(&path, &text, e)) as Diag)?;
    let dirs: Vec<&std::path::Path> = extra.iter().map(std::path::PathBuf::as_path).collect();
    let rules = rules::load(&components, &dirs)?;
    Ok((components, rules))
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
enum CliError {
    #[error("no rule is called `{0}`")]
    #[diagnostic(help("`promready rules` lists every rule code and name"))]
    UnknownRule(String),
    #[error("cannot write {path}: {source}")]
    #[diagnostic(help("check that the directory exists and is writable"))]
    Write {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn execute(cli: Cli, term: Terminal) -> Result<Outcome, Diag> {
    match cli.command {
        Command::Scan {
            paths,
            format,
            output,
            kubernetes_version,
            rules,
            quiet: _,
        } => scan_command(&paths, format, output, kubernetes_version, &rules, term),
        Command::Fix {
            paths,
            diff,
            output,
            unsafe_fixes,
            bind_address,
            kubernetes_version,
            rules,
            quiet: _,
        } => {
            let opts = fix::FixOptions {
                unsafe_fixes,
                bind_address,
                dry_run: diff,
                output,
            };
            fix_command(&paths, &opts, kubernetes_version, &rules)
        }
        Command::Rules { format, rules } => {
            let (_, rules) = load_rules(&rules)?;
            let stdout = match format {
                ListFormat::Human => report::rules::list(&rules),
                ListFormat::Json => report::rules::list_json(&rules),
            };
            Ok(Outcome {
                stdout,
                ..Outcome::default()
            })
        }
        Command::Explain { rule, rules } => {
            let (_, rules) = load_rules(&rules)?;
            let r = rules::find(&rules, &rule)
                .ok_or_else(|| Box::new(CliError::UnknownRule(rule.clone())) as Diag)?;
            Ok(Outcome {
                stdout: report::rules::explain(r),
                ..Outcome::default()
            })
        }
    }
}

fn scan_command(
    paths: &[std::path::PathBuf],
    format: Format,
    output: Option<std::path::PathBuf>,
    kubernetes_version: Option<model::Version>,
    extra_rules: &[std::path::PathBuf],
    term: Terminal,
) -> Result<Outcome, Diag> {
    let (components, rules) = load_rules(extra_rules)?;
    let opts = scan::Options {
        kubernetes_version,
        overlay: std::sync::Arc::default(),
        archives: std::sync::Arc::default(),
    };
    let targets =
        scan::scan_paths(paths, &components, &rules, &opts).map_err(|e| Box::new(e) as Diag)?;
    let text = match format {
        Format::Human => report::human::render(
            &targets,
            report::human::Style {
                color: term.color && output.is_none(),
                width: term.width,
            },
        ),
        Format::Json => report::json::render(&targets),
        Format::Sarif => report::sarif::render(&targets, &rules),
    };
    let found = targets.iter().any(|t| !t.findings.is_empty());
    let status = if found { EXIT_FINDINGS } else { EXIT_CLEAN };
    match output {
        Some(path) => {
            std::fs::write(&path, text)
                .map_err(|source| Box::new(CliError::Write { path, source }) as Diag)?;
            Ok(Outcome {
                stderr: format!("{}\n", report::human::summary(&targets)),
                status,
                ..Outcome::default()
            })
        }
        None => Ok(Outcome {
            stdout: text,
            status,
            ..Outcome::default()
        }),
    }
}

fn fix_command(
    paths: &[std::path::PathBuf],
    opts: &fix::FixOptions,
    kubernetes_version: Option<model::Version>,
    extra_rules: &[std::path::PathBuf],
) -> Result<Outcome, Diag> {
    let (components, rules) = load_rules(extra_rules)?;
    let base = scan::Options {
        kubernetes_version,
        overlay: std::sync::Arc::default(),
        archives: std::sync::Arc::default(),
    };
    let report =
        fix::run(paths, &components, &rules, &base, opts).map_err(|e| Box::new(e) as Diag)?;
    let summary = report::fixes::render(&report);
    let remaining = report.after.iter().any(|t| !t.findings.is_empty());
    let status = if report.changed.iter().any(|c| c.error.is_some()) {
        EXIT_ERROR
    } else if remaining {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    };
    // With --diff the diff is the output and the account goes to standard
    // error; without it the account is the output.
    if opts.dry_run {
        Ok(Outcome {
            stdout: report::fixes::diff(&report),
            stderr: summary,
            status,
        })
    } else {
        Ok(Outcome {
            stdout: summary,
            status,
            ..Outcome::default()
        })
    }
}

/// Entry point of the binary: runs with the process's arguments and
/// terminal, and writes the outcome.
#[must_use]
pub fn main() -> ExitCode {
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let quiet = std::env::args_os().any(|a| a == "--quiet" || a == "-q");
    archive::progress::enable(!quiet);
    let outcome = run(std::env::args_os(), Terminal { color, width: 100 });
    // A closed pipe (`promready scan … | head`) is not an error.
    let _ = stdout.lock().write_all(outcome.stdout.as_bytes());
    let _ = std::io::stderr()
        .lock()
        .write_all(outcome.stderr.as_bytes());
    ExitCode::from(outcome.status)
}
