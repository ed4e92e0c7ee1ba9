//! Loading rule files: the built-in ones and those of `--rules`
//! directories, each compiled against the components, with codes and names
//! unique across all of them.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use super::Rule;
use super::compile::compile;
use crate::data::{At, Builtin, DataError, Source, builtin};
use crate::model::ComponentSpec;

/// A rule file that cannot be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("invalid {kind} {path}: {message}")]
#[diagnostic(help("fix the file; the README describes its schema"))]
pub(crate) struct RuleError {
    kind: &'static str,
    path: String,
    message: String,
    #[source_code]
    src: miette::NamedSource<String>,
    #[label("here")]
    span: miette::SourceSpan,
}

impl RuleError {
    /// An invalid configuration file (same shape of report as a rule file).
    pub(crate) fn config(path: &str, text: &str, e: DataError) -> Self {
        let mut r = Self::new(path, text, e);
        r.kind = "configuration file";
        r
    }

    /// A file that cannot be used at all.
    pub(crate) fn plain(path: &str, message: &str) -> Self {
        Self::new(
            path,
            "",
            DataError {
                message: message.to_owned(),
                span: 0..0,
            },
        )
    }

    pub(crate) fn new(path: &str, text: &str, e: DataError) -> Self {
        RuleError {
            kind: "rule file",
            path: path.to_owned(),
            message: e.message,
            src: miette::NamedSource::new(path, text.to_owned()),
            span: (e.span.start, e.span.len()).into(),
        }
    }
}

/// The rule files built into promready, sorted by file name (the build
/// lists every `rules/*.yaml`).
pub(crate) const BUILTIN: &[Builtin] = builtin!("rules");

/// Loads the built-in rules plus every `*.yaml` in `extra` directories.
pub(crate) fn load(
    components: &BTreeMap<String, ComponentSpec>,
    extra: &[&Path],
) -> Result<Vec<Rule>, Box<dyn miette::Diagnostic + Send + Sync>> {
    // Each file's name, its text and, for a built-in file, its JSON.
    let mut files: Vec<(String, Cow<'static, str>, Option<&str>)> = BUILTIN
        .iter()
        .map(|&(p, t, json)| (p.to_owned(), Cow::Borrowed(t), Some(json)))
        .collect();
    for dir in extra {
        let entries = std::fs::read_dir(dir).map_err(|source| {
            boxed(crate::source::InputError::Io {
                path: dir.to_path_buf(),
                source,
            })
        })?;
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml") && p.is_file())
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|source| {
                boxed(crate::source::InputError::Io {
                    path: p.clone(),
                    source,
                })
            })?;
            files.push((p.display().to_string(), Cow::Owned(text), None));
        }
    }
    let mut rules: Vec<Rule> = Vec::new();
    let mut codes = HashSet::new();
    let mut names = HashSet::new();
    for (path, text, json) in &files {
        let rule = compile(path, text, *json, components)
            .map_err(|e| boxed(RuleError::new(path, text, e)))?;
        let dup = |key: &str, v: &str| {
            let src = Source::new(text);
            let e = src.error(
                format!("{key} `{v}` is already used by another rule"),
                &At::root().key(key),
            );
            boxed(RuleError::new(path, text, e))
        };
        if !codes.insert(rule.code.clone()) {
            return Err(dup("code", &rule.code));
        }
        if !names.insert(rule.name.clone()) {
            return Err(dup("name", &rule.name));
        }
        rules.push(rule);
    }
    rules.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(rules)
}

fn boxed<E: miette::Diagnostic + Send + Sync + 'static>(
    e: E,
) -> Box<dyn miette::Diagnostic + Send + Sync> {
    Box::new(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load_components;
    use crate::rules::find;

    fn components() -> BTreeMap<String, ComponentSpec> {
        load_components().map_err(|e| e.2.message).unwrap()
    }

    #[test]
    fn builtin_list_matches_the_rules_directory() {
        crate::data::assert_registered("rules", BUILTIN);
    }

    #[test]
    fn builtin_rules_load() {
        let rules = load(&components(), &[]).map_err(|e| e.to_string()).unwrap();
        assert!(rules.len() >= 5);
        assert!(find(&rules, "pr001").is_some());
        assert!(find(&rules, "kubelet-cadvisor-port").is_some());
    }
}
