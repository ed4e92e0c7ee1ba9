//! Evaluating rules against a component's effective settings.

use super::{Condition, ForEach, Rule, Test, Variant, placeholders};
use crate::finding::{Evidence, Finding, Fix, Label, Safety, Severity};
use crate::model::{ComponentSpec, Invocation, Origin, Refusal, Setting, Version, Window};
use crate::source::FileDb;
use crate::span::Loc;

/// What rules evaluate against: one invocation, its component and the
/// version assumed for it.
pub(crate) struct Subject<'a> {
    pub(crate) invocation: &'a Invocation,
    pub(crate) spec: &'a ComponentSpec,
    /// The version detected from evidence (never a guess).
    pub(crate) version: Option<Version>,
    pub(crate) files: &'a FileDb,
}

impl Subject<'_> {
    /// The versions the component's flags allow.
    fn window(&self) -> &Window {
        &self.invocation.window
    }

    /// The version rules are judged at: the detected one, else the newest
    /// the flags allow, else the newest of all.
    fn judged(&self) -> Version {
        self.window().judged(self.version)
    }

    /// `{version}` in messages.
    fn version_text(&self) -> String {
        match self.version {
            Some(v) => v.to_string(),
            None if self.window().newest().is_some() => self.window().describe(),
            None => "(version unknown)".to_owned(),
        }
    }
}

/// What `fix` needs to apply a fix whose correctness rests on the version.
pub(crate) const VERSION_HOLD: &str = "the fix depends on the Kubernetes version, which was not detected: set --kubernetes-version or `kubernetes-version:` in .promready.yaml to apply it";

/// Runs `rule` against `subject`.
pub(crate) fn evaluate(rule: &Rule, subject: &Subject<'_>) -> Vec<Finding> {
    match rule.for_each {
        Some(ForEach::UnacceptedFlag) => unaccepted_flags(rule, subject),
        // Made by the scan, which sees every file's comments.
        Some(ForEach::SuppressionProblem) => Vec::new(),
        Some(ForEach::ExtraArgsForm) => wrong_arg_forms(rule, subject),
        Some(ForEach::StartProblem) => start_problems(rule, subject),
        Some(ForEach::ShippedServingCertificate) => shipped_certificates(rule, subject),
        None => evaluate_one(rule, subject).into_iter().collect(),
    }
}

/// One finding per problem that stops the component at start, on the
/// token that causes it (else on what starts the component).
fn start_problems(rule: &Rule, subject: &Subject<'_>) -> Vec<Finding> {
    let inv = subject.invocation;
    inv.problems
        .iter()
        .map(|p| {
            let vars = |t: &str| {
                t.replace("{problem}", &p.message)
                    .replace("{component}", &inv.component)
            };
            item_finding(
                rule,
                subject,
                &inv.component,
                ("problem", format!("{} refuses this", inv.component)),
                p.loc.clone().unwrap_or_else(|| inv.start.clone()),
                &vars,
            )
        })
        .collect()
}

/// The finding of one item of a `for_each` rule: its message, help and
/// the label named `label` (else `default_label`), with the item's
/// placeholders filled by `vars`, at `loc`.
fn item_finding(
    rule: &Rule,
    subject: &Subject<'_>,
    component: &str,
    (label, default_label): (&str, String),
    loc: Loc,
    vars: &dyn Fn(&str) -> String,
) -> Finding {
    let mut assumed = false;
    let message = vars(&pick(&rule.message, subject, &mut assumed).unwrap_or_default());
    let help = vars(&pick(&rule.help, subject, &mut assumed).unwrap_or_default());
    let text = rule.labels.get(label).map_or(default_label, |t| vars(t));
    Finding::new(rule.id(), component, message, help, Label { loc, text })
}

/// The note on a finding judged without a detected version.
fn version_note(subject: &Subject<'_>) -> String {
    match subject.window().newest() {
        Some(newest) => format!(
            "the Kubernetes version was not detected; the flags bound it to {}, so {newest} was assumed (set --kubernetes-version to be exact)",
            subject.window().describe()
        ),
        None => "the Kubernetes version is unknown: the newest behaviour was assumed (set --kubernetes-version to be exact)".to_owned(),
    }
}

