//! Comment-preserving YAML edits: rewrite a scalar in place, or add a key
//! (creating missing parent mappings) or a list item, by splicing text at
//! the right indentation. Only block-style collections are extended; flow
//! style (`{…}`, `[…]`) is left to the user.

use std::fmt::Write as _;

use super::edit::{line_end, line_start, newline};
use crate::model::SettingType;
use crate::parse::yaml::{self, Kind, Node, Value};

/// What to add at the end of a key path.
#[derive(Debug, Clone)]
pub(crate) enum Leaf {
    /// `key: value` (the value already rendered).
    Value(String),
    /// A `{name, value}` item appended to a list (kubeadm v1beta4 `extraArgs`).
    NamedItem { name: String, value: String },
}

/// A scalar as YAML text: plain when that reads back as the same string
/// (or, for typed settings, the same number or boolean), else double-quoted.
pub(crate) fn render(value: &str, ty: SettingType) -> String {
    let typed = matches!(ty, SettingType::Int | SettingType::Bool);
    let plain_ok = !value.is_empty()
        && !value.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with([' ', ':']);
    let reads_back = match yaml::Scalar::plain_value(value) {
        Value::Str(s) => !typed && s == value,
        Value::Int(_) | Value::Bool(_) => typed,
        Value::Null | Value::Float(_) => false,
    };
    if plain_ok && reads_back {
        value.to_owned()
    } else {
        quote(value)
    }
}

fn quote(value: &str) -> String {
    let mut s = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// The new text for an existing scalar: the same quoting style as before.
pub(crate) fn rewrite_scalar(old: &str, value: &str, ty: SettingType) -> String {
    if old.starts_with('"') {
        quote(value)
    } else if old.starts_with('\'') && !value.contains('\'') {
        format!("'{value}'")
    } else {
        render(value, ty)
    }
}

/// The document of `text` whose root starts at `doc_start`.
fn document(text: &str, doc_start: usize) -> Result<Node, String> {
    let docs = yaml::parse(text).map_err(|e| e.message)?;
    docs.into_iter()
        .map(|d| d.root)
        .find(|r| r.span.start == doc_start)
        .ok_or_else(|| "the document moved; run fix again".to_owned())
}

/// The column of a block mapping's keys, or why it cannot be extended.
fn key_column(text: &str, map: &Node) -> Result<usize, String> {
    let Some((first, _)) = map.as_map().and_then(<[(Node, Node)]>::first) else {
        return Err("an empty mapping cannot be extended in place".to_owned());
    };
    let start = line_start(text, first.span.start);
    let prefix = text[start..first.span.start].trim_start_matches('\u{feff}');
    // A key after `- ` (a mapping inside a list item) counts the dash too.
    let only_space = prefix.chars().all(|c| c == ' ' || c == '-');
    if !only_space || text[map.span.start..].starts_with('{') {
        return Err("flow-style mappings are left alone; edit this one by hand".to_owned());
    }
    Ok(prefix.len())
}

/// Adds `path` (a key path below the document root) ending in `leaf`,
/// creating missing mappings. Returns the insertion offset and the text.
pub(crate) fn add(
    text: &str,
    doc_start: usize,
    path: &[&str],
    leaf: &Leaf,
) -> Result<(usize, String), String> {
    let nl = newline(text);
    let root = document(text, doc_start)?;
    let mut node = &root;
    for (i, key) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match node.entry(key) {
            Some((k, v)) if last => return extend_existing(text, k, v, leaf, nl),
            Some((k, v)) => {
                if is_empty_value(v) {
                    // `key:` with nothing under it: children go below it.
                    let col = line_indent(text, k.span.start) + 2;
                    return Ok((
                        line_end(text, k.span.end),
                        block(&path[i + 1..], leaf, col, nl),
                    ));
                }
                if v.as_map().is_none() {
                    return Err(format!("`{key}` is not a mapping"));
                }
                node = v;
            }
            None => {
                let col = key_column(text, node)?;
                return Ok((
                    line_end(text, node.span.end),
                    block(&path[i..], leaf, col, nl),
                ));
            }
        }
    }
    Err("nothing to add".to_owned())
}

fn is_empty_value(v: &Node) -> bool {
    v.as_scalar()
        .is_some_and(|s| s.plain && s.value() == Value::Null)
}

fn line_indent(text: &str, offset: usize) -> usize {
    let start = line_start(text, offset);
    text[start..].chars().take_while(|&c| c == ' ').count()
}

