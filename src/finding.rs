//! Findings: what a rule found, where, and why.

use serde::Deserialize;

use crate::model::Origin;
use crate::span::Loc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    /// What a scraper must be set up for, where nothing is wrong on the
    /// node (a self-signed serving certificate); it fails a run only with
    /// `--fail-on note`.
    Note,
    Warning,
    Error,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
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

/// A finding's fix, resolved by the rule evaluator for the finding's
/// invocation: what to set and remove, and whether it may be applied
/// without `--unsafe-fixes` here.
#[derive(Debug, Clone)]
pub(crate) struct Fix {
    /// The safety for this invocation: an unsafe plan can be safe here
    /// (the token webhook on a kubelet that has a kubeconfig), and a safe
    /// one unsafe (it depends on a version that was not detected).
    pub(crate) safety: Safety,
    /// Why the fix is held back beyond its rule's own safety.
    pub(crate) held_because: Option<String>,
    /// Settings and the values to give them.
    pub(crate) set: Vec<(String, String)>,
    /// Flags to remove.
    pub(crate) remove: Vec<String>,
    pub(crate) description: String,
}

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
    pub(crate) fix: Option<Fix>,
    /// Index of the invocation in its target.
    pub(crate) invocation: usize,
    /// The reason given by an inline suppression, if one applies.
    pub(crate) suppressed: Option<String>,
}

impl Finding {
    /// A finding of the rule `code` (`name`) about `component`, decided at
    /// `primary`; context, evidence, notes and the fix are added by the
    /// caller.
    pub(crate) fn new(
        (code, name, severity): (&str, &str, Severity),
        component: &str,
        message: String,
        help: String,
        primary: Label,
    ) -> Self {
        Finding {
            code: code.to_owned(),
            name: name.to_owned(),
            severity,
            component: component.to_owned(),
            message,
            help,
            primary,
            secondary: Vec::new(),
            evidence: Vec::new(),
            notes: Vec::new(),
            fix: None,
            invocation: 0,
            suppressed: None,
        }
    }

    /// Whether `reference` (a code in any case, or a name) names the
    /// finding's rule.
    pub(crate) fn is_of(&self, reference: &str) -> bool {
        reference.eq_ignore_ascii_case(&self.code) || reference == self.name
    }
}