fn evaluate_one(rule: &Rule, subject: &Subject<'_>) -> Option<Finding> {
    if rule.component != subject.invocation.component {
        return None;
    }
    let mut assumed_newest = false;
    if !rule
        .when
        .iter()
        .all(|c| holds(c, subject, &mut assumed_newest))
    {
        return None;
    }
    let message = choose(&rule.message, subject, &mut assumed_newest);
    let help = choose(&rule.help, subject, &mut assumed_newest);
    let inv = subject.invocation;

    // A setting whose flag the judged version does not have cannot be what
    // decides (a 1.12 scheduler has no --bind-address): it is not located.
    let exists = |n: &String| {
        subject.spec.setting(n).is_none_or(|s| {
            s.flag.is_none()
                || inv.setting(n).is_some_and(|x| x.origin.is_explicit())
                || s.refusal(subject.judged(), s.default_flags.as_deref().unwrap_or(""))
                    .is_none()
        })
    };
    let located: Vec<(&String, &Setting)> = rule
        .locate
        .iter()
        .filter(|n| exists(n))
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
            // Every located setting has its default: point at what starts
            // the component, and say which default applied.
            let (name, s) = *located.first()?;
            let text = format!(
                "{} ({}: {})",
                label(rule, name, subject),
                s.origin.describe(subject.files),
                s.value
                    .as_deref()
                    .filter(|v| !v.is_empty())
                    .unwrap_or("unset")
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
    secondary.extend(via_label(&located, &primary, inv));
    let mut f = Finding::new(rule.id(), &inv.component, message, help, primary);
    f.secondary = secondary;
    f.evidence = located
        .iter()
        .map(|(n, s)| Evidence {
            setting: (*n).clone(),
            value: s.value.clone(),
            origin: s.origin.clone(),
        })
        .collect();
    if assumed_newest {
        f.notes.push(version_note(subject));
    }
    f.fix = rule
        .fix
        .as_ref()
        .map(|plan| resolve_fix(rule, plan, subject));
    Some(f)
}

/// Where the deciding token reached the component, when it came from a
/// variable.
fn via_label(
    located: &[(&String, &Setting)],
    primary: &Label,
    inv: &crate::model::Invocation,
) -> Option<Label> {
    let (_, s) = located
        .iter()
        .find(|(_, s)| s.origin.loc() == Some(&primary.loc))?;
    let Origin::Flag(f) = &s.origin else {
        return None;
    };
    let via = f.via.as_ref().filter(|v| **v != primary.loc)?;
    Some(Label {
        loc: via.clone(),
        text: format!("passed to {} here", inv.component),
    })
}

/// Why the version refuses a flag occurrence, and the version text the
/// message names.
fn refusal_of(subject: &Subject<'_>, index: usize) -> Option<(String, String, String)> {
    let inv = subject.invocation;
    let flag = &inv.flags[index];
    let spec = subject.spec.by_flag(&flag.name)?;
    if spec.reported_by.is_some() {
        return None;
    }
    if let Some(version) = subject.version {
        let refusal = spec.refusal(version, &flag.value)?;
        let reason = match &refusal {
            Refusal::Removed(v) => format!("removed in {v}"),
            Refusal::NotYet(v) => format!("only accepted from {v}"),
            Refusal::OnlyValues(v, values) => {
                format!("only `{}` is accepted since {v}", values.join("`, `"))
            }
        };
        let at = match &refusal {
            Refusal::Removed(v) | Refusal::OnlyValues(v, _) | Refusal::NotYet(v) => v.to_string(),
        };
        return Some((reason, at, version.to_string()));
    }
    // Without a detected version only a contradiction is certain: no
    // version that accepts most of the component's flags accepts this one.
    let own = spec.bound(&flag.value)?;
    let others = majority_window(subject);
    if others.meets(own.from, own.before) {
        return None;
    }
    let witness = |pick: &dyn Fn(&crate::model::Bound) -> bool| {
        others
            .bounds
            .iter()
            .find(|b| pick(b))
            .map(|b| format!("--{}", b.flag))
            .unwrap_or_default()
    };
    let (reason, at) = match (own.before, own.from) {
        (Some(before), _)
            if others
                .from
                .is_some_and(|f| (f.major, f.minor) >= (before.major, before.minor)) =>
        {
            (
                format!(
                    "refused from {before}, while {} needs {} or later",
                    witness(&|b| b.from == others.from),
                    others.from.map(|v| v.to_string()).unwrap_or_default()
                ),
                before.to_string(),
            )
        }
        (_, Some(from)) => (
            format!(
                "only accepted from {from}, while {} is refused from {}",
                witness(&|b| b.before == others.before),
                others.before.map(|v| v.to_string()).unwrap_or_default()
            ),
            from.to_string(),
        ),
        _ => return None,
    };
    Some((reason, at, others.describe()))
}

/// The window of the flags that most versions agree on: the versions that
/// accept the largest number of the component's bounding flags (the
/// newest such versions on a tie). When every flag fits one window, that
/// window; when they contradict each other, the window of the majority, so
/// that the odd flag out is the one reported.
fn majority_window(subject: &Subject<'_>) -> Window {
    let bounds: Vec<crate::model::Bound> = subject
        .invocation
        .flags
        .iter()
        .filter_map(|f| subject.spec.by_flag(&f.name)?.bound(&f.value))
        .collect();
    let key = |v: Version| (v.major, v.minor);
    let accepts = |b: &crate::model::Bound, v: Version| {
        b.from.is_none_or(|f| key(f) <= key(v)) && b.before.is_none_or(|h| key(v) < key(h))
    };
    let candidates = bounds
        .iter()
        .flat_map(|b| [b.from, b.before.and_then(Version::previous_minor)])
        .flatten()
        .chain(std::iter::once(Version::NEWEST));
    let best = candidates
        .map(|v| (bounds.iter().filter(|b| accepts(b, v)).count(), key(v), v))
        .max_by_key(|(n, k, _)| (*n, *k));
    match best {
        Some((_, _, v)) => Window::of(bounds.into_iter().filter(|b| accepts(b, v)).collect()),
        None => Window::default(),
    }
}

/// One finding per flag occurrence that the version refuses: with a
/// detected version, every flag it refuses; without one, the flags that no
/// version accepting the other flags accepts.
fn unaccepted_flags(rule: &Rule, subject: &Subject<'_>) -> Vec<Finding> {
    let inv = subject.invocation;
    let mut out = Vec::new();
    for (index, flag) in inv.flags.iter().enumerate() {
        let Some((reason, removed_in, version_text)) = refusal_of(subject, index) else {
            continue;
        };
        let Some(spec) = subject.spec.by_flag(&flag.name) else {
            continue;
        };
        let Some(loc) = flag.loc.clone() else {
            continue;
        };
        let vars = |t: &str| {
            let mut s = render(&t.replace("{version}", &version_text), subject);
            for (k, v) in [
                ("flag", flag.name.as_str()),
                ("value", flag.value.as_str()),
                ("component", inv.component.as_str()),
                ("removed_in", removed_in.as_str()),
                ("reason", reason.as_str()),
            ] {
                s = s.replace(&format!("{{{k}}}"), v);
            }
            s
        };
        let mut assumed = subject.version.is_none();
        let message = vars(&pick(&rule.message, subject, &mut assumed).unwrap_or_default());
        let help = vars(&pick(&rule.help, subject, &mut assumed).unwrap_or_default());
        let label = rule
            .labels
            .get("flag")
            .map_or_else(|| format!("--{} is {reason}", flag.name), |t| vars(t));
        let mut secondary = Vec::new();
        if let Some(via) = flag.via.clone().filter(|v| *v != loc) {
            secondary.push(Label {
                loc: via,
                text: format!("passed to {} here", inv.component),
            });
        }
        let mut f = Finding::new(
            rule.id(),
            &inv.component,
            message,
            help,
            Label { loc, text: label },
        );
        f.secondary = secondary;
        f.evidence = vec![Evidence {
            setting: spec.name.clone(),
            value: Some(flag.value.clone()),
            origin: Origin::Flag(flag.clone()),
        }];
        if subject.version.is_none() {
            f.notes.push(format!(
                "the Kubernetes version was not detected; the other flags of {} bound it to {version_text}",
                inv.component
            ));
        }
        f.fix = rule.fix.as_ref().map(|x| {
            let plan = super::FixPlan {
                remove: vec![flag.name.clone()],
                ..x.clone()
            };
            resolve_fix(rule, &plan, subject)
        });
        out.push(f);
    }
    out
}

/// One finding per kubeadm `extraArgs` in a form its document's API
/// version rejects, on its key. Every invocation read from the document
/// carries the document's list; the scan keeps one finding per key.
/// One finding per serving certificate the image carries where the
/// component reuses it, on its PEM block (its key is named, never shown).
fn shipped_certificates(rule: &Rule, subject: &Subject<'_>) -> Vec<Finding> {
    let inv = subject.invocation;
    let path = |loc: &Loc| subject.files.get(loc.file).path.clone();
    inv.shipped
        .iter()
        .map(|c| {
            let certificate = match &c.read {
                Ok(f) => format!(
                    "{}, {}issued to {}{}, valid until {}",
                    path(&c.loc),
                    if f.self_signed { "self-signed, " } else { "" },
                    f.subject,
                    if f.sans.is_empty() {
                        " with no subject alternative names".to_owned()
                    } else {
                        format!(" for {}", f.sans.join(", "))
                    },
                    f.not_after
                ),
                Err(why) => format!("{} ({why})", path(&c.loc)),
            };
            let key = match &c.key {
                Some(k) => format!("key {k}"),
                None => "its key in the same file".to_owned(),
            };
            let place = match &c.configured {
                Some(setting) => format!("named by its {setting}"),
                None => {
                    "in its certificate directory, where it reuses them at every start".to_owned()
                }
            };
            let vars = |t: &str| {
                t.replace("{certificate}", &certificate)
                    .replace("{key}", &key)
                    .replace("{where}", &place)
                    .replace("{component}", &inv.component)
            };
            item_finding(
                rule,
                subject,
                &inv.component,
                ("certificate", "shipped in the image".to_owned()),
                c.loc.clone(),
                &vars,
            )
        })
        .collect()
}

fn wrong_arg_forms(rule: &Rule, subject: &Subject<'_>) -> Vec<Finding> {
    let inv = subject.invocation;
    inv.wrong_arg_forms
        .iter()
        .map(|w| {
            let vars = |t: &str| {
                let mut s = t.to_owned();
                for (k, v) in [
                    ("path", w.path.as_str()),
                    ("api_version", w.api_version.as_str()),
                    ("refused", w.refused),
                    ("found", w.found.describe()),
                    ("wants", w.wants.describe()),
                    ("example", w.example.as_str()),
                ] {
                    s = s.replace(&format!("{{{k}}}"), v);
                }
                s
            };
            item_finding(
                rule,
                subject,
                "kubeadm",
                ("key", format!("{} here", w.found.describe())),
                w.key.clone(),
                &vars,
            )
        })
        .collect()
}

/// The flags that later versions refuse, for a component whose version
/// was not detected: what promready did not report, said as a note.
pub(crate) fn window_note(subject: &Subject<'_>) -> Option<String> {
    let window = subject.window();
    if subject.version.is_some() || window.is_empty() {
        return None;
    }
    let before = window.before?;
    let mut later: Vec<(Version, String)> = window
        .bounds
        .iter()
        .filter_map(|b| Some(((b.before?.major, b.before?.minor), b.flag.clone())))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|((major, minor), flag)| {
            (
                Version {
                    major,
                    minor,
                    patch: None,
                },
                flag,
            )
        })
        .collect();
    later.dedup_by(|a, b| a.1 == b.1);
    let first: Vec<String> = later
        .iter()
        .filter(|(v, _)| *v == before)
        .map(|(_, f)| format!("--{f}"))
        .collect();
    let rest: Vec<String> = later
        .iter()
        .filter(|(v, _)| *v != before)
        .map(|(v, f)| format!("--{f} from {v}"))
        .collect();
    let rest = if rest.is_empty() {
        String::new()
    } else {
        format!(" (later also {})", rest.join(", "))
    };
    Some(format!(
        "the Kubernetes version was not detected: the flags of {} fit {}; on {before} or later {} {} it{rest}; set --kubernetes-version or `kubernetes-version:` in .promready.yaml to check the flags against the version the image ships",
        subject.invocation.component,
        window.describe(),
        first.join(", "),
        if first.len() == 1 { "stops" } else { "stop" },
    ))
}

