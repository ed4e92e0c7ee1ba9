//! Comment-preserving YAML edits: rewrite a scalar in place, or add a key
//! (creating missing parent mappings) or a list item, by splicing text at
//! the right indentation. A flow collection on the way (`controllerManager:
//! {}`, `extraArgs: [{name: v, value: "2"}]`) is rewritten in block style,
//! that node only: its scalars keep their text and quoting, its entries
//! their order, and the new lines follow the document's indentation.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;

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

/// The mapping of `text` that starts at `doc_start`: a document's root, a
/// mapping inside one (the `clusterConfiguration` of a Cluster API
/// object), or a document in a literal block scalar (a `ConfigMap`'s
/// `data`, parsed where it stands).
pub(crate) fn document(text: &str, doc_start: usize) -> Result<Node, String> {
    fn find(text: &str, node: Node, at: usize) -> Option<Node> {
        if node.span.start == at && node.as_map().is_some() {
            return Some(node);
        }
        if !node.span.contains(&at) {
            return None;
        }
        let children: Vec<Node> = match node.kind {
            yaml::Kind::Map(entries) => entries.into_iter().map(|(_, v)| v).collect(),
            yaml::Kind::Seq(items) => items,
            yaml::Kind::Scalar(_) => {
                // A document in a literal block (a ConfigMap's `data`).
                let body = yaml::literal_block(text, &node)?;
                return yaml::parse_within(text, body)
                    .ok()?
                    .into_iter()
                    .find_map(|d| find(text, d.root, at));
            }
        };
        children.into_iter().find_map(|c| find(text, c, at))
    }
    let docs = yaml::parse(text).map_err(|e| e.message)?;
    docs.into_iter()
        .find_map(|d| find(text, d.root, doc_start))
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
/// creating missing mappings. Returns the range to replace (empty for an
/// insertion) and its new text.
pub(crate) fn add(
    text: &str,
    doc_start: usize,
    path: &[&str],
    leaf: &Leaf,
) -> Result<(Range<usize>, String), String> {
    let nl = newline(text);
    let root = document(text, doc_start)?;
    if flow_open(text, &root).is_some() {
        return Err("the document is one flow-style collection; edit it by hand".to_owned());
    }
    let at = |offset: usize, s: String| Ok((offset..offset, s));
    let mut node = &root;
    for (i, key) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match node.entry(key) {
            Some((k, v)) if flow_open(text, v).is_some() => {
                return rewrite_flow(text, &root, k, v, &path[i + 1..], leaf, nl);
            }
            Some((k, v)) if last => {
                let (offset, s) = extend_existing(text, k, v, leaf, nl)?;
                return at(offset, s);
            }
            Some((k, v)) => {
                if is_empty_value(v) {
                    // `key:` with nothing under it: children go below it.
                    let col = line_indent(text, k.span.start) + 2;
                    return at(
                        line_end(text, k.span.end),
                        block(&path[i + 1..], leaf, col, nl),
                    );
                }
                if v.as_map().is_none() {
                    return Err(format!("`{key}` is not a mapping"));
                }
                node = v;
            }
            None => {
                let col = key_column(text, node)?;
                return at(
                    line_end(text, true_end(text, node)),
                    block(&path[i..], leaf, col, nl),
                );
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
            let prefix = text[start..last.span.start].trim_start_matches('\u{feff}');
            let Some(dash) = dash_column(prefix) else {
                return Err("unexpected list layout; edit this one by hand".to_owned());
            };
            // The new item is a block mapping whatever the style of the
            // last one (`- {name: a, value: b}` included), after its end.
            Ok((
                line_end(text, true_end(text, value)),
                format!(
                    "{nl}{}- name: {name}{nl}{}value: {v}",
                    " ".repeat(dash),
                    " ".repeat(dash + 2)
                ),
            ))
        }
        (Kind::Map(_), Leaf::NamedItem { .. }) => Err(format!(
            "`{}` is a mapping, but the document's API version wants a list of `{{name, value}}` items: an entry of either form would leave it wrong; convert it by hand",
            scalar_text(key)
        )),
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
        (Kind::Scalar(_), Leaf::Value(_)) => Err(format!(
            "`{}` is already set here, and something applied after it decides the value; edit it by hand",
            scalar_text(key)
        )),
        _ => Err("unexpected YAML shape; edit this file by hand".to_owned()),
    }
}

fn scalar_text(node: &Node) -> &str {
    node.as_scalar().map_or("", |s| s.text.as_str())
}

/// The column of the dash of a block list item whose line starts with
/// `prefix` (`  - `), if that is what it is.
fn dash_column(prefix: &str) -> Option<usize> {
    let spaces = prefix.len() - prefix.trim_start_matches(' ').len();
    let rest = prefix[spaces..].strip_prefix('-')?;
    rest.chars().all(|c| c == ' ').then_some(spaces)
}

/// The column of a block mapping key that starts its line, possibly after
/// list dashes (`key`, `  key`, `- key`).
fn key_col(text: &str, key: &Node) -> Option<usize> {
    let start = line_start(text, key.span.start);
    let prefix = text.get(start..key.span.start)?;
    let prefix = prefix.trim_start_matches('\u{feff}');
    let mut rest = prefix.trim_start_matches(' ');
    while let Some(after) = rest.strip_prefix("- ") {
        rest = after.trim_start_matches(' ');
    }
    rest.is_empty().then_some(prefix.len())
}

// ---- flow collections -------------------------------------------------

/// Where a flow collection's `{` or `[` is (past an anchor or tag), or
/// `None` for block collections and scalars.
fn flow_open(text: &str, node: &Node) -> Option<usize> {
    if matches!(node.kind, Kind::Scalar(_)) {
        return None;
    }
    let b = text.as_bytes();
    let mut i = node.span.start;
    loop {
        match *b.get(i)? {
            b'{' | b'[' => return Some(i),
            b'&' | b'!' => {
                while b.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                    i += 1;
                }
                while matches!(b.get(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
            }
            _ => return None,
        }
    }
}

/// A value that is not there (`key:` or `{key}`): an empty plain scalar.
fn is_missing(node: &Node) -> bool {
    node.as_scalar()
        .is_some_and(|s| s.plain && s.text.is_empty() && s.tag.is_none())
}

/// Where a node really ends: past the closing bracket of a flow
/// collection (the parser's span stops at its last scalar).
fn true_end(text: &str, node: &Node) -> usize {
    let last = match &node.kind {
        Kind::Map(entries) => entries.last().map(|(k, v)| {
            if is_missing(v) {
                k.span.end
            } else {
                true_end(text, v).max(k.span.end)
            }
        }),
        Kind::Seq(items) => items.last().map(|n| true_end(text, n)),
        Kind::Scalar(_) => return node.span.end,
    };
    let Some(open) = flow_open(text, node) else {
        return last.unwrap_or(node.span.end);
    };
    // After the last child: separators and comments, then the bracket.
    let b = text.as_bytes();
    let mut i = last.unwrap_or(open + 1);
    while let Some(&c) = b.get(i) {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | b',' => i += 1,
            b'#' => i = text[i..].find('\n').map_or(text.len(), |n| i + n),
            b'}' | b']' => return i + 1,
            _ => break,
        }
    }
    node.span.end
}

/// A flow collection read for rewriting in block style. Scalars are kept
/// as written (quotes and escapes included), so they read back the same.
#[derive(Debug, Clone, PartialEq)]
enum Tree {
    /// A scalar as written; empty for a missing value.
    Scalar(String),
    /// Entries in order: the key as written, its text, the value.
    Map(Vec<(String, String, Tree)>),
    Seq(Vec<Tree>),
}

const UNUSUAL: &str = "the flow collection uses syntax that promready does not rewrite (an anchor, tag, alias, explicit key, single-pair list item or multi-line scalar); edit it by hand";

/// Skips white space and line breaks between flow tokens; a comment there
/// would be lost by the rewrite, so it is refused.
fn skip(text: &str, mut i: usize) -> Result<usize, String> {
    let b = text.as_bytes();
    while let Some(&c) = b.get(i) {
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => {
                return Err(
                    "a comment inside the flow collection would be lost; edit it by hand"
                        .to_owned(),
                );
            }
            _ => break,
        }
    }
    Ok(i)
}

