//! The command line: its definition ([`args`]) and the commands' bodies,
//! each from parsed arguments to an [`Outcome`].

mod args;
mod fix;
mod man;
mod prepare;
mod scan;

pub(crate) use scan::status_for;

use std::collections::BTreeMap;

pub use args::Cli;
use args::{Command, ListFormat};
use clap::Parser;

use crate::model::{self, ComponentSpec};
use crate::source::RuleDir;
use crate::{report, rules};

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

type Diag = Box<dyn miette::Diagnostic + Send + Sync>;

/// An error as miette draws it, in the terminal's width and colours.
pub(crate) fn render_error(diag: &dyn miette::Diagnostic, term: Terminal) -> String {
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

/// Loads the components and the rules (built-in, and from `extra`).
pub(crate) fn load_rules(
    extra: &[RuleDir],
) -> Result<(BTreeMap<String, ComponentSpec>, Vec<rules::Rule>), Diag> {
    let components = model::load_components()
        .map_err(|(path, text, e)| Box::new(rules::RuleError::new(&path, &text, e)) as Diag)?;
    let rules = rules::load(&components, extra)?;
    Ok((components, rules))
}

/// Rule directories from the command line.
fn trusted(dirs: Vec<std::path::PathBuf>) -> Vec<RuleDir> {
    dirs.into_iter().map(RuleDir::Trusted).collect()
}

/// Runs a parsed command line.
fn execute(cli: Cli, term: Terminal) -> Result<Outcome, Diag> {
    match cli.command {
        Command::Scan {
            common,
            format,
            output,
            sarif_file,
            fail_on,
        } => scan::scan_command(
            &common,
            &scan::ScanOutput {
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
        } => fix::fix_command(&common, diff, output, unsafe_fixes, bind_address),
        Command::Rules { format, rules } => {
            let (_, rules) = load_rules(&trusted(rules))?;
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
            let (_, rules) = load_rules(&trusted(rules))?;
            let r = rules::find(&rules, &rule)
                .ok_or_else(|| Box::new(prepare::CliError::UnknownRule(rule.clone())) as Diag)?;
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
        Command::Man { dir } => man::man(dir.as_deref()),
    }
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
                    status: crate::exit::EXIT_ERROR,
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
            status: crate::exit::EXIT_ERROR,
            ..Outcome::default()
        },
    }
}