/// Whether a fix is right only for some versions: it removes a flag, sets
/// a flag that not every version accepts, or belongs to a rule whose truth
/// depends on the version.
fn depends_on_version(
    rule: &Rule,
    fix: &super::FixPlan,
    spec: &ComponentSpec,
    window: &Window,
) -> bool {
    fn versioned(c: &Condition) -> bool {
        match c {
            Condition::Version(_) => true,
            Condition::Any(cs) | Condition::All(cs) => cs.iter().any(versioned),
            Condition::Setting { .. } => false,
        }
    }
    rule.for_each == Some(ForEach::UnacceptedFlag)
        || !fix.remove.is_empty()
        || rule.when.iter().any(versioned)
        // A flag to set that some version the window allows refuses.
        || fix.set.iter().any(|(name, value)| {
            spec.setting(name).is_some_and(|s| {
                s.flag.is_some()
                    && s.bound(value)
                        .is_some_and(|b| window.is_empty() || !window.within(&b))
            })
        })
}

impl Rule {
    /// What a finding of this rule carries of it: code, name and severity.
    pub(crate) fn id(&self) -> (&str, &str, Severity) {
        (&self.code, &self.name, self.severity)
    }
}

/// The rule's fix plan resolved for a finding's invocation: its safety
/// there, and why it is held back when the version it depends on was not
/// detected.
fn resolve_fix(rule: &Rule, plan: &super::FixPlan, subject: &Subject<'_>) -> Fix {
    let held =
        subject.version.is_none() && depends_on_version(rule, plan, subject.spec, subject.window());
    Fix {
        safety: if held {
            Safety::Unsafe
        } else {
            safety(plan, subject)
        },
        held_because: held.then(|| VERSION_HOLD.to_owned()),
        set: plan.set.clone(),
        remove: plan.remove.clone(),
        description: plan.description.clone(),
    }
}