fn expect(text: &str, i: usize, c: u8) -> Result<usize, String> {
    if text.as_bytes().get(i) == Some(&c) {
        Ok(i + 1)
    } else {
        Err(UNUSUAL.to_owned())
    }
}

/// Reads the flow collection `node`; returns it and the offset after its
/// closing bracket. Every byte between its scalars must be white space or
/// flow punctuation, so nothing is lost.
fn read_flow(text: &str, node: &Node) -> Result<(Tree, usize), String> {
    let b = text.as_bytes();
    match &node.kind {
        Kind::Map(entries) => {
            let mut i = expect(text, node.span.start, b'{')?;
            let mut out = Vec::new();
            for (n, (k, v)) in entries.iter().enumerate() {
                i = skip(text, i)?;
                if n > 0 {
                    i = skip(text, expect(text, i, b',')?)?;
                }
                let (Tree::Scalar(src), end) = read_value(text, k, i)? else {
                    return Err(UNUSUAL.to_owned());
                };
                i = skip(text, end)?;
                let value = if b.get(i) == Some(&b':') {
                    i += 1;
                    if is_missing(v) {
                        Tree::Scalar(String::new())
                    } else {
                        i = skip(text, i)?;
                        let (t, end) = read_value(text, v, i)?;
                        i = end;
                        t
                    }
                } else if is_missing(v) {
                    Tree::Scalar(String::new())
                } else {
                    return Err(UNUSUAL.to_owned());
                };
                out.push((src, scalar_text(k).to_owned(), value));
            }
            i = skip(text, i)?;
            if b.get(i) == Some(&b',') {
                i = skip(text, i + 1)?;
            }
            Ok((Tree::Map(out), expect(text, i, b'}')?))
        }
        Kind::Seq(items) => {
            let mut i = expect(text, node.span.start, b'[')?;
            let mut out = Vec::new();
            for (n, item) in items.iter().enumerate() {
                i = skip(text, i)?;
                if n > 0 {
                    i = skip(text, expect(text, i, b',')?)?;
                }
                let (t, end) = read_value(text, item, i)?;
                out.push(t);
                i = end;
            }
            i = skip(text, i)?;
            if b.get(i) == Some(&b',') {
                i = skip(text, i + 1)?;
            }
            Ok((Tree::Seq(out), expect(text, i, b']')?))
        }
        Kind::Scalar(_) => Err(UNUSUAL.to_owned()),
    }
}

