//! Whether the state a fix leads to is safe, judged on the model of that
//! state (the input scanned again with the fix applied), in one place for
//! every rule:
//!
//! - **every component still starts**: the fix adds no reason for a
//!   component to refuse to start (a flag its version refuses, Webhook
//!   authentication without a kubeconfig, a value of the wrong type, …);
//!   such a fix is refused, even with `--unsafe-fixes`;
//! - **nothing is more exposed**: the fix makes no unauthenticated or
//!   unauthorized listener reachable from the network that was not before
//!   (a kubelet moved off loopback while it authorizes everything, or serves
//!   the read-only port); such a fix is held back, with `--unsafe-fixes`
//!   too, until the finding the reason names is fixed first.

use std::collections::{BTreeMap, BTreeSet};

use crate::finding::Finding;
use crate::model::{ComponentSpec, Invocation};
use crate::rules::{ForEach, Rule};
use crate::target::Target;

/// What the check decides about a fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Safe,
    /// A component would not start; why.
    Breaks(String),
    /// Something would be reachable that was not; why, and what to fix first.
    Exposes(String),
}

/// One component's start problems and network exposures.
#[derive(Debug, Default)]
struct Facts {
    starts: BTreeSet<String>,
    exposes: BTreeSet<(String, String)>,
}

/// Compares the target before and after a fix.
pub(crate) fn judge(
    before: &Target,
    after: &Target,
    rules: &[Rule],
    components: &BTreeMap<String, ComponentSpec>,
) -> Verdict {
    let facts = |t: &Target| -> Vec<(String, Facts)> {
        t.invocations
            .iter()
            .enumerate()
            .map(|(i, inv)| {
                let spec = components.get(&inv.component);
                (inv.component.clone(), facts(t, i, inv, spec, rules))
            })
            .collect()
    };
    let (old, new) = (facts(before), facts(after));
    for (n, (component, now)) in new.iter().enumerate() {
        // The same component, in discovery order.
        let nth = new[..n].iter().filter(|(c, _)| c == component).count();
        let was = old
            .iter()
            .filter(|(c, _)| c == component)
            .nth(nth)
            .map(|(_, f)| f);
        let empty = Facts::default();
        let was = was.unwrap_or(&empty);
        if let Some(p) = now.starts.difference(&was.starts).next() {
            return Verdict::Breaks(format!("{component} would not start: {p}"));
        }
        if let Some((what, first)) = now.exposes.difference(&was.exposes).next() {
            return Verdict::Exposes(format!(
                "it would make {what} reachable from the network: {first}"
            ));
        }
    }
    Verdict::Safe
}

fn facts(
    t: &Target,
    index: usize,
    inv: &Invocation,
    spec: Option<&ComponentSpec>,
    rules: &[Rule],
) -> Facts {
    let refused: BTreeSet<&str> = rules
        .iter()
        .filter(|r| r.for_each == Some(ForEach::UnacceptedFlag))
        .map(|r| r.code.as_str())
        .collect();
    let mut starts: BTreeSet<String> = inv.problems.iter().map(|p| p.message.clone()).collect();
    starts.extend(
        t.findings
            .iter()
            .filter(|f: &&Finding| f.invocation == index && refused.contains(f.code.as_str()))
            .map(|f| f.message.clone()),
    );
    Facts {
        starts,
        exposes: exposures(inv, spec),
    }
}

/// What a kubelet serves without authentication or authorization to anyone
/// who can reach it, with the way to close it.
fn exposures(inv: &Invocation, spec: Option<&ComponentSpec>) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    if inv.component != "kubelet" {
        return out;
    }
    let value = |name: &str| inv.setting(name).and_then(|s| s.value.clone());
    // Only a complete configuration says what is reachable.
    let Some(address) = value("address") else {
        return out;
    };
    if crate::rules::all_loopback(&address) {
        return out;
    }
    // Unknown when the configuration is written at boot: the port's default.
    let port = value("port")
        .or_else(|| spec?.setting("port")?.default_flags.clone())
        .unwrap_or_default();
    if value("authorization.mode").as_deref() == Some("AlwaysAllow") {
        out.insert((
            format!("the kubelet API on :{port}, which authorizes every request (AlwaysAllow),"),
            "fix PR008 (kubelet-authorization-always-allow) first".to_owned(),
        ));
    }
    if let Some(p) = value("readOnlyPort").filter(|p| p != "0" && !p.is_empty()) {
        out.insert((
            format!("the read-only port {p}, which serves the kubelet API without authentication,"),
            "fix PR010 (kubelet-read-only-port) first".to_owned(),
        ));
    }
    // Before 1.11 cAdvisor listened on 4194 unless `--cadvisor-port=0`
    // (the setting's `earlier_default`).
    let version = inv.judged_version();
    let earlier = spec
        .and_then(|c| c.setting("cadvisor-port")?.earlier_default.as_ref())
        .filter(|(before, _)| (version.major, version.minor) < (before.major, before.minor))
        .map(|(_, value)| value.clone());
    let cadvisor = match inv.setting("cadvisor-port") {
        Some(s) if s.origin.is_explicit() => s.value.clone(),
        _ => earlier,
    };
    if let Some(p) = cadvisor.filter(|p| p != "0" && !p.is_empty()) {
        out.insert((
            format!("cAdvisor's web UI and API on :{p}, without authentication,"),
            "before 1.11 the kubelet opens it unless --cadvisor-port=0: keep the flag until the kubelet is upgraded to 1.12, and remove it then".to_owned(),
        ));
    }
    out
}