/// The fix's safety here: unsafe plans become safe where their `safe_when`
/// conditions hold.
fn safety(f: &super::FixPlan, subject: &Subject<'_>) -> Safety {
    let mut assumed = false;
    match f.safety {
        Safety::Unsafe
            if !f.safe_when.is_empty()
                && f.safe_when.iter().all(|c| holds(c, subject, &mut assumed)) =>
        {
            Safety::Safe
        }
        s => s,
    }
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
                // No detected version: judge for the newest one the flags
                // allow, and say so.
                *assumed_newest = true;
                subject.judged().satisfies(constraint)
            }
        },
        Condition::Any(cs) => cs.iter().any(|c| holds(c, subject, assumed_newest)),
        Condition::All(cs) => cs.iter().all(|c| holds(c, subject, assumed_newest)),
        Condition::Setting { name, test } => {
            let Some(s) = subject.invocation.setting(name) else {
                return false;
            };
            let value = s.value.as_deref();
            match test {
                // What kubeadm passes on the command line it generates is set.
                Test::Set(want) => {
                    let by_kubeadm = value.is_some()
                        && matches!(
                            s.origin,
                            Origin::Default {
                                mode: crate::model::DefaultMode::Kubeadm
                                    | crate::model::DefaultMode::K3s
                                    | crate::model::DefaultMode::Rke2,
                                ..
                            }
                        );
                    (s.origin.is_explicit() || by_kubeadm) == *want
                }
                Test::Equals(v) => value == Some(v.as_str()),
                Test::NotEquals(v) => value.is_some_and(|x| x != v),
                Test::OneOf(vs) => value.is_some_and(|x| vs.iter().any(|v| v == x)),
                Test::NoneOf(vs) => value.is_some_and(|x| vs.iter().all(|v| v != x)),
                Test::Loopback(want) => value
                    .filter(|x| !x.is_empty())
                    .is_some_and(|x| all_loopback(x) == *want),
                Test::UnsetOrLoopback(want) => {
                    value.is_none_or(|x| x.is_empty() || all_loopback(x)) == *want
                }
                Test::Unset(want) => {
                    let unknown = matches!(
                        s.origin,
                        Origin::Default {
                            mode: crate::model::DefaultMode::Unknown,
                            ..
                        }
                    );
                    !unknown && value.is_none_or(str::is_empty) == *want
                }
                Test::AllowsPath(path, want) => {
                    value.is_some_and(|x| allows_path(x, path) == *want)
                }
            }
        }
    }
}