/// A key, value or item that must start exactly at `i`.
fn read_value(text: &str, node: &Node, i: usize) -> Result<(Tree, usize), String> {
    if node.span.start != i {
        return Err(UNUSUAL.to_owned());
    }
    match node.kind {
        Kind::Scalar(_) => {
            let src = &text[node.span.clone()];
            // A scalar folded over lines would change with its indentation.
            if src.is_empty() || src.contains(['\n', '\r']) {
                return Err(UNUSUAL.to_owned());
            }
            Ok((Tree::Scalar(src.to_owned()), node.span.end))
        }
        Kind::Map(_) | Kind::Seq(_) => read_flow(text, node),
    }
}

/// Whether a scalar as written is a null (`key:`, `~`, `null`).
fn null_text(src: &str) -> bool {
    matches!(src, "" | "~" | "null" | "Null" | "NULL")
}

/// The value for a new key followed by `keys`, ending in `leaf`.
fn build(keys: &[&str], leaf: &Leaf) -> Tree {
    match keys.split_first() {
        None => match leaf {
            Leaf::Value(v) => Tree::Scalar(v.clone()),
            Leaf::NamedItem { name, value } => Tree::Seq(vec![named_item(name, value)]),
        },
        Some((k, rest)) => Tree::Map(vec![((*k).to_owned(), (*k).to_owned(), build(rest, leaf))]),
    }
}

fn named_item(name: &str, value: &str) -> Tree {
    Tree::Map(vec![
        ("name".into(), "name".into(), Tree::Scalar(name.to_owned())),
        (
            "value".into(),
            "value".into(),
            Tree::Scalar(value.to_owned()),
        ),
    ])
}

