//! Command-line interface definitions.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Make Kubernetes node images ready to be scraped by Prometheus before they ship.
#[derive(Debug, Parser)]
#[command(name = "promready", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Human,
    Json,
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Scan node images (unpacked rootfs directories) and report problems.
    ///
    /// Exit status: 0 no findings, 1 findings, 2 usage or input error.
    Scan {
        /// Rootfs directories to scan.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Write the report to FILE instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Assume this Kubernetes version (e.g. 1.29 or v1.30.2) instead of detecting it.
        #[arg(long, value_name = "VERSION", value_parser = parse_version)]
        kubernetes_version: Option<crate::model::Version>,
        /// Also load the rule files (*.yaml) in DIR.
        #[arg(long, value_name = "DIR")]
        rules: Vec<PathBuf>,
        /// No progress line while reading large archives.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Fix the findings in place with minimal edits.
    ///
    /// Applies safe fixes (and unsafe ones with --unsafe-fixes), prints what
    /// changed, and exits 0 when no findings remain, 1 when some do, 2 on
    /// usage or input errors.
    Fix {
        /// Rootfs directories, configuration directories or files.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
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
        #[arg(long, value_name = "ADDR", default_value = "0.0.0.0", value_parser = parse_address)]
        bind_address: String,
        /// Assume this Kubernetes version (e.g. 1.29 or v1.30.2) instead of detecting it.
        #[arg(long, value_name = "VERSION", value_parser = parse_version)]
        kubernetes_version: Option<crate::model::Version>,
        /// Also load the rule files (*.yaml) in DIR.
        #[arg(long, value_name = "DIR")]
        rules: Vec<PathBuf>,
        /// No progress line while reading large archives.
        #[arg(short, long)]
        quiet: bool,
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
}

fn parse_version(s: &str) -> Result<crate::model::Version, String> {
    crate::model::Version::parse(s)
        .ok_or_else(|| format!("`{s}` is not a Kubernetes version (expected e.g. 1.29 or v1.30.2)"))
}

fn parse_address(s: &str) -> Result<String, String> {
    let bare = s.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>()
        .map(|_| bare.to_owned())
        .map_err(|_| {
            format!("`{s}` is not an IP address (e.g. 0.0.0.0, ::, or the node's address)")
        })
}
