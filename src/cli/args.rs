//! Command-line interface definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::FailOn;

/// Make Kubernetes node images ready to be scraped by Prometheus before they ship.
#[derive(Debug, Parser)]
#[command(name = "promready", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// A report per finding, drawn on its source lines.
    #[value(alias = "full")]
    Human,
    /// One line per finding and per note: `path:line:col: CODE message`.
    Concise,
    Json,
    Sarif,
    /// GitHub Actions workflow commands (annotations).
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    Human,
    Json,
}

/// Options shared by `scan` and `fix`.
#[derive(Debug, Args)]
pub(crate) struct Common {
    /// Rootfs directories or archives (.tar, .tar.gz, .tar.zst), configuration
    /// directories, or configuration files. A path named twice is scanned once.
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    /// Assume this Kubernetes version (e.g. 1.29 or v1.30.2) instead of detecting it.
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pub(crate) kubernetes_version: Option<crate::model::Version>,
    /// Also load the rule files (*.yaml) in DIR.
    #[arg(long, value_name = "DIR")]
    pub(crate) rules: Vec<PathBuf>,
    /// Run only these rules (codes or names, comma-separated).
    #[arg(long, value_name = "RULES", value_delimiter = ',')]
    pub(crate) select: Vec<String>,
    /// Do not run these rules (codes or names, comma-separated).
    #[arg(long, value_name = "RULES", value_delimiter = ',')]
    pub(crate) ignore: Vec<String>,
    /// The configuration file (default: .promready.yaml in the scanned
    /// directory or the current one).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// No progress line while reading large archives.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Also show the files named on the command line that were skipped
    /// because they hold no configuration promready reads.
    #[arg(short, long)]
    pub(crate) verbose: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Scan node images and configuration and report problems.
    ///
    /// Exit status: 0 no findings, 1 findings (see --fail-on), 2 usage or
    /// input error. An input that cannot be scanned is reported and the
    /// others are still scanned and reported; the exit status is then 2.
    Scan {
        #[command(flatten)]
        common: Common,
        /// Output format.
        #[arg(
            long = "output-format",
            visible_alias = "format",
            value_enum,
            value_name = "FORMAT",
            default_value = "human"
        )]
        format: Format,
        /// Write the report to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Also write the SARIF report to FILE (with any --output-format), so
        /// that one scan both annotates a CI log and feeds code scanning.
        #[arg(long, value_name = "FILE")]
        sarif_file: Option<PathBuf>,
        /// Which findings make the exit status 1.
        #[arg(long, value_enum, value_name = "LEVEL")]
        fail_on: Option<FailOn>,
    },
    /// Fix the findings in place with minimal edits.
    ///
    /// Applies safe fixes (and unsafe ones with --unsafe-fixes), prints what
    /// changed, and exits 0 when no findings remain, 1 when some do, 2 on
    /// usage or input errors.
    Fix {
        #[command(flatten)]
        common: Common,
        /// Print a unified diff of the changes and write nothing.
        #[arg(long)]
        diff: bool,
        /// For a rootfs archive: write the fixed archive to FILE and leave the input untouched.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Also apply fixes that could stop a component from starting or
        /// change its authorization.
        #[arg(long)]
        unsafe_fixes: bool,
        /// The address to rebind loopback-only listeners to (`::` for IPv6).
        #[arg(long, value_name = "ADDR", value_parser = parse_address)]
        bind_address: Option<String>,
    },
    /// List every rule.
    Rules {
        #[arg(long, value_enum, default_value = "human")]
        format: ListFormat,
        /// Also load the rule files (*.yaml) in DIR.
        #[arg(long, value_name = "DIR")]
        rules: Vec<PathBuf>,
    },
    /// Print the full documentation of a rule.
    Explain {
        /// Rule code (PR001) or name (kubelet-cadvisor-port).
        rule: String,
        /// Also load the rule files (*.yaml) in DIR.
        #[arg(long, value_name = "DIR")]
        rules: Vec<PathBuf>,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command.
    ///
    /// Without --dir, one complete page: every command with its options.
    /// With --dir, promready.1 and promready-<command>.1 for each command.
    Man {
        /// Write the pages into DIR instead of printing one.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

fn parse_version(s: &str) -> Result<crate::model::Version, String> {
    crate::model::Version::parse(s)
        .ok_or_else(|| format!("`{s}` is not a Kubernetes version (expected e.g. 1.29 or v1.30.2)"))
}

pub(crate) fn parse_address(s: &str) -> Result<String, String> {
    crate::config::bind_address(s)
}
