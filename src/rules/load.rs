//! Loading rule files: the built-in ones and those of `--rules`
//! directories, each compiled against the components, with codes and names
//! unique across all of them.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

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

    pub(crate) fn new(path: &str, text: &str, e: DataError) -> Self {
        let DataError { message, span } = e;
        // Only a bounded, escaped excerpt of the file is kept for the report.
        let excerpt = crate::escape::excerpt(text, span);
        RuleError {
            kind: "rule file",
            path: crate::escape::escape(path, crate::escape::Shown::Inline).into_owned(),
            message: crate::escape::bounded(&message, 400),
            src: miette::NamedSource::new(
                crate::escape::escape(path, crate::escape::Shown::Inline),
                excerpt.0,
            ),
            span: (excerpt.1.start, excerpt.1.len()).into(),
        }
    }
}

/// The rule files built into promready, sorted by file name (the build
/// lists every `rules/*.yaml`).
pub(crate) const BUILTIN: &[Builtin] = builtin!("rules");

/// Loads the built-in rules plus every `*.yaml` in `extra` directories.
pub(crate) fn load(
    components: &BTreeMap<String, ComponentSpec>,
    extra: &[crate::source::RuleDir],
) -> Result<Vec<Rule>, Box<dyn miette::Diagnostic + Send + Sync>> {
    // Each file's name, its text and, for a built-in file, its JSON.
    let mut files: Vec<(String, Cow<'static, str>, Option<&str>)> = BUILTIN
        .iter()
        .map(|&(p, t, json)| (p.to_owned(), Cow::Borrowed(t), Some(json)))
        .collect();
    for dir in extra {
        for (path, text) in crate::source::rule_files(dir).map_err(boxed)? {
            files.push((path, Cow::Owned(text), None));
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