/// The last key of the path exists: add to its list or mapping.
fn extend_existing(
    text: &str,
    key: &Node,
    value: &Node,
    leaf: &Leaf,
    nl: &str,
) -> Result<(usize, String), String> {
    match (&value.kind, leaf) {
        (Kind::Seq(items), Leaf::NamedItem { name, value: v }) => {
            let Some(last) = items.last() else {
                return Err("an empty list cannot be extended in place".to_owned());
            };
            let start = line_start(text, last.span.start);
            let prefix = &text[start..last.span.start];
            if !prefix.trim_start().starts_with('-') || text[value.span.start..].starts_with('[') {
                return Err("flow-style lists are left alone; edit this one by hand".to_owned());
            }
            let pad = " ".repeat(prefix.len());
            let dash = format!("{}- ", " ".repeat(prefix.len().saturating_sub(2)));
            Ok((
                line_end(text, value.span.end),
                format!("{nl}{dash}name: {name}{nl}{pad}value: {v}"),
            ))
        }
        (Kind::Map(_), Leaf::NamedItem { name, value: v }) => {
            let col = key_column(text, value)?;
            Ok((
                line_end(text, value.span.end),
                format!("{nl}{}{name}: {v}", " ".repeat(col)),
            ))
        }
        _ if is_empty_value(value) => {
            let col = line_indent(text, key.span.start) + 2;
            let body = match leaf {
                Leaf::Value(_) => {
                    return Err("the key exists; rewrite its value instead".to_owned());
                }
                Leaf::NamedItem { name, value } => format!(
                    "{nl}{}- name: {name}{nl}{}value: {value}",
                    " ".repeat(col),
                    " ".repeat(col + 2)
                ),
            };
            Ok((line_end(text, key.span.end), body))
        }
        _ => Err("unexpected YAML shape; edit this file by hand".to_owned()),
    }
}

/// New lines for `keys` (nested mappings) ending in `leaf`, at column `col`.
fn block(keys: &[&str], leaf: &Leaf, col: usize, nl: &str) -> String {
    let mut out = String::new();
    let mut ind = col;
    for (i, key) in keys.iter().enumerate() {
        let pad = " ".repeat(ind);
        if i + 1 < keys.len() {
            let _ = write!(out, "{nl}{pad}{key}:");
            ind += 2;
            continue;
        }
        match leaf {
            Leaf::Value(v) => {
                let _ = write!(out, "{nl}{pad}{key}: {v}");
            }
            Leaf::NamedItem { name, value } => {
                let _ = write!(
                    out,
                    "{nl}{pad}{key}:{nl}{pad}- name: {name}{nl}{pad}  value: {value}"
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_to(text: &str, path: &[&str], leaf: &Leaf) -> String {
        let root = yaml::parse(text).unwrap().remove(0).root;
        let (at, ins) = add(text, root.span.start, path, leaf).unwrap();
        format!("{}{ins}{}", &text[..at], &text[at..])
    }

    #[test]
    fn adds_nested_keys_at_the_mapping_indentation() {
        let text = "kind: KubeletConfiguration\nauthentication:\n    x509:\n        clientCAFile: /ca # the CA\nreadOnlyPort: 0\n";
        let out = add_to(
            text,
            &["authentication", "webhook", "enabled"],
            &Leaf::Value("true".into()),
        );
        assert_eq!(
            out,
            "kind: KubeletConfiguration\nauthentication:\n    x509:\n        clientCAFile: /ca # the CA\n    webhook:\n      enabled: true\nreadOnlyPort: 0\n"
        );
        assert!(
            yaml::parse(&out).unwrap()[0]
                .root
                .lookup("authentication.webhook.enabled")
                .is_some()
        );
    }

    #[test]
    fn creates_kubeadm_sections_and_extends_lists() {
        let text = "apiVersion: kubeadm.k8s.io/v1beta3\r\nkind: ClusterConfiguration\r\nkubernetesVersion: v1.28.3";
        let out = add_to(
            text,
            &["controllerManager", "extraArgs", "bind-address"],
            &Leaf::Value("0.0.0.0".into()),
        );
        assert_eq!(
            out,
            format!("{text}\r\ncontrollerManager:\r\n  extraArgs:\r\n    bind-address: 0.0.0.0")
        );
        let text = "kind: ClusterConfiguration\nscheduler:\n  extraArgs:\n  - name: v\n    value: \"2\"\netcd: {}\n";
        let out = add_to(
            text,
            &["scheduler", "extraArgs"],
            &Leaf::NamedItem {
                name: "bind-address".into(),
                value: "0.0.0.0".into(),
            },
        );
        assert_eq!(
            out,
            "kind: ClusterConfiguration\nscheduler:\n  extraArgs:\n  - name: v\n    value: \"2\"\n  - name: bind-address\n    value: 0.0.0.0\netcd: {}\n"
        );
    }

    #[test]
    fn flow_style_is_refused() {
        let text = "kind: X\ncontrollerManager: {extraArgs: {a: b}}\n";
        let root = yaml::parse(text).unwrap().remove(0).root;
        assert!(
            add(
                text,
                root.span.start,
                &["controllerManager", "extraArgs", "c"],
                &Leaf::Value("d".into())
            )
            .is_err()
        );
    }

    #[test]
    fn scalars_render_to_read_back() {
        assert_eq!(render("0.0.0.0", SettingType::Address), "0.0.0.0");
        assert_eq!(render("true", SettingType::Bool), "true");
        assert_eq!(render("0", SettingType::Int), "0");
        assert_eq!(render("0", SettingType::String), "\"0\"");
        assert_eq!(render("on", SettingType::String), "\"on\"");
        assert_eq!(
            render("0.0.0.0:10249", SettingType::Address),
            "0.0.0.0:10249"
        );
        assert_eq!(
            rewrite_scalar("\"127.0.0.1:10249\"", "0.0.0.0:10249", SettingType::Address),
            "\"0.0.0.0:10249\""
        );
        assert_eq!(rewrite_scalar("no", "true", SettingType::Bool), "true");
    }
}
