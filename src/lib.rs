//! promready: make Kubernetes node images ready to be scraped by Prometheus
//! before they ship.
//!
//! The pipeline is `source → discover → model → rules → report`; see the
//! README for the user-facing interface. [`run`] is the whole CLI, callable
//! in-process by tests.

mod archive;
mod cli;
mod config;
mod data;
mod discover;
mod finding;
mod fix;
/// In-process entry points for the fuzz targets in `ci/fuzz/` (not an interface).
#[doc(hidden)]
pub mod fuzzing;
mod interrupt;
mod model;
mod parse;
mod report;
mod rules;
mod scan;
mod source;
mod suppress;
mod text;

use std::fmt::Write as _;
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
    /// No colour, 100 columns: what tests get (and pipes, without `COLUMNS`).
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
    #[error("-o/--output takes exactly one archive to fix; nothing was written")]
    #[diagnostic(help(
        "-o writes a fixed copy of one .tar, .tar.gz or .tar.zst; a directory or configuration files are fixed in place (use --diff to preview)"
    ))]
    OutputNeedsOneArchive,
}

/// Everything a scan or a fix needs, from the command line and the
/// configuration file.
struct Prepared {
    components: std::collections::BTreeMap<String, model::ComponentSpec>,
    rules: Vec<rules::Rule>,
    options: scan::Options,
    settings: config::Settings,
}

/// Reads the configuration, merges the command line over it, loads and
/// selects the rules.
fn prepare(common: &cli::Common) -> Result<Prepared, Diag> {
    let mut settings =
        config::load(common.config.as_deref(), &common.paths).map_err(|e| e as Diag)?;
    // `--select "PR001, PR002"`: the words around the commas.
    let words = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    };
    if !common.select.is_empty() {
        settings.select = words(&common.select);
    }
    settings.ignore.extend(words(&common.ignore));
    settings.rules.extend(common.rules.iter().cloned());
    if common.kubernetes_version.is_some() {
        settings.kubernetes_version = common.kubernetes_version;
    }
    let (components, mut all) = load_rules(&settings.rules)?;
    let named = settings
        .select
        .iter()
        .chain(&settings.ignore)
        .chain(settings.severity.keys())
        .chain(settings.per_path_ignores.iter().flat_map(|(_, r)| r));
    for r in named {
        if rules::find(&all, r).is_none() {
            return Err(Box::new(CliError::UnknownRule(r.clone())));
        }
    }
    let wanted = |r: &rules::Rule| {
        let by = |list: &[String]| {
            list.iter()
                .any(|x| x.eq_ignore_ascii_case(&r.code) || *x == r.name)
        };
        (settings.select.is_empty() || by(&settings.select)) && !by(&settings.ignore)
    };
    all.retain(|r| wanted(r));
    for r in &mut all {
        let over = settings
            .severity
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&r.code) || **k == r.name);
        if let Some((_, sev)) = over {
            r.severity = *sev;
        }
    }
    let options = scan::Options {
        kubernetes_version: settings.kubernetes_version,
        overlay: std::sync::Arc::default(),
        per_path_ignores: settings.per_path_ignores.clone(),
        config_dir: settings.base.clone(),
        archives: std::sync::Arc::default(),
    };
    Ok(Prepared {
        components,
        rules: all,
        options,
        settings,
    })
}

fn execute(cli: Cli, term: Terminal) -> Result<Outcome, Diag> {
    match cli.command {
        Command::Scan {
            common,
            format,
            output,
            sarif_file,
            fail_on,
        } => scan_command(
            &common,
            &ScanOutput {
                format,
                output,
                sarif_file,
                fail_on,
            },
            term,
        ),
        Command::Fix {
            common,
            diff,
            output,
            unsafe_fixes,
            bind_address,
        } => fix_command(&common, diff, output, unsafe_fixes, bind_address),
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
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "promready",
                &mut out,
            );
            Ok(Outcome {
                stdout: String::from_utf8_lossy(&out).into_owned(),
                ..Outcome::default()
            })
        }
        Command::Man { dir } => man(dir.as_deref()),
    }
}

