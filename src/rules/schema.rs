//! The rule files' schema: serde structs that mirror the YAML (the
//! `Serializable…` ones are seen by the compiler only), and the
//! documentation that the compiled [`Rule`](super::Rule) keeps as written.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::data::ScalarText;
use crate::finding::{Safety, Severity};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SerializableCondition {
    pub(super) setting: Option<String>,
    pub(super) version: Option<String>,
    pub(super) equals: Option<ScalarText>,
    pub(super) not_equals: Option<ScalarText>,
    pub(super) one_of: Option<Vec<ScalarText>>,
    pub(super) none_of: Option<Vec<ScalarText>>,
    pub(super) loopback: Option<bool>,
    pub(super) unset_or_loopback: Option<bool>,
    pub(super) set: Option<bool>,
    pub(super) unset: Option<bool>,
    pub(super) allows_path: Option<String>,
    pub(super) forbids_path: Option<String>,
    pub(super) any: Option<Vec<SerializableCondition>>,
    pub(super) all: Option<Vec<SerializableCondition>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SerializableVariant {
    pub(super) if_version: Option<String>,
    #[serde(default)]
    pub(super) when: Vec<SerializableCondition>,
    pub(super) text: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum SerializableText {
    One(String),
    Variants(Vec<SerializableVariant>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SerializableFix {
    pub(super) safety: Safety,
    #[serde(default)]
    pub(super) safe_when: Vec<SerializableCondition>,
    #[serde(default)]
    pub(super) set: BTreeMap<String, ScalarText>,
    #[serde(default)]
    pub(super) remove: Vec<String>,
    pub(super) description: String,
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
pub(super) struct SerializableRule {
    pub(super) code: String,
    pub(super) name: String,
    pub(super) component: String,
    pub(super) severity: Severity,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    pub(super) summary: String,
    pub(super) for_each: Option<ForEach>,
    #[serde(default)]
    pub(super) when: Vec<SerializableCondition>,
    #[serde(default)]
    pub(super) locate: Vec<String>,
    #[serde(default)]
    pub(super) labels: BTreeMap<String, String>,
    pub(super) message: SerializableText,
    pub(super) help: SerializableText,
    pub(super) fix: Option<SerializableFix>,
    pub(super) docs: Docs,
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
    /// Every serving certificate and key the image carries where the
    /// component reuses them.
    ShippedServingCertificate,
}
