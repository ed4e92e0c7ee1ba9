//! Rule listings and documentation (`promready rules`, `promready explain`,
//! SARIF rule help): all generated from the rule files.

use std::fmt::Write as _;

use serde_json::json;

use crate::rules::Rule;

/// The rule's documentation as Markdown, in fixed sections.
pub(crate) fn markdown(r: &Rule) -> String {
    let d = &r.docs;
    let mut md = format!("# {} {}\n\n{}.\n\n", r.code, r.name, r.summary);
    let _ = writeln!(
        md,
        "Severity: {} · Component: {} · Tags: {}",
        r.severity.as_str(),
        r.component,
        r.tags.join(", ")
    );
    if let Some(f) = &r.fix {
        let safety = match f.safety {
            crate::finding::Safety::Safe => "safe",
            crate::finding::Safety::Unsafe => "unsafe",
        };
        let _ = writeln!(md, "Fix ({safety}): {}", f.description);
    }
    let sections = [
        ("What it checks", Some(&d.what_it_checks)),
        ("Why it matters", Some(&d.why_it_matters)),
        ("Example", Some(&d.example)),
        ("Fix", Some(&d.fix)),
        ("Conflicts and trade-offs", d.conflicts.as_ref()),
    ];
    for (title, body) in sections {
        if let Some(body) = body {
            let _ = write!(md, "\n## {title}\n\n{}\n", body.trim());
        }
    }
    if !d.references.is_empty() {
        md.push_str("\n## References\n\n");
        for reference in &d.references {
            let _ = writeln!(md, "- [{}]({})", reference.title, reference.url);
        }
    }
    md
}

/// The documentation for a terminal: Markdown, with links spelled out.
pub(crate) fn explain(r: &Rule) -> String {
    let mut out = markdown(r);
    if !r.docs.references.is_empty() {
        let at = out.rfind("\n## References\n\n").unwrap_or(out.len());
        out.truncate(at);
        out.push_str("\n## References\n\n");
        for reference in &r.docs.references {
            let _ = writeln!(out, "- {}\n  {}", reference.title, reference.url);
        }
    }
    out
}

/// One line per rule.
pub(crate) fn list(rules: &[Rule]) -> String {
    let width = rules.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in rules {
        let _ = writeln!(
            out,
            "{}  {:<7}  {:<width$}  {}",
            r.code,
            r.severity.as_str(),
            r.name,
            r.summary
        );
    }
    out
}

/// A fix as JSON: its safety, what it sets and what it removes.
pub(crate) fn fix_json(
    safety: crate::finding::Safety,
    description: &str,
    set: &[(String, String)],
    remove: &[String],
) -> serde_json::Value {
    json!({
        "safety": safety,
        "description": description,
        "set": set.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "remove": remove,
    })
}

/// The rule list as JSON.
pub(crate) fn list_json(rules: &[Rule]) -> String {
    let v: Vec<_> = rules
        .iter()
        .map(|r| {
            json!({
                "code": r.code,
                "name": r.name,
                "component": r.component,
                "severity": r.severity,
                "tags": r.tags,
                "summary": r.summary,
                "fix": r.fix.as_ref().map(|f| fix_json(f.safety, &f.description, &f.set, &f.remove)),
                "references": r.docs.references,
                "source": r.origin,
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}