/// The manual: one complete page, or one page per command in `dir`.
fn man(dir: Option<&std::path::Path>) -> Result<Outcome, Diag> {
    let mut cmd = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    cmd.build();
    let failed = |path: std::path::PathBuf| {
        move |source| {
            Box::new(CliError::Write {
                path: path.clone(),
                source,
            }) as Diag
        }
    };
    if let Some(dir) = dir {
        clap_mangen::generate_to(cmd, dir).map_err(failed(dir.to_path_buf()))?;
        return Ok(Outcome::default());
    }
    let mut out = Vec::new();
    let page = clap_mangen::Man::new(cmd.clone());
    let stdout = std::path::PathBuf::from("<stdout>");
    let mut sections = || -> std::io::Result<()> {
        page.render_title(&mut out)?;
        page.render_name_section(&mut out)?;
        page.render_synopsis_section(&mut out)?;
        page.render_description_section(&mut out)?;
        page.render_options_section(&mut out)?;
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            // Each command's synopsis, description and options, as
            // subsections of a section of its own.
            let mut part = Vec::new();
            let sub_page = clap_mangen::Man::new(sub.clone());
            sub_page.render_synopsis_section(&mut part)?;
            sub_page.render_description_section(&mut part)?;
            if sub.get_arguments().any(|a| !a.is_hide_set()) {
                sub_page.render_options_section(&mut part)?;
            }
            let name = sub.get_bin_name().unwrap_or_else(|| sub.get_name());
            writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
            out.extend(
                String::from_utf8_lossy(&part)
                    .replace("\n.SH ", "\n.SS ")
                    .replacen(".SH ", ".SS ", 1)
                    .bytes(),
            );
        }
        page.render_version_section(&mut out)?;
        Ok(())
    };
    sections().map_err(failed(stdout))?;
    Ok(Outcome {
        stdout: String::from_utf8_lossy(&out).into_owned(),
        ..Outcome::default()
    })
}

/// The paths of the command line, each once (a path named twice, or two
/// names of one file, are scanned once), in their first order.
fn unique_paths(paths: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
    let mut seen = std::collections::HashSet::new();
    paths
        .iter()
        .filter(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| (*p).clone())))
        .cloned()
        .collect()
}

/// The exit status for findings that are not suppressed.
fn status_for(targets: &[scan::Target], fail_on: config::FailOn) -> u8 {
    let live = targets
        .iter()
        .flat_map(|t| &t.findings)
        .filter(|f| f.suppressed.is_none());
    let failing = match fail_on {
        config::FailOn::Never => false,
        config::FailOn::Warning => live.count() > 0,
        config::FailOn::Error => {
            live.filter(|f| f.severity == rules::Severity::Error)
                .count()
                > 0
        }
    };
    if failing { EXIT_FINDINGS } else { EXIT_CLEAN }
}

/// Where and how `scan` reports.
struct ScanOutput {
    format: Format,
    output: Option<std::path::PathBuf>,
    sarif_file: Option<std::path::PathBuf>,
    fail_on: Option<config::FailOn>,
}

fn scan_command(common: &cli::Common, out: &ScanOutput, term: Terminal) -> Result<Outcome, Diag> {
    let p = prepare(common)?;
    let paths = unique_paths(&common.paths);
    let scanned = scan::scan_inputs(&paths, &p.components, &p.rules, &p.options);
    let (targets, errors) = (&scanned.targets, &scanned.errors);
    let status = if errors.is_empty() {
        status_for(targets, out.fail_on.unwrap_or(p.settings.fail_on))
    } else {
        EXIT_ERROR
    };
    let run = report::Run {
        targets,
        errors,
        verbose: common.verbose,
    };
    let render = |format: Format| match format {
        Format::Human => report::human::render(
            &run,
            report::human::Style {
                color: term.color && out.output.is_none(),
                width: term.width,
            },
        ),
        Format::Concise => report::concise::render(&run),
        Format::Json => report::json::render(&run),
        Format::Sarif => report::sarif::render(&run, &p.rules, status),
        Format::Github => report::github::render(&run),
    };
    let write = |path: &std::path::Path, text: String| {
        std::fs::write(path, text).map_err(|source| {
            Box::new(CliError::Write {
                path: path.to_path_buf(),
                source,
            }) as Diag
        })
    };
    // Input errors go to standard error, as any error does; the report of
    // the other inputs follows as usual.
    let mut stderr: String = errors.iter().map(|e| render_error(e, term)).collect();
    if let Some(path) = &out.sarif_file {
        write(path, render(Format::Sarif))?;
    }
    // A run that scanned nothing has no human report: the errors say it all.
    let nothing = targets.is_empty() && matches!(out.format, Format::Human | Format::Concise);
    let text = if nothing {
        String::new()
    } else {
        render(out.format)
    };
    match &out.output {
        Some(path) => {
            write(path, text)?;
            let _ = writeln!(stderr, "{}", report::human::summary(&run));
            Ok(Outcome {
                stderr,
                status,
                ..Outcome::default()
            })
        }
        None => Ok(Outcome {
            stdout: text,
            stderr,
            status,
        }),
    }
}

