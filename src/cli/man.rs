//! `promready man`: the manual page(s), from the command definitions.

use std::io::Write;

use super::args::Cli;
use super::prepare::CliError;
use super::{Diag, Outcome};

/// The manual: one complete page, or one page per command in `dir`.
pub(super) fn man(dir: Option<&std::path::Path>) -> Result<Outcome, Diag> {
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