/// Whether a comma-separated list of path patterns lets `path` through:
/// a pattern is a path, or a prefix ending in `*`, and a leading `/` is
/// optional on both (`NewAuthorizer` in k8s.io/apiserver
/// `pkg/authorization/path/path.go`, behind
/// `--authorization-always-allow-paths`).
fn allows_path(patterns: &str, path: &str) -> bool {
    let path = path.strip_prefix('/').unwrap_or(path);
    patterns.split(',').any(|p| {
        let p = p.strip_prefix('/').unwrap_or(p);
        match p.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => p == path,
        }
    })
}

fn pick(variants: &[Variant], subject: &Subject<'_>, assumed_newest: &mut bool) -> Option<String> {
    variants
        .iter()
        .find(|v| v.when.iter().all(|c| holds(c, subject, assumed_newest)))
        .map(|v| v.text.clone())
}

fn choose(variants: &[Variant], subject: &Subject<'_>, assumed_newest: &mut bool) -> String {
    render(
        &pick(variants, subject, assumed_newest).unwrap_or_default(),
        subject,
    )
}

/// Fills `{version}`, `{setting}` and `{setting#origin}` placeholders;
/// others are left for the caller.
fn render(text: &str, subject: &Subject<'_>) -> String {
    let mut out = text.to_owned();
    for name in placeholders(text) {
        let value = if name == "version" {
            subject.version_text()
        } else if let Some(setting) = name.strip_suffix("#origin") {
            match subject.invocation.setting(setting) {
                Some(s) => s.origin.describe(subject.files),
                None => continue,
            }
        } else {
            match subject.invocation.setting(name) {
                // A value nobody set in a partial configuration (a lone
                // environment file) is shown with the binary's default.
                Some(s) => s
                    .value
                    .clone()
                    .or_else(|| {
                        subject
                            .spec
                            .setting(name)
                            .and_then(|d| d.default_flags.clone())
                    })
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "unset".to_owned()),
                None => continue,
            }
        };
        out = out.replacen(&format!("{{{name}}}"), &value, 1);
    }
    out
}

