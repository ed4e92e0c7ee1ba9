//! Compiling a rule file: its schema, then every check serde cannot make
//! (identity, settings that exist, one operator per condition, known
//! placeholders), into a [`Rule`].

use std::collections::BTreeMap;
use std::path::Path;

use super::schema::{SerializableCondition, SerializableFix, SerializableRule, SerializableText};
use super::{Condition, FixPlan, Rule, Test, Variant, placeholders};
use crate::data::{At, DataError, ScalarText, Source, from_data};
use crate::model::{ComponentSpec, Constraint};

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
    "refused",
    "found",
    "wants",
    "example",
    "certificate",
    "key",
    "where",
];

/// The code, the name and the file name must agree with the conventions.
fn check_identity(raw: &SerializableRule, path: &str, src: &Source) -> Result<(), DataError> {
    let valid_code = raw.code.len() >= 3
        && raw.code.chars().take(2).all(|c| c.is_ascii_uppercase())
        && raw.code[2..].chars().all(|c| c.is_ascii_digit());
    if !valid_code {
        return Err(src.error(
            format!(
                "code `{}` must be letters then digits, like PR001",
                raw.code
            ),
            &At::root().key("code"),
        ));
    }
    let kebab = !raw.name.is_empty()
        && raw
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !kebab {
        return Err(src.error(
            format!("name `{}` must be lowercase words joined by `-`", raw.name),
            &At::root().key("name"),
        ));
    }
    let stem = Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if stem != raw.name {
        return Err(src.error(
            format!("the file must be named after the rule: `{}.yaml`", raw.name),
            &At::root().key("name"),
        ));
    }
    Ok(())
}

/// Compiles the rule file `path` (its YAML `text`, or for a built-in file
/// the JSON the build made of it) against the components.
pub(super) fn compile(
    path: &str,
    text: &str,
    json: Option<&str>,
    components: &BTreeMap<String, ComponentSpec>,
) -> Result<Rule, DataError> {
    let mut raw: SerializableRule = from_data(text, json)?;
    let src = &Source::new(text);
    let root = At::root();
    check_identity(&raw, path, src)?;
    // `component: any` rules apply to every component; their conditions
    // cannot name settings, since settings belong to a component.
    let scope = if raw.component == "any" {
        if raw.for_each.is_none() {
            return Err(src.error(
                "`component: any` needs `for_each`".to_owned(),
                &root.key("component"),
            ));
        }
        if !raw.when.is_empty() || !raw.locate.is_empty() {
            let key = if raw.when.is_empty() {
                "locate"
            } else {
                "when"
            };
            return Err(src.error(
                "a `for_each` rule has no `when` or `locate`".to_owned(),
                &root.key(key).the_key(),
            ));
        }
        None
    } else {
        let Some(component) = components.get(&raw.component) else {
            return Err(src.error(
                format!("unknown component `{}`", raw.component),
                &root.key("component"),
            ));
        };
        if raw.for_each.is_some() {
            return Err(src.error(
                "`for_each` goes with `component: any`".to_owned(),
                &root.key("for_each").the_key(),
            ));
        }
        Some(component)
    };
    let when = conditions(std::mem::take(&mut raw.when), scope, src, &root.key("when"))?;
    if let Some(component) = scope {
        check_located(&raw, component, &when, src)?;
    }
    let message = variants(raw.message, scope, src, &root.key("message"))?;
    let help = variants(raw.help, scope, src, &root.key("help"))?;
    for (t, at) in message
        .iter()
        .chain(&help)
        .map(|(v, at)| (v.text.as_str(), at.clone()))
        .chain(
            raw.labels
                .iter()
                .map(|(k, v)| (v.as_str(), root.key("labels").key(k))),
        )
    {
        check_placeholders(t, scope, src, at)?;
    }
    let fix = raw
        .fix
        .map(|f| compile_fix(f, scope, src, &root.key("fix")))
        .transpose()?;
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
        message: message.into_iter().map(|(v, _)| v).collect(),
        help: help.into_iter().map(|(v, _)| v).collect(),
        fix,
        docs: raw.docs,
        origin: path.to_owned(),
    })
}

/// A rule of one component tests and locates that component's settings.
fn check_located(
    raw: &SerializableRule,
    component: &ComponentSpec,
    when: &[Condition],
    src: &Source,
) -> Result<(), DataError> {
    let root = At::root();
    if !when.iter().any(names_a_setting) {
        return Err(src.error(
            "`when` needs at least one setting condition".to_owned(),
            &root.key("when").the_key(),
        ));
    }
    for (i, s) in raw.locate.iter().enumerate() {
        if component.setting(s).is_none() {
            return Err(src.error(
                format!("unknown setting `{s}` of {}", component.name),
                &root.key("locate").index(i),
            ));
        }
    }
    for s in raw.labels.keys() {
        if component.setting(s).is_none() {
            return Err(src.error(
                format!("unknown setting `{s}` of {}", component.name),
                &root.key("labels").key(s).the_key(),
            ));
        }
    }
    if raw.locate.is_empty() {
        return Err(src.error(
            "`locate` must name at least one setting".to_owned(),
            &root.key("locate").the_key(),
        ));
    }
    Ok(())
}