fn fix_command(
    common: &cli::Common,
    diff: bool,
    output: Option<std::path::PathBuf>,
    unsafe_fixes: bool,
    bind_address: Option<String>,
) -> Result<Outcome, Diag> {
    let p = prepare(common)?;
    let paths = unique_paths(&common.paths);
    // -o leaves the input untouched and writes one archive: a directory or
    // configuration files are fixed in place or not at all.
    if output.is_some() {
        let one_archive = match paths.as_slice() {
            [p] => p.is_file() && archive::detect(p).is_ok_and(|c| c.is_some()),
            _ => false,
        };
        if !one_archive {
            return Err(Box::new(CliError::OutputNeedsOneArchive));
        }
    }
    let bind_address = match bind_address.or_else(|| p.settings.bind_address.clone()) {
        // Both sources are validated where they are read.
        Some(a) => a,
        None => "0.0.0.0".to_owned(),
    };
    let opts = fix::FixOptions {
        unsafe_fixes,
        bind_address,
        dry_run: diff,
        output,
    };
    let report = fix::run(&paths, &p.components, &p.rules, &p.options, &opts)
        .map_err(|e| Box::new(e) as Diag)?;
    if let Some(i) = &report.interrupted {
        return Ok(Outcome {
            stderr: report::fixes::interrupted(i),
            status: i.signal.status(),
            ..Outcome::default()
        });
    }
    let rendered = report::fixes::render(&report);
    let status = if report.changed.iter().any(|c| c.error.is_some()) {
        EXIT_ERROR
    } else if opts.dry_run {
        // As ruff's `--diff`: 1 when it would change something.
        u8::from(report.changed.iter().any(|c| c.error.is_none()))
    } else {
        status_for(&report.after, config::FailOn::Warning)
    };
    // With --diff the diff is the output and the account goes to standard
    // error; without it the account is the output. Errors go to standard
    // error either way.
    if opts.dry_run {
        Ok(Outcome {
            stdout: report::fixes::diff(&report),
            stderr: rendered.errors + &rendered.out,
            status,
        })
    } else {
        Ok(Outcome {
            stdout: rendered.out,
            stderr: rendered.errors,
            status,
        })
    }
}

/// The width to draw reports in: the terminal's, else `COLUMNS`, else 100.
fn terminal_width() -> usize {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size_of(std::io::stdout()) {
        return usize::from(w).max(40);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&w| w >= 40)
        .unwrap_or(100)
}

/// Entry point of the binary: runs with the process's arguments and
/// terminal, and writes the outcome.
#[must_use]
pub fn main() -> ExitCode {
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let quiet = std::env::args_os().any(|a| a == "--quiet" || a == "-q");
    archive::progress::enable(!quiet);
    interrupt::enable();
    let outcome = run(
        std::env::args_os(),
        Terminal {
            color,
            width: terminal_width(),
        },
    );
    // A closed pipe (`promready scan … | head`) is not an error.
    let _ = stdout.lock().write_all(outcome.stdout.as_bytes());
    let _ = std::io::stderr()
        .lock()
        .write_all(outcome.stderr.as_bytes());
    ExitCode::from(outcome.status)
}
