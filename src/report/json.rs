//! JSON output. The schema is versioned (`schema_version`); fields are only
//! ever added within a version. See the README for the full description.

use serde_json::{Value, json};

use super::{Position, all_findings, counts};
use crate::finding::Finding;
use crate::model::{Invocation, Origin};
use crate::source::FileDb;
use crate::target::Target;

pub(crate) const SCHEMA_VERSION: u32 = 1;

pub(crate) fn origin(files: &FileDb, o: &Origin) -> Value {
    let pos = |l: &crate::span::Loc| Position::of(files, l);
    match o {
        Origin::Flag(f) => json!({
            "kind": "flag",
            "flag": f.name,
            "location": f.loc.as_ref().map(pos),
            "value_location": f.value_loc.as_ref().map(pos),
            "expanded_at": f.via.as_ref().map(pos),
        }),
        Origin::Config { key, value } => json!({
            "kind": "config",
            "key_location": pos(key),
            "location": pos(value),
        }),
        Origin::Default { mode, reason } => {
            json!({"kind": "default", "mode": mode, "reason": reason})
        }
        Origin::Unset => json!({"kind": "unset"}),
    }
}

fn component(files: &FileDb, inv: &Invocation) -> Value {
    let settings: serde_json::Map<String, Value> = inv
        .settings
        .iter()
        .map(|(name, s)| {
            (
                name.clone(),
                json!({"value": s.value, "origin": origin(files, &s.origin)}),
            )
        })
        .collect();
    json!({
        "component": inv.component,
        "layout": inv.layout,
        "version": inv.version,
        "version_window": inv.window,
        "start": Position::of(files, &inv.start),
        "defaults": inv.defaults,
        "files": inv.files.iter().map(|&id| files.get(id).path.clone()).collect::<Vec<_>>(),
        "settings": settings,
    })
}

fn finding(t: &Target, f: &Finding) -> Value {
    let files = &t.files;
    json!({
        "target": t.input.display().to_string(),
        "code": f.code,
        "name": f.name,
        "severity": f.severity,
        "component": f.component,
        "message": f.message,
        "help": f.help,
        "location": Position::of(files, &f.primary.loc),
        "label": f.primary.text,
        "related": f.secondary.iter().map(|l| {
            let mut v = serde_json::to_value(Position::of(files, &l.loc)).unwrap_or_default();
            v["message"] = json!(l.text);
            v
        }).collect::<Vec<_>>(),
        "provenance": f.evidence.iter().map(|e| json!({
            "setting": e.setting,
            "value": e.value,
            "origin": origin(files, &e.origin),
        })).collect::<Vec<_>>(),
        "notes": f.notes,
        "suppressed": f.suppressed,
        "fix": f.fix.as_ref().map(|x| {
            // The safety for this finding: an unsafe plan can be safe here.
            let mut v = super::rules::fix_json(x.safety, &x.description, &x.set, &x.remove);
            if let Some(why) = &x.held_because {
                v["held_because"] = json!(why);
            }
            v
        }),
    })
}

/// Renders the whole scan as pretty JSON.
pub(crate) fn render(run: &super::Run<'_>) -> String {
    let targets = run.targets;
    let doc = json!({
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")},
        "targets": targets.iter().map(|t| json!({
            "input": t.input.display().to_string(),
            "kind": t.kind,
            "kubernetes_version": t.version,
            "components": t.invocations.iter().map(|i| component(&t.files, i)).collect::<Vec<_>>(),
            "notices": t.notices,
            "skipped": t.skipped,
        })).collect::<Vec<_>>(),
        "findings": all_findings(targets).map(|(t, f)| finding(t, f)).collect::<Vec<_>>(),
        "errors": run.errors.iter().map(|e| {
            let (message, help) = super::error_text(e);
            json!({"path": e.path().display().to_string(), "message": message, "help": help})
        }).collect::<Vec<_>>(),
        "summary": counts(targets),
    });
    let mut s =
        crate::escape::json_controls(serde_json::to_string_pretty(&doc).unwrap_or_default());
    s.push('\n');
    s
}
