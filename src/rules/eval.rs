//! Evaluating rules against a component's effective settings.

use super::{Condition, Rule, Test, Variant, placeholders};
use crate::finding::{Evidence, Finding, Label};
use crate::model::{Invocation, Origin, Setting, Version};
use crate::source::FileDb;

/// What rules evaluate against: one invocation and the version assumed.
pub(crate) struct Subject<'a> {
    pub(crate) invocation: &'a Invocation,
    pub(crate) version: Option<Version>,
    pub(crate) files: &'a FileDb,
}

/// Runs `rule` against `subject`, returning a finding if every condition holds.
pub(crate) fn evaluate(rule: &Rule, subject: &Subject<'_>) -> Option<Finding> {
    if rule.component != subject.invocation.component {
        return None;
    }
    let mut assumed_newest = false;
    for c in &rule.when {
        if !holds(c, subject, &mut assumed_newest) {
            return None;
        }
    }
    let message = choose(&rule.message, subject, &mut assumed_newest);
    let help = choose(&rule.help, subject, &mut assumed_newest);
    let inv = subject.invocation;

    let located: Vec<(&String, &Setting)> = rule
        .locate
        .iter()
        .filter_map(|n| Some((n, inv.setting(n)?)))
        .collect();
    let explicit: Vec<&(&String, &Setting)> = located
        .iter()
        .filter(|(_, s)| s.origin.loc().is_some())
        .collect();
    let (primary, rest) = match explicit.split_first() {
        Some((&&(name, s), rest)) => {
            let loc = s.origin.loc().cloned().unwrap_or_else(|| inv.start.clone());
            let text = label(rule, name, subject);
            (
                Label { loc, text },
                rest.iter().map(|&&(n, s)| (n, s)).collect::<Vec<_>>(),
            )
        }
        None => {
            // Every located setting has its default: point at the command
            // that starts the component, and say which default applied.
            let (name, s) = located[0];
            let text = format!(
                "{} ({}: {})",
                label(rule, name, subject),
                s.origin.describe(subject.files),
                s.value.as_deref().unwrap_or("unset")
            );
            (
                Label {
                    loc: inv.start.clone(),
                    text,
                },
                Vec::new(),
            )
        }
    };
    let mut secondary: Vec<Label> = rest
        .into_iter()
        .filter_map(|(name, s)| {
            Some(Label {
                loc: s.origin.loc()?.clone(),
                text: label(rule, name, subject),
            })
        })
        .collect();
    // Where the deciding token was passed to the component, when it came
    // from a variable.
    if let Some(Origin::Flag(f)) = located
        .iter()
        .find(|(_, s)| s.origin.loc() == Some(&primary.loc))
        .map(|(_, s)| &s.origin)
        && let Some(via) = &f.via
        && *via != primary.loc
    {
        secondary.push(Label {
            loc: via.clone(),
            text: "passed to the kubelet here".to_owned(),
        });
    }
    let mut notes = Vec::new();
    if assumed_newest {
        notes.push("the Kubernetes version is unknown: the newest behaviour was assumed (set --kubernetes-version to be exact)".to_owned());
    }
    Some(Finding {
        code: rule.code.clone(),
        name: rule.name.clone(),
        severity: rule.severity,
        component: inv.component.clone(),
        message,
        help,
        primary,
        secondary,
        evidence: located
            .iter()
            .map(|(n, s)| Evidence {
                setting: (*n).clone(),
                value: s.value.clone(),
                origin: s.origin.clone(),
            })
            .collect(),
        notes,
        fix: rule.fix.clone(),
    })
}

fn label(rule: &Rule, setting: &str, subject: &Subject<'_>) -> String {
    match rule.labels.get(setting) {
        Some(t) => render(t, subject),
        None => format!(
            "{setting} is {}",
            subject
                .invocation
                .setting(setting)
                .and_then(|s| s.value.as_deref())
                .unwrap_or("unset")
        ),
    }
}

fn holds(c: &Condition, subject: &Subject<'_>, assumed_newest: &mut bool) -> bool {
    match c {
        Condition::Version(constraint) => match subject.version {
            Some(v) => v.satisfies(constraint),
            None => {
                // Unknown version: assume the newest behaviour, and say so.
                *assumed_newest = true;
                Version {
                    major: u32::MAX,
                    minor: u32::MAX,
                    patch: None,
                }
                .satisfies(constraint)
            }
        },
        Condition::Setting { name, test } => {
            let Some(s) = subject.invocation.setting(name) else {
                return false;
            };
            match test {
                Test::Set(want) => s.origin.is_explicit() == *want,
                Test::Equals(v) => s.value.as_deref() == Some(v.as_str()),
                Test::NotEquals(v) => s.value.as_deref().is_some_and(|x| x != v),
                Test::OneOf(vs) => s
                    .value
                    .as_deref()
                    .is_some_and(|x| vs.iter().any(|v| v == x)),
                Test::Loopback(want) => s.value.as_deref().is_some_and(|x| is_loopback(x) == *want),
            }
        }
    }
}

fn choose(variants: &[Variant], subject: &Subject<'_>, assumed_newest: &mut bool) -> String {
    let text = variants
        .iter()
        .find(|v| v.when.iter().all(|c| holds(c, subject, assumed_newest)))
        .map_or("", |v| v.text.as_str());
    render(text, subject)
}

/// Fills `{version}`, `{setting}` and `{setting#origin}` placeholders.
fn render(text: &str, subject: &Subject<'_>) -> String {
    let mut out = text.to_owned();
    for name in placeholders(text) {
        let value = if name == "version" {
            subject
                .version
                .map_or_else(|| "(version unknown)".to_owned(), |v| v.to_string())
        } else if let Some(setting) = name.strip_suffix("#origin") {
            subject
                .invocation
                .setting(setting)
                .map_or_else(String::new, |s| s.origin.describe(subject.files))
        } else {
            subject
                .invocation
                .setting(name)
                .and_then(|s| s.value.clone())
                .unwrap_or_else(|| "unset".to_owned())
        };
        out = out.replacen(&format!("{{{name}}}"), &value, 1);
    }
    out
}

/// Whether an address only accepts connections from the host itself.
pub(crate) fn is_loopback(addr: &str) -> bool {
    let host = addr.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.split_once(']'))
        .map_or(host, |(h, _)| h);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_addresses() {
        for a in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
            "0:0:0:0:0:0:0:1",
        ] {
            assert!(is_loopback(a), "{a}");
        }
        for a in ["0.0.0.0", "::", "10.0.0.1", "", "127.0.0.1.example"] {
            assert!(!is_loopback(a), "{a}");
        }
    }
}
