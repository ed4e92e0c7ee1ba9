//! `promready scan`: the report of every input, in the chosen format.

use std::fmt::Write as _;

use super::args::{Common, Format};
use super::prepare::{CliError, prepare, unique_paths};
use super::{Diag, Outcome, Terminal, render_error};
use crate::exit::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use crate::{config, finding, fix, report, scan, target};

/// Where and how `scan` reports.
pub(super) struct ScanOutput {
    pub(super) format: Format,
    pub(super) output: Option<std::path::PathBuf>,
    pub(super) sarif_file: Option<std::path::PathBuf>,
    pub(super) fail_on: Option<config::FailOn>,
}

pub(super) fn scan_command(
    common: &Common,
    out: &ScanOutput,
    term: Terminal,
) -> Result<Outcome, Diag> {
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
    let fixing = report::sarif::Fixing {
        components: &p.components,
        bind_address: p
            .settings
            .bind_address
            .as_deref()
            .unwrap_or(fix::DEFAULT_BIND),
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
        Format::Sarif => report::sarif::render(&run, &p.rules, &fixing, status),
        Format::Github => report::github::render(&run),
    };
    let write = |path: &std::path::Path, text: String| {
        crate::sink::write_report(path, &text).map_err(|source| {
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

/// The exit status for findings that are not suppressed.
pub(crate) fn status_for(targets: &[target::Target], fail_on: config::FailOn) -> u8 {
    let live = targets
        .iter()
        .flat_map(|t| &t.findings)
        .filter(|f| f.suppressed.is_none());
    let failing = match fail_on {
        config::FailOn::Never => false,
        config::FailOn::Note => live.count() > 0,
        config::FailOn::Warning => {
            live.filter(|f| f.severity >= finding::Severity::Warning)
                .count()
                > 0
        }
        config::FailOn::Error => {
            live.filter(|f| f.severity == finding::Severity::Error)
                .count()
                > 0
        }
    };
    if failing { EXIT_FINDINGS } else { EXIT_CLEAN }
}
