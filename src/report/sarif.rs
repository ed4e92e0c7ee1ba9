//! SARIF 2.1.0 output for code scanning.
//!
//! `ruleId` is the rule code; artifact URIs are in-image paths relative to
//! the scanned root; `partialFingerprints` are computed here (rootfs files
//! are usually not in the repository, so the uploader cannot compute them).

use serde_json::{Value, json};

use super::{Position, all_findings};
use crate::finding::Finding;
use crate::rules::{Rule, Severity};
use crate::scan::Target;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn rule(r: &Rule) -> Value {
    let mut tags = r.tags.clone();
    tags.push(r.component.clone());
    json!({
        "id": r.code,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": r.docs.what_it_checks.trim()},
        "help": {"text": super::rules::explain(r), "markdown": super::rules::markdown(r)},
        "helpUri": r.docs.references.first().map(|x| x.url.clone()),
        "defaultConfiguration": {"level": level(r.severity)},
        "properties": {"tags": tags},
    })
}

fn location(p: &Position, message: Option<&str>) -> Value {
    let mut v = json!({
        "physicalLocation": {
            "artifactLocation": {"uri": p.path},
            "region": {
                "startLine": p.line,
                "startColumn": p.column,
                "endLine": p.end_line,
                "endColumn": p.end_column,
                "byteOffset": p.byte_range[0],
                "byteLength": p.byte_range[1] - p.byte_range[0],
            },
        },
    });
    if let Some(m) = message {
        v["message"] = json!({"text": m});
    }
    v
}

/// A stable fingerprint: rule, path and the text of the primary line (so it
/// survives lines moving), plus which occurrence of that it is.
fn fingerprint(t: &Target, f: &Finding, occurrence: usize) -> String {
    let file = t.files.get(f.primary.loc.file);
    let (line, _) = file.line_col(f.primary.loc.span.start);
    let text = file
        .text
        .lines()
        .nth(line - 1)
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in f
        .code
        .bytes()
        .chain([0])
        .chain(file.path.bytes())
        .chain([0])
        .chain(text.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}:{occurrence}")
}

/// Renders the scan as a SARIF log.
pub(crate) fn render(targets: &[Target], rules: &[Rule]) -> String {
    let mut seen: Vec<String> = Vec::new();
    let results: Vec<Value> = all_findings(targets)
        .map(|(t, f)| {
            let files = &t.files;
            let base = fingerprint(t, f, 0);
            let occurrence = seen.iter().filter(|s| **s == base).count() + 1;
            seen.push(base);
            json!({
                "ruleId": f.code,
                "ruleIndex": rules.iter().position(|r| r.code == f.code),
                "level": level(f.severity),
                "message": {"text": format!("{}\n{}", f.message, f.help)},
                "locations": [location(&Position::of(files, &f.primary.loc), Some(&f.primary.text))],
                "relatedLocations": f.secondary.iter().enumerate().map(|(i, l)| {
                    let mut v = location(&Position::of(files, &l.loc), Some(&l.text));
                    v["id"] = json!(i + 1);
                    v
                }).collect::<Vec<_>>(),
                "partialFingerprints": {"primaryLocationLineHash": fingerprint(t, f, occurrence)},
            })
        })
        .collect();
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": env!("CARGO_PKG_NAME"),
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(rule).collect::<Vec<_>>(),
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
