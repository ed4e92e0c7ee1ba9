//! SARIF 2.1.0 output for code scanning.
//!
//! `ruleId` is the rule code; artifact URIs are in-image paths relative to
//! the scanned root, which `originalUriBaseIds` names; `partialFingerprints`
//! are computed here (rootfs files are usually not in the repository, so the
//! uploader cannot compute them). Suppressed findings stay, with their
//! `suppressions`; findings with a fix carry it as `fixes`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Position;
use crate::finding::Finding;
use crate::finding::Severity;
use crate::fix::edit::Edit;
use crate::fix::plan;
use crate::model::ComponentSpec;
use crate::rules::Rule;
use crate::target::{InputKind, Target};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Where promready is documented (the repository the integrations pin).
const INFORMATION_URI: &str = "https://github.com/promready/promready";
/// Artifact URIs are relative to the directory promready ran in, which is
/// where code scanning resolves them (it reads them from the repository
/// root and does not apply `uriBaseId`).
const SRCROOT: &str = "%SRCROOT%";

fn level(s: Severity) -> &'static str {
    // SARIF's levels are named as promready's severities.
    s.as_str()
}

fn rule(r: &Rule) -> Value {
    let mut tags = r.tags.clone();
    tags.push(r.component.clone());
    let mut properties = json!({"tags": tags});
    // GitHub ranks security alerts by this score (0.0-10.0).
    if r.tags.iter().any(|t| t == "security") {
        properties["security-severity"] = json!(match r.severity {
            Severity::Error => "8.0",
            Severity::Warning => "5.0",
            Severity::Note => "2.0",
        });
    }
    let mut v = json!({
        "id": r.code,
        "name": r.name,
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": r.docs.what_it_checks.trim()},
        "help": {"text": super::rules::explain(r), "markdown": super::rules::markdown(r)},
        "defaultConfiguration": {"level": level(r.severity)},
        "properties": properties,
    });
    if let Some(reference) = r.docs.references.first() {
        v["helpUri"] = json!(reference.url);
    }
    v
}

/// Percent-encodes the characters that would change a URI's meaning.
fn escape_uri(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            ' ' => s.push_str("%20"),
            '%' => s.push_str("%25"),
            '#' => s.push_str("%23"),
            '?' => s.push_str("%3F"),
            c => s.push(c),
        }
    }
    s
}

/// A `file:` URI for a directory, ending in `/`.
fn dir_uri(path: &std::path::Path) -> String {
    let abs = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut s = format!("file://{}", escape_uri(&abs.display().to_string()));
    if !s.ends_with('/') {
        s.push('/');
    }
    s
}

/// An `artifactLocation` for a path as [`super::repo_path`] gives it: relative
/// paths resolve against `%SRCROOT%` (and, for code scanning, the repository
/// root); a path outside the working directory is an absolute `file:` URI.
fn artifact_location(path: &str) -> Value {
    if path.starts_with('/') {
        json!({"uri": format!("file://{}", escape_uri(path))})
    } else {
        json!({"uri": escape_uri(path), "uriBaseId": SRCROOT})
    }
}

/// The base id naming target `i`'s root.
fn base_id(i: usize) -> String {
    if i == 0 {
        "SCANROOT".to_owned()
    } else {
        format!("SCANROOT{}", i + 1)
    }
}

fn base(t: &Target) -> Value {
    let (uri, what) = match t.kind {
        InputKind::Rootfs => (dir_uri(&t.input), "the root of the scanned image"),
        InputKind::Directory => (dir_uri(&t.input), "the scanned directory"),
        InputKind::Files => (
            dir_uri(std::path::Path::new(".")),
            "the directory promready ran in",
        ),
        InputKind::Archive => (
            dir_uri(&t.input),
            "the root of the image inside the scanned archive",
        ),
    };
    json!({"uri": uri, "description": {"text": what}})
}

/// `run.artifacts`: each scanned archive, and each in-image file of one
/// that a location names, nested in it (`parentIndex`). Other inputs'
/// files are named by their path alone.
#[derive(Default)]
struct Artifacts {
    list: Vec<Value>,
    index: std::collections::HashMap<(usize, Option<String>), usize>,
}

