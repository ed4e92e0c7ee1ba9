//! Rules are data: `rules/*.yaml`, one file per rule, validated on load.
//!
//! - [`schema`]: the serde structs (`Serializable…`) that mirror the YAML;
//!   nothing outside this module sees them;
//! - [`load`]: the built-in rules and those of `--rules` directories;
//! - [`compile`]: validation, into [`Rule`], the checked form the engine
//!   uses;
//! - [`eval`]: evaluating rules against a component's settings.

mod compile;
mod eval;
mod load;
mod schema;
mod suppression;

use std::collections::BTreeMap;

pub(crate) use eval::{Subject, all_loopback, evaluate, window_note};
pub(crate) use load::{RuleError, load};
pub(crate) use schema::{Docs, ForEach};
pub(crate) use suppression::apply_suppressions;

use crate::finding::{Safety, Severity};
use crate::model::Constraint;

/// A test on a setting's effective value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Test {
    Equals(String),
    NotEquals(String),
    OneOf(Vec<String>),
    /// The value is known and none of these.
    NoneOf(Vec<String>),
    Loopback(bool),
    /// Unset (or empty), or loopback.
    UnsetOrLoopback(bool),
    /// Whether a flag or config file set it (as opposed to a default).
    Set(bool),
    /// Whether it is known to have no value: empty, or absent with no
    /// default (a setting whose defaults are unknown is neither).
    Unset(bool),
    /// Whether one of its comma-separated path patterns (exact, or a
    /// prefix ending in `*`) matches this path (`true`), or the value is
    /// known and none does (`false`).
    AllowsPath(String, bool),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    Setting { name: String, test: Test },
    Version(Constraint),
    Any(Vec<Condition>),
    All(Vec<Condition>),
}

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
