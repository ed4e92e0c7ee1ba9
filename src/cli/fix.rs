//! `promready fix`: the fixes, written (or shown with `--diff`), and the
//! account of what is left.

use super::args::Common;
use super::prepare::{CliError, prepare, unique_paths};
use super::scan::status_for;
use super::{Diag, Outcome};
use crate::exit::EXIT_ERROR;
use crate::{archive, config, fix, report};

pub(super) fn fix_command(
    common: &Common,
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
    if let Some(path) = &output {
        archive::check_output(path).map_err(|e| {
            Box::new(CliError::Output {
                path: path.clone(),
                reason: e.to_string(),
            }) as Diag
        })?;
    }
    let bind_address = match bind_address.or_else(|| p.settings.bind_address.clone()) {
        // Both sources are validated where they are read.
        Some(a) => a,
        None => fix::DEFAULT_BIND.to_owned(),
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
