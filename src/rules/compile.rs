//! Compiling a rule file: its schema, then every check serde cannot make
//! (identity, settings that exist, one operator per condition, known
//! placeholders), into a [`Rule`].

use std::collections::BTreeMap;
use std::path::Path;

use super::schema::{SerializableCondition, SerializableFix, SerializableRule, SerializableText};
use super::{Condition, FixPlan, Rule, Test, Variant, placeholders};
use crate::data::{DataError, ScalarText, from_data};
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
    "found",
    "wants",
    "example",
];

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

pub(super) fn compile(
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
}
