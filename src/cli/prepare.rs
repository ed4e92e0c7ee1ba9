//! What `scan` and `fix` share: the configuration merged with the command
//! line, the rules loaded and selected, the paths each once.

use super::args::Common;
use super::{Diag, load_rules};
use crate::{config, model, rules, scan, source};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(super) enum CliError {
    #[error("no rule is called `{}`", crate::escape::bounded(.0, 100))]
    #[diagnostic(help("`promready rules` lists every rule code and name"))]
    UnknownRule(String),
    #[error("cannot write {}: {source}", crate::escape::path(.path))]
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
    #[error("cannot write {}: {reason}; nothing was written", crate::escape::path(.path))]
    #[diagnostic(help(
        "-o writes the fixed archive to a new file, or over a regular file, in a directory that exists"
    ))]
    Output {
        path: std::path::PathBuf,
        reason: String,
    },
}

/// Everything a scan or a fix needs, from the command line and the
/// configuration file.
pub(super) struct Prepared {
    pub(super) components: std::collections::BTreeMap<String, model::ComponentSpec>,
    pub(super) rules: Vec<rules::Rule>,
    pub(super) options: scan::Options,
    pub(super) settings: config::Settings,
}

/// Reads the configuration, merges the command line over it, loads and
/// selects the rules.
pub(super) fn prepare(common: &Common) -> Result<Prepared, Diag> {
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
    settings
        .rules
        .extend(common.rules.iter().cloned().map(source::RuleDir::Trusted));
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

/// The paths of the command line, each once (a path named twice, or two
/// names of one file, are scanned once), in their first order.
pub(super) fn unique_paths(paths: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
    let mut seen = std::collections::HashSet::new();
    paths
        .iter()
        .filter(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| (*p).clone())))
        .cloned()
        .collect()
}