fn compile_fix(
    f: SerializableFix,
    scope: Option<&ComponentSpec>,
    src: &Source,
    at: &At,
) -> Result<FixPlan, DataError> {
    for s in f.set.keys() {
        if scope.is_some_and(|c| c.setting(s).is_none()) {
            return Err(src.error(
                format!("fix sets unknown setting `{s}`"),
                &at.key("set").key(s).the_key(),
            ));
        }
    }
    Ok(FixPlan {
        safety: f.safety,
        safe_when: conditions(f.safe_when, scope, src, &at.key("safe_when"))?,
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

fn version_constraint(v: &str, src: &Source, at: &At) -> Result<Constraint, DataError> {
    Constraint::parse(v).ok_or_else(|| {
        src.error(
            format!("`{v}` is not a version constraint like `>=1.12`"),
            at,
        )
    })
}

/// The conditions of the list at `at`.
fn conditions(
    raw: Vec<SerializableCondition>,
    scope: Option<&ComponentSpec>,
    src: &Source,
    at: &At,
) -> Result<Vec<Condition>, DataError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, c)| condition(c, scope, src, &at.index(i)))
        .collect()
}

/// The keys that make a condition what it is.
const KINDS: &[&str] = &["setting", "version", "any", "all"];
/// The operators of a `setting` condition.
const OPERATORS: &[&str] = &[
    "equals",
    "not_equals",
    "one_of",
    "none_of",
    "loopback",
    "unset_or_loopback",
    "set",
    "unset",
    "allows_path",
    "forbids_path",
];

