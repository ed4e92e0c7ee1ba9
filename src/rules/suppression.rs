//! Inline suppressions (`# promready: ignore[PR001] reason`): the findings
//! they silence, and PR011's findings for a suppression without a reason
//! or without a finding to suppress.

use super::{ForEach, Rule};
use crate::finding::{Finding, Label};
use crate::source::FileDb;
use crate::span::Loc;
use crate::suppress;

/// Marks findings that an inline comment suppresses, and reports comments
/// without a reason or without a finding.
pub(crate) fn apply_suppressions(files: &FileDb, findings: &mut Vec<Finding>, rules: &[Rule]) {
    let comments = suppress::comments(files);
    let mut used = vec![false; comments.len()];
    for f in findings.iter_mut() {
        let file = files.get(f.primary.loc.file);
        let line = file.line_col(f.primary.loc.span.start).0;
        for (i, c) in comments.iter().enumerate() {
            let near = c.file == f.primary.loc.file && (c.line == line || c.line + 1 == line);
            if near && c.rules.iter().any(|r| f.is_of(r)) {
                used[i] = true;
                f.suppressed = Some(if c.reason.is_empty() {
                    "no reason given".to_owned()
                } else {
                    c.reason.clone()
                });
            }
        }
    }
    let Some(rule) = rules
        .iter()
        .find(|r| r.for_each == Some(ForEach::SuppressionProblem))
    else {
        return;
    };
    for (i, c) in comments.iter().enumerate() {
        let which = c.rules.join(", ");
        let mut problems = Vec::new();
        if c.reason.is_empty() {
            problems.push(format!("the suppression of {which} gives no reason"));
        }
        if !used[i] {
            problems.push(format!(
                "the suppression of {which} matches no finding on its line or the next"
            ));
        }
        for problem in problems {
            let text = |t: &str| t.replace("{problem}", &problem);
            let message = rule
                .message
                .last()
                .map(|v| text(&v.text))
                .unwrap_or_default();
            let help = rule.help.last().map(|v| text(&v.text)).unwrap_or_default();
            let primary = Label {
                loc: Loc::new(c.file, c.span.clone()),
                text: problem.clone(),
            };
            findings.push(Finding::new(rule.id(), "promready", message, help, primary));
        }
    }
}