/// Adds `keys` ending in `leaf` below `tree` (the value of key `at`).
fn insert(tree: &mut Tree, at: &str, keys: &[&str], leaf: &Leaf) -> Result<(), String> {
    let Some((first, rest)) = keys.split_first() else {
        return match (tree, leaf) {
            (Tree::Seq(items), Leaf::NamedItem { name, value }) => {
                items.push(named_item(name, value));
                Ok(())
            }
            (Tree::Map(_), Leaf::NamedItem { .. }) => Err(format!(
                "`{at}` is a mapping, but the document's API version wants a list of `{{name, value}}` items: an entry of either form would leave it wrong; convert it by hand"
            )),
            (Tree::Scalar(_), Leaf::NamedItem { .. }) => Err(format!("`{at}` is not a list")),
            (_, Leaf::Value(_)) => Err("the key exists; rewrite its value instead".to_owned()),
        };
    };
    let Tree::Map(entries) = tree else {
        return Err(format!("`{at}` is not a mapping"));
    };
    match entries.iter_mut().rev().find(|(_, name, _)| name == first) {
        Some((_, _, v)) => {
            if let Tree::Scalar(s) = v
                && null_text(s)
            {
                // `key: ~`: the key exists but holds nothing yet.
                if rest.is_empty() && matches!(leaf, Leaf::Value(_)) {
                    return Err("the key exists; rewrite its value instead".to_owned());
                }
                *v = build(rest, leaf);
                return Ok(());
            }
            insert(v, first, rest, leaf)
        }
        None => {
            entries.push(((*first).to_owned(), (*first).to_owned(), build(rest, leaf)));
            Ok(())
        }
    }
}

/// How the document indents: nested mapping keys `step` columns right of
/// their parent key, list dashes `seq` columns right of their key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Style {
    step: usize,
    seq: usize,
}

impl Style {
    /// The most common indentation of the document's block collections
    /// (the smaller on a tie); 2 and 0 (kubeadm's own output) without any.
    fn of(text: &str, root: &Node) -> Self {
        let mut steps: BTreeMap<usize, usize> = BTreeMap::new();
        let mut seqs: BTreeMap<usize, usize> = BTreeMap::new();
        let mut todo = vec![root];
        while let Some(n) = todo.pop() {
            if flow_open(text, n).is_some() {
                continue;
            }
            match &n.kind {
                Kind::Scalar(_) => {}
                Kind::Seq(items) => todo.extend(items),
                Kind::Map(entries) => {
                    for (k, v) in entries {
                        todo.push(v);
                        if flow_open(text, v).is_some() {
                            continue;
                        }
                        let Some(kc) = key_col(text, k) else { continue };
                        match &v.kind {
                            Kind::Map(es) => {
                                if let Some(c) = es.first().and_then(|(fk, _)| key_col(text, fk))
                                    && c > kc
                                {
                                    *steps.entry(c - kc).or_default() += 1;
                                }
                            }
                            Kind::Seq(items) => {
                                let dash = items.first().and_then(|item| {
                                    let start = line_start(text, item.span.start);
                                    (start > k.span.end)
                                        .then(|| dash_column(&text[start..item.span.start]))
                                        .flatten()
                                });
                                if let Some(d) = dash.filter(|&d| d >= kc) {
                                    *seqs.entry(d - kc).or_default() += 1;
                                }
                            }
                            Kind::Scalar(_) => {}
                        }
                    }
                }
            }
        }
        let common = |m: &BTreeMap<usize, usize>| {
            m.iter()
                .max_by_key(|&(width, count)| (*count, std::cmp::Reverse(*width)))
                .map(|(width, _)| *width)
        };
        Style {
            step: common(&steps).unwrap_or(2),
            seq: common(&seqs).unwrap_or(0),
        }
    }
}

/// Block lines (each after a line break) for the entries of a mapping
/// whose keys are at `col`; with `inline`, the first entry continues the
/// current line (after `- `).
fn render_entries(
    entries: &[(String, String, Tree)],
    col: usize,
    style: Style,
    nl: &str,
    inline: bool,
    out: &mut String,
) {
    for (i, (key, _, value)) in entries.iter().enumerate() {
        if !(inline && i == 0) {
            let _ = write!(out, "{nl}{}", " ".repeat(col));
        }
        out.push_str(key);
        out.push(':');
        match value {
            Tree::Scalar(s) if s.is_empty() => {}
            Tree::Scalar(s) => {
                let _ = write!(out, " {s}");
            }
            Tree::Map(es) if es.is_empty() => out.push_str(" {}"),
            Tree::Seq(items) if items.is_empty() => out.push_str(" []"),
            Tree::Map(es) => render_entries(es, col + style.step, style, nl, false, out),
            Tree::Seq(items) => render_items(items, col + style.seq, style, nl, false, out),
        }
    }
}