fn condition(
    c: SerializableCondition,
    scope: Option<&ComponentSpec>,
    src: &Source,
    at: &At,
) -> Result<Condition, DataError> {
    let kinds = usize::from(c.setting.is_some())
        + usize::from(c.version.is_some())
        + usize::from(c.any.is_some())
        + usize::from(c.all.is_some());
    if kinds != 1 {
        // The second of two kinds, or the condition that has none.
        return Err(src.error(
            "a condition has exactly one of `setting`, `version`, `any`, `all`".to_owned(),
            &at.clone().nth_key_among(KINDS, 1),
        ));
    }
    if let Some(v) = &c.version {
        return Ok(Condition::Version(version_constraint(
            v,
            src,
            &at.key("version"),
        )?));
    }
    if let Some(cs) = c.any {
        return Ok(Condition::Any(conditions(cs, scope, src, &at.key("any"))?));
    }
    if let Some(cs) = c.all {
        return Ok(Condition::All(conditions(cs, scope, src, &at.key("all"))?));
    }
    let name = c.setting.unwrap_or_default();
    let Some(component) = scope else {
        return Err(src.error(
            format!("`{name}`: a `component: any` rule cannot test settings"),
            &at.key("setting"),
        ));
    };
    if component.setting(&name).is_none() {
        return Err(src.error(
            format!("unknown setting `{name}` of {}", component.name),
            &at.key("setting"),
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
    if let Some(v) = c.none_of {
        tests.push(Test::NoneOf(v.iter().map(ScalarText::text).collect()));
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
    if let Some(v) = c.unset {
        tests.push(Test::Unset(v));
    }
    if let Some(v) = c.allows_path {
        tests.push(Test::AllowsPath(v, true));
    }
    if let Some(v) = c.forbids_path {
        tests.push(Test::AllowsPath(v, false));
    }
    let none = tests.is_empty();
    match <[Test; 1]>::try_from(tests) {
        Ok([only]) => Ok(Condition::Setting { name, test: only }),
        Err(_) => Err(src.error(
            format!(
                "the condition on `{name}` needs exactly one of equals, not_equals, one_of, none_of, loopback, unset_or_loopback, set, unset, allows_path, forbids_path"
            ),
            // The setting that has none, or the second operator.
            &if none {
                at.key("setting")
            } else {
                at.clone().nth_key_among(OPERATORS, 1)
            },
        )),
    }
}

/// The variants of the text at `at`, each with where its text is.
fn variants(
    raw: SerializableText,
    scope: Option<&ComponentSpec>,
    src: &Source,
    at: &At,
) -> Result<Vec<(Variant, At)>, DataError> {
    let raw = match raw {
        SerializableText::One(t) => {
            return Ok(vec![(
                Variant {
                    when: Vec::new(),
                    text: t,
                },
                at.clone(),
            )]);
        }
        SerializableText::Variants(v) => v,
    };
    let n = raw.len();
    let mut out = Vec::new();
    for (i, v) in raw.into_iter().enumerate() {
        let item = at.index(i);
        let mut when = conditions(v.when, scope, src, &item.key("when"))?;
        if let Some(c) = v.if_version {
            when.push(Condition::Version(version_constraint(
                &c,
                src,
                &item.key("if_version"),
            )?));
        }
        if i + 1 == n && !when.is_empty() {
            return Err(src.error(
                "the last variant must have no condition (it is the fallback)".to_owned(),
                &item.clone().nth_key_among(&["if_version", "when"], 0),
            ));
        }
        out.push((Variant { when, text: v.text }, item.key("text")));
    }
    if out.is_empty() {
        return Err(src.error(
            "a text needs at least one variant".to_owned(),
            &at.clone().the_key(),
        ));
    }
    Ok(out)
}

/// Checks the placeholders of the text `t`, found at `at`.
fn check_placeholders(
    t: &str,
    scope: Option<&ComponentSpec>,
    src: &Source,
    at: At,
) -> Result<(), DataError> {
    for name in placeholders(t) {
        let known = match scope {
            None => FLAG_PLACEHOLDERS.contains(&name),
            Some(component) => {
                let setting = name.strip_suffix("#origin").unwrap_or(name);
                setting == "version" || component.setting(setting).is_some()
            }
        };
        if !known {
            return Err(src.error(
                format!("unknown placeholder `{{{name}}}`"),
                &at.within(&format!("{{{name}}}")),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load_components;
    use crate::rules::load::BUILTIN;

    fn components() -> BTreeMap<String, ComponentSpec> {
        load_components().map_err(|e| e.2.message).unwrap()
    }

    #[test]
    fn invalid_rules_are_refused_with_a_location() {
        let c = components();
        let &(path, good, _) = BUILTIN
            .iter()
            .find(|(p, ..)| p.ends_with("/kubelet-webhook-authz-without-token-authn.yaml"))
            .unwrap();
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
            let e = compile(path, &text, None, &c).unwrap_err();
            assert!(
                e.message.contains(want),
                "{} does not contain {want}",
                e.message
            );
        }
        let e = compile("rules/other-name.yaml", good, None, &c).unwrap_err();
        assert!(e.message.contains("named after the rule"));
    }

    /// The line and the text of an error's span.
    fn at(text: &str, e: &DataError) -> (usize, String) {
        let line = text[..e.span.start].matches('\n').count() + 1;
        (line, text[e.span.clone()].to_owned())
    }

    #[test]
    fn semantic_errors_point_at_the_offending_node() {
        let c = components();
        let &(path, good, _) = BUILTIN
            .iter()
            .find(|(p, ..)| p.ends_with("/kubelet-webhook-authz-without-token-authn.yaml"))
            .unwrap();
        let line_of =
            |text: &str, needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
        // `authorization.mod` is first found as the prefix of the `when`
        // setting `authorization.mode`; the error is the second item of
        // `locate`.
        let text = good.replace(
            "locate: [authentication.webhook.enabled, authorization.mode]",
            "locate: [authentication.webhook.enabled, authorization.mod]",
        );
        let e = compile(path, &text, None, &c).unwrap_err();
        assert!(e.message.contains("unknown setting `authorization.mod`"));
        assert_eq!(
            at(&text, &e),
            (line_of(&text, "locate:"), "authorization.mod".to_owned())
        );
        // `kubeconfig` is first found in a comment; the condition with two
        // operators is `fix.safe_when`'s, and its second operator is the
        // offending key.
        let text = good.replace(
            "      set: true\n",
            "      set: true\n      equals: /etc/kubernetes/kubelet.conf\n",
        );
        let e = compile(path, &text, None, &c).unwrap_err();
        assert!(e.message.contains("`kubeconfig` needs exactly one of"));
        assert_eq!(
            at(&text, &e),
            (line_of(&text, "      equals: /etc"), "equals".to_owned())
        );
        // A condition with two kinds in a message variant: the second kind,
        // not the first `when` of the file.
        let text = good.replace(
            "      - setting: authentication.anonymous.enabled\n",
            "      - setting: authentication.anonymous.enabled\n        version: \">=1.10\"\n",
        );
        let e = compile(path, &text, None, &c).unwrap_err();
        assert!(e.message.contains("exactly one of `setting`"));
        assert_eq!(
            at(&text, &e),
            (line_of(&text, "        version:"), "version".to_owned())
        );
        // An unknown placeholder: the placeholder in the text that has it.
        let text = good.replace("on :{port}/metrics\"\nhelp", "on :{prot}/metrics\"\nhelp");
        let e = compile(path, &text, None, &c).unwrap_err();
        assert!(e.message.contains("unknown placeholder `{prot}`"));
        assert_eq!(
            at(&text, &e),
            (line_of(&text, "{prot}"), "{prot}".to_owned())
        );
        // A label of an unknown setting: its key.
        let text = good.replace(
            "  authorization.mode: \"requests",
            "  authorization.mod: \"requests",
        );
        let e = compile(path, &text, None, &c).unwrap_err();
        assert_eq!(
            at(&text, &e),
            (
                line_of(&text, "  authorization.mod:"),
                "authorization.mod".to_owned()
            )
        );
    }
}