impl Artifacts {
    /// The index of target `ti`'s archive, or of `path` inside it.
    fn of(&mut self, ti: usize, t: &Target, path: Option<&str>) -> usize {
        let key = (ti, path.map(str::to_owned));
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let v = match path {
            None => json!({
                "location": artifact_location(&super::repo_path(t, "").0),
                "roles": ["analysisTarget"],
                "description": {"text": "a root filesystem archive"},
            }),
            Some(p) => {
                let parent = self.of(ti, t, None);
                json!({"location": {"uri": escape_uri(p)}, "parentIndex": parent})
            }
        };
        let i = self.list.len();
        self.list.push(v);
        self.index.insert(key, i);
        i
    }

    /// The `artifactLocation` of a path of target `ti`.
    fn location(&mut self, ti: usize, t: &Target, path: &str) -> Value {
        if t.kind == InputKind::Archive {
            let index = self.of(ti, t, Some(path));
            json!({"uri": escape_uri(path), "index": index})
        } else {
            artifact_location(&super::repo_path(t, path).0)
        }
    }
}

fn region(p: &Position) -> Value {
    json!({
        "startLine": p.line,
        "startColumn": p.column,
        "endLine": p.end_line,
        "endColumn": p.end_column,
        "byteOffset": p.byte_range[0],
        "byteLength": p.byte_range[1] - p.byte_range[0],
    })
}

fn location(
    artifacts: &mut Artifacts,
    ti: usize,
    t: &Target,
    p: &Position,
    message: Option<&str>,
) -> Value {
    let physical = json!({
        "artifactLocation": artifacts.location(ti, t, &p.path),
        "region": region(p),
    });
    let mut v = json!({"physicalLocation": physical});
    if let Some(m) = message {
        v["message"] = json!({"text": m});
    }
    v
}

/// A note, a skipped file or an input error, as a notification of the
/// invocation, at its file and line where it has them.
fn notification(level: &str, text: &str, location: Option<Value>) -> Value {
    let mut v = json!({"level": level, "message": {"text": text}});
    if let Some(l) = location {
        v["locations"] = json!([{"physicalLocation": l}]);
    }
    v
}

fn notifications(run: &super::Run<'_>, artifacts: &mut Artifacts) -> Vec<Value> {
    let mut out = Vec::new();
    for (ti, t) in run.targets.iter().enumerate() {
        // Every note, skipped files included: SARIF is read by tools.
        for (n, skipped) in super::notes(t, true) {
            let mut physical = json!({"artifactLocation": artifacts.location(ti, t, &n.path)});
            let position = n.position();
            if let Some((line, col)) = position {
                physical["region"] = json!({"startLine": line});
                if let Some(col) = col {
                    physical["region"]["startColumn"] = json!(col);
                }
            }
            let text = match (t.kind, position) {
                (InputKind::Archive, Some((line, _))) => {
                    format!("{}:{}:{line}: {}", t.input.display(), n.path, n.message)
                }
                (InputKind::Archive, None) => {
                    format!("{}:{}: {}", t.input.display(), n.path, n.message)
                }
                _ => format!("{}: {}", n.path, n.message),
            };
            let level = if skipped { "note" } else { "warning" };
            out.push(notification(level, &text, Some(physical)));
        }
    }
    for e in run.errors {
        let (text, help) = super::error_text(e);
        let text = match help {
            Some(h) => format!("{text}\n{h}"),
            None => text,
        };
        let path = e.path().display().to_string();
        let physical = json!({"artifactLocation": artifact_location(&path)});
        out.push(notification("error", &text, Some(physical)));
    }
    out
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

/// What SARIF `fixes` are planned with: the components' specs and the
/// address `fix` would bind to, so a suggestion is what `fix` writes.
pub(crate) struct Fixing<'a> {
    pub(crate) components: &'a BTreeMap<String, ComponentSpec>,
    pub(crate) bind_address: &'a str,
}