/// Block lines for list items whose dashes are at `col`.
fn render_items(
    items: &[Tree],
    col: usize,
    style: Style,
    nl: &str,
    inline: bool,
    out: &mut String,
) {
    for (i, item) in items.iter().enumerate() {
        if !(inline && i == 0) {
            let _ = write!(out, "{nl}{}", " ".repeat(col));
        }
        out.push('-');
        match item {
            Tree::Scalar(s) if s.is_empty() => {}
            Tree::Scalar(s) => {
                let _ = write!(out, " {s}");
            }
            Tree::Map(es) if es.is_empty() => out.push_str(" {}"),
            Tree::Seq(is) if is.is_empty() => out.push_str(" []"),
            Tree::Map(es) => {
                out.push(' ');
                render_entries(es, col + 2, style, nl, true, out);
            }
            Tree::Seq(is) => {
                out.push(' ');
                render_items(is, col + 2, style, nl, true, out);
            }
        }
    }
}

/// `key: {…}` (or `[…]`) with `keys` ending in `leaf` to add below it: the
/// flow node becomes block lines under the key, with the addition; a
/// comment after the node stays on the key's line.
fn rewrite_flow(
    text: &str,
    root: &Node,
    key: &Node,
    value: &Node,
    keys: &[&str],
    leaf: &Leaf,
    nl: &str,
) -> Result<(Range<usize>, String), String> {
    let col = key_col(text, key)
        .ok_or_else(|| "the key does not start its line; edit it by hand".to_owned())?;
    let (mut tree, close) = read_flow(text, value)?;
    insert(&mut tree, scalar_text(key), keys, leaf)?;
    let end = line_end(text, close);
    let trailing = &text[close..end];
    if !(trailing.trim().is_empty() || trailing.trim_start().starts_with('#')) {
        return Err(UNUSUAL.to_owned());
    }
    // From right after `key:` (the space, or the line break before a node
    // on the next line, goes with the flow node).
    let start = text[..value.span.start]
        .trim_end_matches([' ', '\t', '\r', '\n'])
        .len();
    let style = Style::of(text, root);
    let mut body = trailing.to_owned();
    match &tree {
        Tree::Map(entries) => {
            render_entries(entries, col + style.step, style, nl, false, &mut body);
        }
        Tree::Seq(items) => render_items(items, col + style.seq, style, nl, false, &mut body),
        Tree::Scalar(_) => return Err(UNUSUAL.to_owned()),
    }
    Ok((start..end, body))
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
        let (range, ins) = add(text, root.span.start, path, leaf).unwrap();
        format!("{}{ins}{}", &text[..range.start], &text[range.end..])
    }

    fn refused(text: &str, path: &[&str], leaf: &Leaf) -> String {
        let root = yaml::parse(text).unwrap().remove(0).root;
        add(text, root.span.start, path, leaf).unwrap_err()
    }

    fn value(v: &str) -> Leaf {
        Leaf::Value(v.into())
    }

    fn item(name: &str, value: &str) -> Leaf {
        Leaf::NamedItem {
            name: name.into(),
            value: value.into(),
        }
    }

    /// `path` read back from `text` as Kubernetes reads it.
    fn read(text: &str, path: &str) -> Option<Value> {
        let docs = yaml::parse(text).unwrap();
        let (_, v) = docs[0].root.lookup(path)?;
        Some(v.as_scalar()?.value())
    }

    /// The `{name, value}` items of the list at `path`.
    fn items(text: &str, path: &str) -> Vec<(String, String)> {
        let docs = yaml::parse(text).unwrap();
        let (_, list) = docs[0].root.lookup(path).unwrap();
        let Kind::Seq(items) = &list.kind else {
            panic!("{path} is not a list in {text}")
        };
        items
            .iter()
            .map(|i| {
                (
                    i.get_str("name").unwrap().to_owned(),
                    i.get_str("value").unwrap().to_owned(),
                )
            })
            .collect()
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
    fn empty_flow_mappings_become_block_mappings() {
        // `kubeadm config print init-defaults`: `controllerManager: {}`.
        let text = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\ncontrollerManager: {}\ndns: {}\n";
        let out = add_to(
            text,
            &["controllerManager", "extraArgs", "bind-address"],
            &value("0.0.0.0"),
        );
        assert_eq!(
            out,
            "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\ncontrollerManager:\n  extraArgs:\n    bind-address: 0.0.0.0\ndns: {}\n"
        );
        // A comment after the node stays on the key's line.
        let text = "kind: ClusterConfiguration\nscheduler: {} # defaults\n";
        let out = add_to(
            text,
            &["scheduler", "extraArgs", "bind-address"],
            &value("0.0.0.0"),
        );
        assert_eq!(
            out,
            "kind: ClusterConfiguration\nscheduler: # defaults\n  extraArgs:\n    bind-address: 0.0.0.0\n"
        );
        assert_eq!(
            read(&out, "scheduler.extraArgs.bind-address"),
            Some(Value::Str("0.0.0.0".into()))
        );
    }

    #[test]
    fn nested_flow_nodes_keep_their_entries_and_quoting() {
        let text = "kind: ClusterConfiguration\nscheduler: {extraArgs: {v: \"2\", 'profiling': false}, extraVolumes: []}\netcd: {local: {dataDir: /var/lib/etcd}}\n";
        let out = add_to(
            text,
            &["scheduler", "extraArgs", "bind-address"],
            &value("0.0.0.0"),
        );
        assert_eq!(
            out,
            "kind: ClusterConfiguration\nscheduler:\n  extraArgs:\n    v: \"2\"\n    'profiling': false\n    bind-address: 0.0.0.0\n  extraVolumes: []\netcd: {local: {dataDir: /var/lib/etcd}}\n"
        );
        assert_eq!(
            read(&out, "scheduler.extraArgs.v"),
            Some(Value::Str("2".into()))
        );
        assert_eq!(
            read(&out, "scheduler.extraArgs.profiling"),
            Some(Value::Bool(false))
        );
        let out = add_to(
            text,
            &["etcd", "local", "extraArgs", "listen-metrics-urls"],
            &value("http://0.0.0.0:2381"),
        );
        assert!(out.ends_with(
            "etcd:\n  local:\n    dataDir: /var/lib/etcd\n    extraArgs:\n      listen-metrics-urls: http://0.0.0.0:2381\n"
        ), "{out}");
    }

    #[test]
    fn flow_lists_of_named_items_become_block_lists() {
        // v1beta4: `extraArgs: []`, and a flow list of `{name, value}`.
        let text = "apiVersion: kubeadm.k8s.io/v1beta4\r\nkind: ClusterConfiguration\r\nscheduler:\r\n  extraArgs: []\r\netcd:\r\n  local:\r\n    extraArgs: [{name: quota-backend-bytes, value: \"8589934592\"}] # 8 GiB\r\n";
        let out = add_to(
            text,
            &["scheduler", "extraArgs"],
            &item("bind-address", "0.0.0.0"),
        );
        assert_eq!(
            out,
            "apiVersion: kubeadm.k8s.io/v1beta4\r\nkind: ClusterConfiguration\r\nscheduler:\r\n  extraArgs:\r\n  - name: bind-address\r\n    value: 0.0.0.0\r\netcd:\r\n  local:\r\n    extraArgs: [{name: quota-backend-bytes, value: \"8589934592\"}] # 8 GiB\r\n"
        );
        let out = add_to(
            text,
            &["etcd", "local", "extraArgs"],
            &item("listen-metrics-urls", "http://0.0.0.0:2381"),
        );
        assert!(out.ends_with("    extraArgs: # 8 GiB\r\n    - name: quota-backend-bytes\r\n      value: \"8589934592\"\r\n    - name: listen-metrics-urls\r\n      value: http://0.0.0.0:2381\r\n"), "{out:?}");
        assert!(
            !out.replace("\r\n", "").contains('\n'),
            "only CRLF line breaks"
        );
        assert_eq!(
            items(&out, "etcd.local.extraArgs"),
            [
                ("quota-backend-bytes".into(), "8589934592".into()),
                ("listen-metrics-urls".into(), "http://0.0.0.0:2381".into())
            ]
        );
    }

    #[test]
    fn items_are_added_after_flow_style_items() {
        let text = "kind: ClusterConfiguration\ncontrollerManager:\n  extraArgs:\n    - {name: v, value: \"2\"}\n    - {name: node-cidr-mask-size,\n       value: \"24\"\n      }\nscheduler: {}\n";
        let out = add_to(
            text,
            &["controllerManager", "extraArgs"],
            &item("bind-address", "0.0.0.0"),
        );
        assert_eq!(
            out,
            "kind: ClusterConfiguration\ncontrollerManager:\n  extraArgs:\n    - {name: v, value: \"2\"}\n    - {name: node-cidr-mask-size,\n       value: \"24\"\n      }\n    - name: bind-address\n      value: 0.0.0.0\nscheduler: {}\n"
        );
        assert_eq!(items(&out, "controllerManager.extraArgs").len(), 3);
    }

    #[test]
    fn multi_line_flow_nodes_and_the_document_indentation() {
        // Four-space indentation, lists indented under their key.
        let text = "kind: KubeletConfiguration\nauthentication: {\n    anonymous: {enabled: false},\n    x509: {clientCAFile: \"/etc/kubernetes/pki/ca.crt\"},\n}\nauthorization:\n    mode: AlwaysAllow\ntlsCipherSuites:\n    - TLS_AES_128_GCM_SHA256\nreadOnlyPort: 0\n";
        let out = add_to(
            text,
            &["authentication", "webhook", "enabled"],
            &value("true"),
        );
        assert_eq!(
            out,
            "kind: KubeletConfiguration\nauthentication:\n    anonymous:\n        enabled: false\n    x509:\n        clientCAFile: \"/etc/kubernetes/pki/ca.crt\"\n    webhook:\n        enabled: true\nauthorization:\n    mode: AlwaysAllow\ntlsCipherSuites:\n    - TLS_AES_128_GCM_SHA256\nreadOnlyPort: 0\n"
        );
        assert_eq!(
            read(&out, "authentication.webhook.enabled"),
            Some(Value::Bool(true))
        );
        // A flow node on the line after its key.
        let text = "kind: ClusterConfiguration\nscheduler:\n  {extraArgs: [{name: v, value: \"4\"}]}\nclusterName: c\n";
        let out = add_to(
            text,
            &["scheduler", "extraArgs"],
            &item("bind-address", "0.0.0.0"),
        );
        assert_eq!(
            out,
            "kind: ClusterConfiguration\nscheduler:\n  extraArgs:\n  - name: v\n    value: \"4\"\n  - name: bind-address\n    value: 0.0.0.0\nclusterName: c\n"
        );
    }

    #[test]
    fn flow_nodes_that_cannot_be_rewritten_exactly_are_refused() {
        let v = value("0.0.0.0");
        let path = ["scheduler", "extraArgs", "bind-address"];
        for (text, why) in [
            (
                "kind: X\nscheduler: {extraArgs: {a: b}, # c\n  }\n",
                "comment",
            ),
            ("kind: X\nscheduler: &s {extraArgs: {a: b}}\n", "anchor"),
            ("kind: X\nscheduler: {extraArgs: !!map {a: b}}\n", "anchor"),
            (
                "kind: X\nbase: &b {a: b}\nscheduler: {extraArgs: *b}\n",
                "alias",
            ),
            (
                "kind: X\nscheduler: {extraArgs: {a: \"b\n c\"}}\n",
                "multi-line",
            ),
            ("kind: X\nscheduler: {extraArgs: [a: b]}\n", "single-pair"),
            (
                "kind: X\nscheduler: {extraArgs: {bind-address: 127.0.0.1}}\n",
                "the key exists",
            ),
        ] {
            let e = refused(text, &path, &v);
            assert!(e.contains(why), "{text:?}: {e}");
        }
        // The root itself in flow style.
        assert!(refused("{kind: X, scheduler: {}}\n", &path, &v).contains("flow-style"));
        // Entries of a mapping cannot go into a list, nor items into a mapping.
        let e = refused(
            "kind: X\nscheduler: {extraArgs: {v: \"2\"}}\n",
            &["scheduler", "extraArgs"],
            &item("bind-address", "0.0.0.0"),
        );
        assert!(e.contains("wants a list"), "{e}");
        let e = refused(
            "kind: X\nscheduler:\n  extraArgs:\n    v: \"2\"\n",
            &["scheduler", "extraArgs"],
            &item("bind-address", "0.0.0.0"),
        );
        assert!(e.contains("wants a list"), "{e}");
        let e = refused(
            "kind: X\nscheduler: {extraArgs: [{name: v, value: \"2\"}]}\n",
            &path,
            &v,
        );
        assert!(e.contains("not a mapping"), "{e}");
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