/// The hosts named by an address (`127.0.0.1`, `[::1]:10249`, `:10249`),
/// a URL, or a comma-separated list of those.
pub(crate) fn hosts(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let rest = item.split_once("://").map_or(item, |(_, r)| r);
            let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
            let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            if let Some(v6) = hostport.strip_prefix('[') {
                return v6.split_once(']').map_or(v6, |(h, _)| h);
            }
            match hostport.matches(':').count() {
                1 => hostport.split_once(':').map_or(hostport, |(h, _)| h),
                _ => hostport,
            }
        })
        .collect()
}

/// Whether every host an address or URL list names is loopback (an empty
/// host means all interfaces).
pub(crate) fn all_loopback(value: &str) -> bool {
    let hs = hosts(value);
    !hs.is_empty() && hs.iter().all(|h| is_loopback(h))
}

/// Whether a host name or address only accepts connections from the host itself.
pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim();
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_allowed_paths_match_as_the_api_server_matches_them() {
        for (patterns, allowed) in [
            ("/healthz,/readyz,/livez", false),
            ("/healthz,/metrics", true),
            ("metrics", true),
            ("/metrics*", true),
            ("/met*", true),
            ("*", true),
            ("/metrics/slis", false),
            ("/metric", false),
            (" /metrics", false),
            ("", false),
        ] {
            assert_eq!(allows_path(patterns, "/metrics"), allowed, "{patterns:?}");
        }
    }

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
            "127.0.0.1:10249",
            "[::1]:10249",
            "http://127.0.0.1:2381",
            "http://127.0.0.1:2381,http://[::1]:2381",
            "https://user@localhost:2379/x",
        ] {
            assert!(all_loopback(a), "{a}");
        }
        for a in [
            "0.0.0.0",
            "::",
            "10.0.0.1",
            "",
            ":10249",
            "0.0.0.0:10249",
            "127.0.0.1.example",
            "http://127.0.0.1:2381,http://10.0.0.5:2381",
            "http://:2381",
        ] {
            assert!(!all_loopback(a), "{a}");
        }
    }
}
