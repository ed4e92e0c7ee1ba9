//! Rules are data: `rules/*.yaml`, one file per rule, validated on load.
//!
//! The serde structs (`Serializable…`) mirror the YAML; nothing outside this
//! module sees them. [`Rule`] is the checked, compiled form the engine uses.

mod eval;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;

pub(crate) use eval::{Subject, all_loopback, evaluate, window_note};

use crate::data::{Builtin, DataError, ScalarText, builtin, from_data};
use crate::model::{ComponentSpec, Constraint};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Safety {
    /// Makes the component scrapeable without weakening authentication or
    /// authorization, and cannot stop it from starting.
    Safe,
    /// Could stop the component from starting, or weakens security.
    Unsafe,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableCondition {
    setting: Option<String>,
    version: Option<String>,
    equals: Option<ScalarText>,
    not_equals: Option<ScalarText>,
    one_of: Option<Vec<ScalarText>>,
    loopback: Option<bool>,
    unset_or_loopback: Option<bool>,
    set: Option<bool>,
    any: Option<Vec<SerializableCondition>>,
    all: Option<Vec<SerializableCondition>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableVariant {
    if_version: Option<String>,
    #[serde(default)]
    when: Vec<SerializableCondition>,
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SerializableText {
    One(String),
    Variants(Vec<SerializableVariant>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableFix {
    safety: Safety,
    #[serde(default)]
    safe_when: Vec<SerializableCondition>,
    #[serde(default)]
    set: BTreeMap<String, ScalarText>,
    #[serde(default)]
    remove: Vec<String>,
    description: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Reference {
    pub(crate) title: String,
    pub(crate) url: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Docs {
    pub(crate) what_it_checks: String,
    pub(crate) why_it_matters: String,
    pub(crate) example: String,
    pub(crate) fix: String,
    pub(crate) conflicts: Option<String>,
    pub(crate) references: Vec<Reference>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SerializableRule {
    code: String,
    name: String,
    component: String,
    severity: Severity,
    #[serde(default)]
    tags: Vec<String>,
    summary: String,
    for_each: Option<ForEach>,
    #[serde(default)]
    when: Vec<SerializableCondition>,
    #[serde(default)]
    locate: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    message: SerializableText,
    help: SerializableText,
    fix: Option<SerializableFix>,
    docs: Docs,
}

/// A test on a setting's effective value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    Equals(String),
    NotEquals(String),
    OneOf(Vec<String>),
    Loopback(bool),
    /// Unset (or empty), or loopback.
    UnsetOrLoopback(bool),
    /// Whether a flag or config file set it (as opposed to a default).
    Set(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    Setting { name: String, test: Test },
    Version(Constraint),
    Any(Vec<Condition>),
    All(Vec<Condition>),
}

/// Rules that apply to every component and emit one finding per item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ForEach {
    /// Every explicitly passed flag the detected version does not accept.
    UnacceptedFlag,
    /// Every inline suppression without a reason or without a finding.
    SuppressionProblem,
    /// Every kubeadm `extraArgs`/`kubeletExtraArgs` written in the form its
    /// document's API version does not decode.
    ExtraArgsForm,
    /// Every value or command line a component refuses at start.
    StartProblem,
}

/// Placeholders of `for_each` rules.
const FLAG_PLACEHOLDERS: &[&str] = &[
    "flag",
    "value",
    "component",
    "removed_in",
    "reason",
    "version",
    "problem",
    "path",
    "api_version",
    "found",
    "wants",
    "example",
];

/// A text chosen by conditions: the first variant whose conditions hold.
#[derive(Debug, Clone)]
pub(crate) struct Variant {
    pub(crate) when: Vec<Condition>,
    pub(crate) text: String,
}

#[derive(Debug, Clone)]
pub(crate) struct FixPlan {
    pub(crate) safety: Safety,
    /// When these hold, an unsafe fix is safe for this invocation.
    pub(crate) safe_when: Vec<Condition>,
    pub(crate) set: Vec<(String, String)>,
    pub(crate) remove: Vec<String>,
    pub(crate) description: String,
}

/// A validated rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) code: String,
    pub(crate) name: String,
    /// A component name, or `any` (with `for_each`).
    pub(crate) component: String,
    pub(crate) for_each: Option<ForEach>,
    pub(crate) severity: Severity,
    pub(crate) tags: Vec<String>,
    pub(crate) summary: String,
    pub(crate) when: Vec<Condition>,
    pub(crate) locate: Vec<String>,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) message: Vec<Variant>,
    pub(crate) help: Vec<Variant>,
    pub(crate) fix: Option<FixPlan>,
    pub(crate) docs: Docs,
    /// Where the rule was loaded from (`rules/x.yaml`, or a user's file).
    pub(crate) origin: String,
}

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
        let excerpt = crate::text::excerpt(text, span);
        RuleError {
            kind: "rule file",
            path: crate::text::escape(path, crate::text::Shown::Inline).into_owned(),
            message: crate::text::bounded(&message, 400),
            src: miette::NamedSource::new(
                crate::text::escape(path, crate::text::Shown::Inline),
                excerpt.0,
            ),
            span: (excerpt.1.start, excerpt.1.len()).into(),
        }
    }
}

/// The rule files built into promready (a test checks this matches `rules/`).
pub(crate) const BUILTIN: &[Builtin] = builtin![
    "rules":
    "kubelet-webhook-authz-without-token-authn",
    "kubelet-cadvisor-port",
    "controller-manager-metrics-on-loopback",
    "scheduler-metrics-on-loopback",
    "etcd-metrics-on-loopback",
    "kube-proxy-metrics-on-loopback",
    "kubelet-serving-on-loopback",
    "kubelet-authorization-always-allow",
    "flag-removed-in-this-version",
    "kubelet-read-only-port",
    "invalid-suppression",
    "kubeadm-extra-args-wrong-form",
    "component-will-not-start",
];

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
        let dup = |what: &str, v: &str| {
            boxed(RuleError::new(
                path,
                text,
                DataError {
                    message: format!("{what} `{v}` is already used by another rule"),
                    span: 0..0,
                },
            ))
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

fn err(message: String, text: &str, needle: &str) -> DataError {
    // Point at the first occurrence of the offending key or value.
    let span = text.find(needle).map_or(0..0, |i| i..i + needle.len());
    DataError { message, span }
}

/// The code, the name and the file name must agree with the conventions.
fn check_identity(raw: &SerializableRule, path: &str, text: &str) -> Result<(), DataError> {
    let valid_code = raw.code.len() >= 3
        && raw.code.chars().take(2).all(|c| c.is_ascii_uppercase())
        && raw.code[2..].chars().all(|c| c.is_ascii_digit());
    if !valid_code {
        return Err(err(
            format!(
                "code `{}` must be letters then digits, like PR001",
                raw.code
            ),
            text,
            &raw.code,
        ));
    }
    let kebab = !raw.name.is_empty()
        && raw
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !kebab {
        return Err(err(
            format!("name `{}` must be lowercase words joined by `-`", raw.name),
            text,
            &raw.name,
        ));
    }
    let stem = Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if stem != raw.name {
        return Err(err(
            format!("the file must be named after the rule: `{}.yaml`", raw.name),
            text,
            &raw.name,
        ));
    }
    Ok(())
}

fn compile(
    path: &str,
    text: &str,
    json: Option<&str>,
    components: &BTreeMap<String, ComponentSpec>,
) -> Result<Rule, DataError> {
    let raw: SerializableRule = from_data(text, json)?;
    check_identity(&raw, path, text)?;
    // `component: any` rules apply to every component; their conditions
    // cannot name settings, since settings belong to a component.
    let scope = if raw.component == "any" {
        if raw.for_each.is_none() {
            return Err(err(
                "`component: any` needs `for_each`".to_owned(),
                text,
                "any",
            ));
        }
        if !raw.when.is_empty() || !raw.locate.is_empty() {
            return Err(err(
                "a `for_each` rule has no `when` or `locate`".to_owned(),
                text,
                "for_each",
            ));
        }
        None
    } else {
        let Some(component) = components.get(&raw.component) else {
            return Err(err(
                format!("unknown component `{}`", raw.component),
                text,
                &raw.component,
            ));
        };
        if raw.for_each.is_some() {
            return Err(err(
                "`for_each` goes with `component: any`".to_owned(),
                text,
                "for_each",
            ));
        }
        Some(component)
    };
    let when = conditions(raw.when, scope, text)?;
    if let Some(component) = scope {
        if !when.iter().any(names_a_setting) {
            return Err(err(
                "`when` needs at least one setting condition".to_owned(),
                text,
                "when",
            ));
        }
        for s in raw.locate.iter().chain(raw.labels.keys()) {
            if component.setting(s).is_none() {
                return Err(err(
                    format!("unknown setting `{s}` of {}", component.name),
                    text,
                    s,
                ));
            }
        }
        if raw.locate.is_empty() {
            return Err(err(
                "`locate` must name at least one setting".to_owned(),
                text,
                "locate",
            ));
        }
    }
    let message = variants(raw.message, scope, text)?;
    let help = variants(raw.help, scope, text)?;
    for t in message
        .iter()
        .chain(&help)
        .map(|v| v.text.as_str())
        .chain(raw.labels.values().map(String::as_str))
    {
        check_placeholders(t, scope, text)?;
    }
    let fix = raw.fix.map(|f| compile_fix(f, scope, text)).transpose()?;
    Ok(Rule {
        code: raw.code,
        name: raw.name,
        component: raw.component,
        for_each: raw.for_each,
        severity: raw.severity,
        tags: raw.tags,
        summary: raw.summary,
        when,
        locate: raw.locate,
        labels: raw.labels,
        message,
        help,
        fix,
        docs: raw.docs,
        origin: path.to_owned(),
    })
}

fn compile_fix(
    f: SerializableFix,
    scope: Option<&ComponentSpec>,
    text: &str,
) -> Result<FixPlan, DataError> {
    for s in f.set.keys() {
        if scope.is_some_and(|c| c.setting(s).is_none()) {
            return Err(err(format!("fix sets unknown setting `{s}`"), text, s));
        }
    }
    Ok(FixPlan {
        safety: f.safety,
        safe_when: conditions(f.safe_when, scope, text)?,
        set: f.set.into_iter().map(|(k, v)| (k, v.text())).collect(),
        remove: f.remove,
        description: f.description,
    })
}

fn names_a_setting(c: &Condition) -> bool {
    match c {
        Condition::Setting { .. } => true,
        Condition::Version(_) => false,
        Condition::Any(cs) | Condition::All(cs) => cs.iter().any(names_a_setting),
    }
}

fn version_constraint(v: &str, text: &str) -> Result<Constraint, DataError> {
    Constraint::parse(v).ok_or_else(|| {
        err(
            format!("`{v}` is not a version constraint like `>=1.12`"),
            text,
            v,
        )
    })
}

fn conditions(
    raw: Vec<SerializableCondition>,
    scope: Option<&ComponentSpec>,
    text: &str,
) -> Result<Vec<Condition>, DataError> {
    raw.into_iter().map(|c| condition(c, scope, text)).collect()
}

fn condition(
    c: SerializableCondition,
    scope: Option<&ComponentSpec>,
    text: &str,
) -> Result<Condition, DataError> {
    let kinds = usize::from(c.setting.is_some())
        + usize::from(c.version.is_some())
        + usize::from(c.any.is_some())
        + usize::from(c.all.is_some());
    if kinds != 1 {
        return Err(err(
            "a condition has exactly one of `setting`, `version`, `any`, `all`".to_owned(),
            text,
            "when",
        ));
    }
    if let Some(v) = &c.version {
        return Ok(Condition::Version(version_constraint(v, text)?));
    }
    if let Some(cs) = c.any {
        return Ok(Condition::Any(conditions(cs, scope, text)?));
    }
    if let Some(cs) = c.all {
        return Ok(Condition::All(conditions(cs, scope, text)?));
    }
    let name = c.setting.unwrap_or_default();
    let Some(component) = scope else {
        return Err(err(
            format!("`{name}`: a `component: any` rule cannot test settings"),
            text,
            &name,
        ));
    };
    if component.setting(&name).is_none() {
        return Err(err(
            format!("unknown setting `{name}` of {}", component.name),
            text,
            &name,
        ));
    }
    let mut tests = Vec::new();
    if let Some(v) = c.equals {
        tests.push(Test::Equals(v.text()));
    }
    if let Some(v) = c.not_equals {
        tests.push(Test::NotEquals(v.text()));
    }
    if let Some(v) = c.one_of {
        tests.push(Test::OneOf(v.iter().map(ScalarText::text).collect()));
    }
    if let Some(v) = c.loopback {
        tests.push(Test::Loopback(v));
    }
    if let Some(v) = c.unset_or_loopback {
        tests.push(Test::UnsetOrLoopback(v));
    }
    if let Some(v) = c.set {
        tests.push(Test::Set(v));
    }
    match <[Test; 1]>::try_from(tests) {
        Ok([only]) => Ok(Condition::Setting { name, test: only }),
        Err(_) => Err(err(
            format!(
                "the condition on `{name}` needs exactly one of equals, not_equals, one_of, loopback, unset_or_loopback, set"
            ),
            text,
            &name,
        )),
    }
}

fn variants(
    raw: SerializableText,
    scope: Option<&ComponentSpec>,
    text: &str,
) -> Result<Vec<Variant>, DataError> {
    let raw = match raw {
        SerializableText::One(t) => {
            return Ok(vec![Variant {
                when: Vec::new(),
                text: t,
            }]);
        }
        SerializableText::Variants(v) => v,
    };
    let n = raw.len();
    let mut out = Vec::new();
    for (i, v) in raw.into_iter().enumerate() {
        let mut when = conditions(v.when, scope, text)?;
        if let Some(c) = v.if_version {
            when.push(Condition::Version(version_constraint(&c, text)?));
        }
        if i + 1 == n && !when.is_empty() {
            return Err(err(
                "the last variant must have no condition (it is the fallback)".to_owned(),
                text,
                &v.text,
            ));
        }
        out.push(Variant { when, text: v.text });
    }
    if out.is_empty() {
        return Err(err(
            "a text needs at least one variant".to_owned(),
            text,
            "text",
        ));
    }
    Ok(out)
}

fn check_placeholders(t: &str, scope: Option<&ComponentSpec>, text: &str) -> Result<(), DataError> {
    for name in placeholders(t) {
        let known = match scope {
            None => FLAG_PLACEHOLDERS.contains(&name),
            Some(component) => {
                let setting = name.strip_suffix("#origin").unwrap_or(name);
                setting == "version" || component.setting(setting).is_some()
            }
        };
        if !known {
            return Err(err(format!("unknown placeholder `{{{name}}}`"), text, name));
        }
    }
    Ok(())
}

/// The `{name}` placeholders of a text.
pub(crate) fn placeholders(t: &str) -> impl Iterator<Item = &str> {
    t.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// Finds a rule by code (`PR001`, any case) or name.
pub(crate) fn find<'a>(rules: &'a [Rule], key: &str) -> Option<&'a Rule> {
    rules
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(key) || r.name == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load_components;

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

    #[test]
    fn invalid_rules_are_refused_with_a_location() {
        let c = components();
        let good = BUILTIN[0].1;
        let cases = [
            (
                good.replace("setting: authorization.mode", "setting: authorisation.mode"),
                "unknown setting `authorisation.mode`",
            ),
            (
                good.replace("code: PR001", "code: P001"),
                "must be letters then digits",
            ),
            (
                good.replace("severity: error", "severity: fatal"),
                "severity",
            ),
            (
                good.replace("    equals: Webhook", "    equals: Webhook\n    set: true"),
                "exactly one of",
            ),
            (format!("{good}\nsurprise: 1\n"), "unknown field `surprise`"),
        ];
        for (text, want) in cases {
            let e = compile(BUILTIN[0].0, &text, None, &c).unwrap_err();
            assert!(
                e.message.contains(want),
                "{} does not contain {want}",
                e.message
            );
        }
        let e = compile("rules/other-name.yaml", good, None, &c).unwrap_err();
        assert!(e.message.contains("named after the rule"));
    }
}
