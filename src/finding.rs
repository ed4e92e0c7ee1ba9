//! Findings: what a rule found, where, and why.

use crate::model::Origin;
use crate::rules::{FixPlan, Rule, Severity};
use crate::span::Loc;

/// A labelled location.
#[derive(Debug, Clone)]
pub(crate) struct Label {
    pub(crate) loc: Loc,
    pub(crate) text: String,
}

/// The provenance of one setting a finding rests on.
#[derive(Debug, Clone)]
pub(crate) struct Evidence {
    pub(crate) setting: String,
    pub(crate) value: Option<String>,
    pub(crate) origin: Origin,
}

/// One problem found by a rule.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) severity: Severity,
    pub(crate) component: String,
    pub(crate) message: String,
    pub(crate) help: String,
    /// The token that decides the finding.
    pub(crate) primary: Label,
    /// Context: the other half of the story, where a variable was expanded.
    pub(crate) secondary: Vec<Label>,
    pub(crate) evidence: Vec<Evidence>,
    /// Assumptions the rule made (an unknown version, say).
    pub(crate) notes: Vec<String>,
    pub(crate) fix: Option<FixPlan>,
    /// The fix's safety for this invocation (an unsafe plan can be safe
    /// here, e.g. the token webhook on a kubelet that has a kubeconfig).
    pub(crate) safety: Option<crate::rules::Safety>,
    /// Why the fix is held back beyond its rule's own safety (a version
    /// that was not detected).
    pub(crate) held_because: Option<String>,
    /// Index of the invocation in its target.
    pub(crate) invocation: usize,
    /// The reason given by an inline suppression, if one applies.
    pub(crate) suppressed: Option<String>,
}

impl Finding {
    /// A finding of `rule` about `component`, decided at `primary`; context,
    /// evidence, notes and the fix are added by the caller.
    pub(crate) fn new(
        rule: &Rule,
        component: &str,
        message: String,
        help: String,
        primary: Label,
    ) -> Self {
        Finding {
            code: rule.code.clone(),
            name: rule.name.clone(),
            severity: rule.severity,
            component: component.to_owned(),
            message,
            help,
            primary,
            secondary: Vec::new(),
            evidence: Vec::new(),
            notes: Vec::new(),
            fix: None,
            safety: None,
            held_because: None,
            invocation: 0,
            suppressed: None,
        }
    }
}