/// The finding's fix as SARIF `fixes`: replacements by byte range.
fn fixes(t: &Target, f: &Finding, fixing: &Fixing<'_>) -> Option<Value> {
    if t.kind == InputKind::Archive {
        // Byte replacements cannot name bytes inside an archive entry.
        return None;
    }
    let spec = fixing.components.get(&f.component)?;
    let inv = t.invocations.get(f.invocation)?;
    let rebind = plan::Rebind(fixing.bind_address);
    let planned = plan::plan(&t.files, inv, f, spec, &rebind).ok()?;
    let mut by_file: Vec<(crate::span::FileId, Vec<&Edit>)> = Vec::new();
    for e in &planned.edits {
        match by_file.iter_mut().find(|(id, _)| *id == e.file) {
            Some((_, v)) => v.push(e),
            None => by_file.push((e.file, vec![e])),
        }
    }
    let changes: Vec<Value> = by_file
        .into_iter()
        .map(|(id, edits)| {
            json!({
                "artifactLocation": artifact_location(&super::repo_path(t, &t.files.get(id).path).0),
                "replacements": edits.iter().map(|e| json!({
                    "deletedRegion": {"byteOffset": e.range.start, "byteLength": e.range.end - e.range.start},
                    "insertedContent": {"text": e.text},
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let description = f
        .fix
        .as_ref()
        .map_or_else(String::new, |x| x.description.clone());
    Some(json!([{"description": {"text": description}, "artifactChanges": changes}]))
}

/// Renders the scan as a SARIF log; `status` is the exit status promready
/// reports for it.
pub(crate) fn render(
    run: &super::Run<'_>,
    rules: &[Rule],
    fixing: &Fixing<'_>,
    status: u8,
) -> String {
    let targets = run.targets;
    let mut seen: Vec<String> = Vec::new();
    let mut artifacts = Artifacts::default();
    let mut results: Vec<Value> = Vec::new();
    for (ti, t) in targets.iter().enumerate() {
        for f in &t.findings {
            let files = &t.files;
            let print = fingerprint(t, f, 0);
            let occurrence = seen.iter().filter(|s| **s == print).count() + 1;
            seen.push(print);
            let primary = Position::of(files, &f.primary.loc);
            // An archive entry is a nested artifact; the message also names
            // the archive, where code scanning shows it.
            let message = match t.kind {
                InputKind::Archive => format!(
                    "{}:{}:{}: {}\n{}",
                    super::repo_path(t, "").0,
                    primary.path,
                    primary.line,
                    f.message,
                    f.help
                ),
                _ => format!("{}\n{}", f.message, f.help),
            };
            let mut v = json!({
                "ruleId": f.code,
                "level": level(f.severity),
                "message": {"text": message},
                "locations": [location(&mut artifacts, ti, t, &primary, Some(&f.primary.text))],
                "relatedLocations": f.secondary.iter().enumerate().map(|(i, l)| {
                    let mut v = location(&mut artifacts, ti, t, &Position::of(files, &l.loc), Some(&l.text));
                    v["id"] = json!(i + 1);
                    v
                }).collect::<Vec<_>>(),
                "partialFingerprints": {"primaryLocationLineHash": fingerprint(t, f, occurrence)},
            });
            if let Some(i) = rules.iter().position(|r| r.code == f.code) {
                v["ruleIndex"] = json!(i);
            }
            if let Some(reason) = &f.suppressed {
                v["suppressions"] = json!([{"kind": "inSource", "justification": reason}]);
            }
            if let Some(x) = fixes(t, f, fixing) {
                v["fixes"] = x;
            }
            results.push(v);
        }
    }
    let notes = notifications(run, &mut artifacts);
    let bases: serde_json::Map<String, Value> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| (base_id(i), base(t)))
        .collect();
    let mut invocation =
        json!({"executionSuccessful": status != crate::exit::EXIT_ERROR, "exitCode": status});
    if !notes.is_empty() {
        invocation["toolExecutionNotifications"] = json!(notes);
    }
    let mut run_v = json!({
        "tool": {"driver": {
            "name": env!("CARGO_PKG_NAME"),
            "version": env!("CARGO_PKG_VERSION"),
            "informationUri": INFORMATION_URI,
            "rules": rules.iter().map(rule).collect::<Vec<_>>(),
        }},
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": bases,
        "invocations": [invocation],
        "results": results,
    });
    if !artifacts.list.is_empty() {
        run_v["artifacts"] = json!(artifacts.list);
    }
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [run_v],
    });
    let mut s =
        crate::escape::json_controls(serde_json::to_string_pretty(&doc).unwrap_or_default());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::artifact_location;
    use serde_json::json;

    #[test]
    fn relative_paths_combine_with_the_source_root_and_are_escaped() {
        assert_eq!(
            artifact_location("images/node 1/etc/a#b?.conf"),
            json!({"uri": "images/node%201/etc/a%23b%3F.conf", "uriBaseId": "%SRCROOT%"})
        );
        assert_eq!(
            artifact_location("100%/x"),
            json!({"uri": "100%25/x", "uriBaseId": "%SRCROOT%"})
        );
    }

    #[test]
    fn absolute_paths_are_file_uris_without_a_base() {
        assert_eq!(
            artifact_location("/srv/images/node 1.tar.gz"),
            json!({"uri": "file:///srv/images/node%201.tar.gz"})
        );
    }
}
