//! YAML with a byte span on every key and scalar.
//!
//! Built on saphyr-parser's event stream: promready keeps its own small tree
//! so that duplicate keys, scalar styles and exact byte ranges survive (the
//! parser's markers count characters; they are converted to bytes here).
//! Plain scalars are resolved the way Kubernetes reads YAML (YAML 1.1 through
//! sigs.k8s.io/yaml: `yes`/`off` are booleans, `0644` is octal).

use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// Deeper nesting than this is refused: no Kubernetes object needs it, and
/// it bounds the work a hostile file can cause.
pub(crate) const MAX_DEPTH: usize = 256;
/// Nodes that alias expansion may create in one file (billion laughs guard).
pub(crate) const MAX_ALIAS_NODES: usize = 100_000;
/// Bytes of scalar text that alias expansion may copy in one file.
pub(crate) const MAX_ALIAS_BYTES: usize = 16 << 20;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// Byte range of the node in the file (quotes included for quoted scalars).
    pub(crate) span: Range<usize>,
    pub(crate) kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// Entries in file order; duplicates kept.
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    pub(crate) text: String,
    pub(crate) plain: bool,
    pub(crate) tag: Option<String>,
}

/// A scalar's value as Kubernetes reads it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Value {
    /// The value written as a flag would take it (`true`, `10255`, `Webhook`).
    pub(crate) fn to_flag_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Str(s) => Some(s.clone()),
        }
    }
}

impl Scalar {
    /// How a plain scalar with this text reads.
    pub(crate) fn plain_value(text: &str) -> Value {
        resolve_plain(text)
    }

    /// Resolves the scalar with YAML 1.1 rules for plain style; a core
    /// tag (`!!int "10255"`) resolves a quoted scalar too.
    pub(crate) fn value(&self) -> Value {
        let tag = self
            .tag
            .as_deref()
            .map(|t| t.rsplit([':', '!']).next().unwrap_or(t));
        match tag {
            Some("str") => Value::Str(self.text.clone()),
            Some("int" | "bool" | "float" | "null") => resolve_plain(&self.text),
            _ if self.plain => resolve_plain(&self.text),
            _ => Value::Str(self.text.clone()),
        }
    }
}

/// go-yaml v2's resolution of a plain scalar (sigs.k8s.io/yaml): YAML 1.1
/// booleans and nulls, then Go's `strconv.ParseInt(s, 0, 64)` after removing
/// underscores, for text that starts like a number.
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    // Only text starting with a digit, a sign or a dot is tried as a number.
    if !s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return Value::Str(s.to_owned());
    }
    let plain = s.replace('_', "");
    if let Some(i) = go_parse_int(&plain) {
        return Value::Int(i);
    }
    let looks_float = plain
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_float && let Ok(f) = plain.parse::<f64>() {
        return Value::Float(f);
    }
    Value::Str(s.to_owned())
}

/// Go's `strconv.ParseInt(s, 0, 64)`: optional sign, then `0x`/`0X`,
/// `0o`/`0O`, `0b`/`0B` or a leading `0` (octal) prefix, or decimal.
pub(crate) fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

impl Node {
    pub(crate) fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The entry for `key` in a mapping; the last one when a key repeats.
    pub(crate) fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?
            .iter()
            .rev()
            .find(|(k, _)| k.as_scalar().is_some_and(|s| s.text == key))
            .map(|(k, v)| (k, v))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The string value of a scalar entry.
    pub(crate) fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_scalar().map(|s| s.text.as_str())
    }

    /// Follows a dotted key path (`authentication.webhook.enabled`),
    /// returning the last key node and its value.
    pub(crate) fn lookup(&self, path: &str) -> Option<(&Node, &Node)> {
        let mut node = self;
        let mut found = None;
        for part in path.split('.') {
            let (k, v) = node.entry(part)?;
            found = Some((k, v));
            node = v;
        }
        found
    }
}

/// A document of a (possibly multi-document) YAML file.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub(crate) root: Node,
}

impl Document {
    /// `apiVersion` and `kind`, when both are strings.
    pub(crate) fn type_meta(&self) -> Option<(&str, &str)> {
        Some((self.root.get_str("apiVersion")?, self.root.get_str("kind")?))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Error {
    pub(crate) message: String,
    /// Byte offset the error points at.
    pub(crate) offset: usize,
}

/// Converts character indices to byte offsets.
struct Offsets<'a> {
    text: &'a str,
    table: Option<Vec<usize>>,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        let table = (!text.is_ascii()).then(|| {
            let mut t: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            t.push(text.len());
            t
        });
        Self { text, table }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            None => char_index.min(self.text.len()),
            Some(t) => t.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }
}

enum Frame {
    Seq(usize, Vec<Node>, usize),
    Map(usize, Vec<(Node, Node)>, Option<Node>, usize),
}

/// Parses every document of `text`.
#[allow(clippy::too_many_lines)] // one loop over the parser's events
pub(crate) fn parse(text: &str) -> Result<Vec<Document>, Error> {
    let offsets = Offsets::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Node> = std::collections::HashMap::new();
    let mut alias_nodes = 0usize;
    let mut alias_bytes = 0usize;
    let mut root: Option<Node> = None;
    while let Some(ev) = parser.next_event() {
        let (event, span) = ev.map_err(|e| Error {
            message: e.info().to_owned(),
            offset: offsets.byte(e.marker().index()),
        })?;
        let start = offsets.byte(span.start.index());
        let end = offsets.byte(span.end.index());
        // Every node counts against the scan's budget (see
        // `source::budget`), before it is built.
        let nodes = match &event {
            Event::Scalar(..) | Event::SequenceStart(..) | Event::MappingStart(..) => 1,
            _ => 0,
        };
        if nodes > 0 && !crate::budget::take_nodes(nodes) {
            return Err(too_many_nodes(start));
        }
        let done: Option<(Node, usize)> = match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing => None,
            Event::DocumentStart(_) => {
                anchors.clear();
                None
            }
            Event::DocumentEnd => {
                if let Some(r) = root.take() {
                    docs.push(Document { root: r });
                }
                None
            }
            Event::Alias(id) => {
                let node = anchors.get(&id).cloned().ok_or_else(|| Error {
                    message: "alias to an unknown anchor".to_owned(),
                    offset: start,
                })?;
                let (nodes, bytes) = count_nodes(&node);
                if !crate::budget::take_nodes(nodes as u64) {
                    return Err(too_many_nodes(start));
                }
                alias_nodes += nodes;
                alias_bytes += bytes;
                if alias_nodes > MAX_ALIAS_NODES || alias_bytes > MAX_ALIAS_BYTES {
                    return Err(Error {
                        message: format!(
                            "aliases expand to more than {MAX_ALIAS_NODES} nodes or {MAX_ALIAS_BYTES} bytes (possible billion-laughs attack)"
                        ),
                        offset: start,
                    });
                }
                Some((node, 0))
            }
            Event::Scalar(value, style, anchor, tag) => {
                // The parser's end marker for a quoted scalar runs on over
                // trailing space and comments; end it at the closing quote.
                let end = match style {
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        quoted_end(text, start).unwrap_or(end)
                    }
                    _ => end,
                };
                let node = Node {
                    span: start..end,
                    kind: Kind::Scalar(Scalar {
                        text: value.into_owned(),
                        plain: style == ScalarStyle::Plain,
                        tag: tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                    }),
                };
                Some((node, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                push_frame(&mut stack, Frame::Seq(start, Vec::new(), anchor), start)?;
                None
            }
            Event::MappingStart(anchor, _) => {
                push_frame(
                    &mut stack,
                    Frame::Map(start, Vec::new(), None, anchor),
                    start,
                )?;
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(s, items, anchor)) => {
                    let e = items.last().map_or(end, |n| n.span.end.max(s));
                    Some((
                        Node {
                            span: s..e,
                            kind: Kind::Seq(items),
                        },
                        anchor,
                    ))
                }
                _ => return Err(unbalanced(start)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(s, entries, _, anchor)) => {
                    let e = entries.last().map_or(end, |(_, v)| v.span.end.max(s));
                    Some((
                        Node {
                            span: s..e,
                            kind: Kind::Map(entries),
                        },
                        anchor,
                    ))
                }
                _ => return Err(unbalanced(start)),
            },
        };
        let Some((node, anchor)) = done else { continue };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(_, items, _)) => items.push(node),
            Some(Frame::Map(_, entries, pending, _)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) if is_merge_key(&key) => merge_into(entries, node),
                Some(key) => entries.push((key, node)),
            },
        }
    }
    if let Some(r) = root.take() {
        docs.push(Document { root: r });
    }
    Ok(docs)
}

fn too_many_nodes(offset: usize) -> Error {
    Error {
        message: format!(
            "more than {} YAML nodes in the files of this run; refused",
            crate::budget::MAX_YAML_NODES
        ),
        offset,
    }
}

fn is_merge_key(key: &Node) -> bool {
    key.as_scalar().is_some_and(|s| s.plain && s.text == "<<")
}

/// `<<: *anchor` (or a list of them): the merged mapping's entries apply
/// where the mapping does not set the key itself (go-yaml v2 semantics).
fn merge_into(entries: &mut Vec<(Node, Node)>, value: Node) {
    let sources: Vec<Node> = match value.kind {
        Kind::Map(_) => vec![value],
        Kind::Seq(items) => items,
        Kind::Scalar(_) => Vec::new(),
    };
    let mut present: std::collections::HashSet<String> = entries
        .iter()
        .filter_map(|(k, _)| k.as_scalar().map(|s| s.text.clone()))
        .collect();
    let mut merged = Vec::new();
    for src in sources {
        if let Kind::Map(more) = src.kind {
            for (k, v) in more {
                let name = k.as_scalar().map(|s| s.text.clone()).unwrap_or_default();
                if present.insert(name) {
                    merged.push((k, v));
                }
            }
        }
    }
    // Merged entries go before the mapping's own, so that lookups (which
    // take the last match) still prefer the mapping's own keys.
    merged.append(entries);
    *entries = merged;
}

/// The content of a literal block scalar (`key: |`, `|-`, `|+`, `|2`): the
/// range from the line after its indicator to its end. Its bytes are the
/// scalar's text with the block's indentation still in front of each line,
/// so YAML inside it parses in place ([`parse_within`]). `None` for any
/// other scalar: a folded (`>`) or quoted one is not the text of its lines.
pub(crate) fn literal_block(text: &str, node: &Node) -> Option<Range<usize>> {
    node.as_scalar()?;
    // The parser's span starts at the first content character: the block's
    // indentation is before it on its line, the indicator ends the line
    // above (`key: |-`, `- |`, `key: |2 # comment`).
    let line = text
        .get(..node.span.start)?
        .rfind('\n')
        .map_or(0, |i| i + 1);
    if !text[line..node.span.start].bytes().all(|b| b == b' ') || line == 0 {
        return None;
    }
    let above = &text[..line - 1];
    let above = &above[above.rfind('\n').map_or(0, |i| i + 1)..];
    let above = above.split(" #").next().unwrap_or(above).trim_end();
    let indicator = above.rsplit([' ', '\t']).next().unwrap_or(above);
    let literal = indicator
        .strip_prefix('|')
        .is_some_and(|rest| rest.bytes().all(|b| matches!(b, b'-' | b'+' | b'1'..=b'9')));
    literal.then(|| line..node.span.end.max(line))
}

/// Parses the YAML held in `body` (a [`literal_block`]) where it stands:
/// the documents' spans (and an error's offset) are offsets in `text`, so a
/// finding or an edit lands on the outer file's line. `body` starts at a
/// line's start, so its columns are the file's. A `---` inside the block is
/// indented, so it does not start a document: one document per block, as
/// kubeadm's `ConfigMap` keys and kind's patches hold. The work is that of
/// parsing `body` alone, however many blocks a file has.
pub(crate) fn parse_within(text: &str, body: Range<usize>) -> Result<Vec<Document>, Error> {
    fn shift(node: &mut Node, by: usize) {
        node.span = node.span.start + by..node.span.end + by;
        match &mut node.kind {
            Kind::Scalar(_) => {}
            Kind::Seq(items) => items.iter_mut().for_each(|n| shift(n, by)),
            Kind::Map(entries) => {
                for (k, v) in entries {
                    shift(k, by);
                    shift(v, by);
                }
            }
        }
    }
    let Some(inner) = text.get(body.clone()) else {
        return Ok(Vec::new());
    };
    let mut docs = parse(inner).map_err(|e| Error {
        offset: e.offset + body.start,
        ..e
    })?;
    for d in &mut docs {
        shift(&mut d.root, body.start);
    }
    Ok(docs)
}

/// The offset just past the closing quote of the quoted scalar at `start`.
fn quoted_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let quote = *bytes.get(start)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn push_frame(stack: &mut Vec<Frame>, frame: Frame, at: usize) -> Result<(), Error> {
    if stack.len() >= MAX_DEPTH {
        return Err(Error {
            message: format!("nesting deeper than {MAX_DEPTH} levels"),
            offset: at,
        });
    }
    stack.push(frame);
    Ok(())
}

fn unbalanced(offset: usize) -> Error {
    Error {
        message: "unbalanced collection".to_owned(),
        offset,
    }
}

fn count_nodes(node: &Node) -> (usize, usize) {
    let (mut n, mut bytes) = (0, 0);
    let mut todo = vec![node];
    while let Some(x) = todo.pop() {
        n += 1;
        match &x.kind {
            Kind::Scalar(s) => bytes += s.text.len(),
            Kind::Seq(items) => todo.extend(items),
            Kind::Map(entries) => todo.extend(entries.iter().flat_map(|(k, v)| [k, v])),
        }
    }
    (n, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_in_a_literal_block_parses_where_it_stands() {
        let text = "# ünï\napiVersion: v1\nkind: ConfigMap\ndata:\n  config.conf: |-\n    kind: KubeProxyConfiguration\n    # café\n    metricsBindAddress: 127.0.0.1:10249\n  folded: >\n    kind: X\n  quoted: \"kind: X\"\n";
        let docs = parse(text).unwrap();
        let data = docs[0].root.get("data").unwrap();
        let block = data.get("config.conf").unwrap();
        let body = literal_block(text, block).unwrap();
        assert!(text[body.clone()].starts_with("    kind: KubeProxyConfiguration\n"));
        let inner = parse_within(text, body).unwrap();
        assert_eq!(inner.len(), 1);
        assert_eq!(inner[0].type_meta(), None);
        let (k, v) = inner[0].root.entry("metricsBindAddress").unwrap();
        assert_eq!(&text[k.span.clone()], "metricsBindAddress");
        assert_eq!(&text[v.span.clone()], "127.0.0.1:10249");
        assert_eq!(
            inner[0].root.get_str("kind"),
            Some("KubeProxyConfiguration")
        );
        // Folded and quoted scalars are not their lines' text.
        assert_eq!(literal_block(text, data.get("folded").unwrap()), None);
        assert_eq!(literal_block(text, data.get("quoted").unwrap()), None);
        // Broken YAML inside the block is an error at its offset in the file.
        let bad = "data:\n  k: |\n    a: [1\n";
        let node = parse(bad).unwrap()[0]
            .root
            .get("data")
            .unwrap()
            .get("k")
            .unwrap()
            .clone();
        let e = parse_within(bad, literal_block(bad, &node).unwrap()).unwrap_err();
        assert!(
            e.offset >= bad.find("a:").unwrap() && e.offset <= bad.len(),
            "{e:?}"
        );
    }

    #[test]
    fn byte_spans_survive_multibyte_text() {
        let text = "# café — ünï\nkind: KubeletConfiguration\nauthentication:\n  webhook:\n    enabled: no\nreadOnlyPort: \"10255\"\n---\nkind: Other\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 2);
        let (k, v) = docs[0]
            .root
            .lookup("authentication.webhook.enabled")
            .unwrap();
        assert_eq!(&text[k.span.clone()], "enabled");
        assert_eq!(&text[v.span.clone()], "no");
        assert_eq!(v.as_scalar().unwrap().value(), Value::Bool(false));
        let (_, v) = docs[0].root.lookup("readOnlyPort").unwrap();
        assert_eq!(&text[v.span.clone()], "\"10255\"");
        assert_eq!(v.as_scalar().unwrap().value(), Value::Str("10255".into()));
        assert_eq!(docs[1].type_meta(), None);
        assert_eq!(docs[1].root.get_str("kind"), Some("Other"));
    }

    #[test]
    fn quoted_spans_stop_at_the_closing_quote() {
        let text = "d: 'e''s'  # f\ng: \"h\\\"\" # i\nl:\n- 'x' # y\n- z # w\n";
        let docs = parse(text).unwrap();
        let root = &docs[0].root;
        assert_eq!(&text[root.get("d").unwrap().span.clone()], "'e''s'");
        assert_eq!(&text[root.get("g").unwrap().span.clone()], "\"h\\\"\"");
        let Kind::Seq(items) = &root.get("l").unwrap().kind else {
            panic!()
        };
        assert_eq!(&text[items[0].span.clone()], "'x'");
        assert_eq!(&text[items[1].span.clone()], "z");
    }

    #[test]
    fn yaml_1_1_scalars() {
        let v = |s: &str| resolve_plain(s);
        assert_eq!(v("0644"), Value::Int(420));
        assert_eq!(v("10_255"), Value::Int(10255));
        assert_eq!(v("On"), Value::Bool(true));
        assert_eq!(v("0.0.0.0"), Value::Str("0.0.0.0".into()));
        assert_eq!(v("127.0.0.1:10249"), Value::Str("127.0.0.1:10249".into()));
        assert_eq!(v("1.5"), Value::Float(1.5));
        assert_eq!(v("~"), Value::Null);
        assert_eq!(v("0o17"), Value::Int(15));
        assert_eq!(v("0X1F"), Value::Int(31));
        assert_eq!(v("0b101"), Value::Int(5));
        assert_eq!(v("-0x10"), Value::Int(-16));
        assert_eq!(v("1_000"), Value::Int(1000));
        assert_eq!(v("_1"), Value::Str("_1".into()));
        assert_eq!(v("09"), Value::Float(9.0));
        assert!(matches!(v(".inf"), Value::Float(f) if f.is_infinite()));
        let tagged = Scalar {
            text: "10255".into(),
            plain: false,
            tag: Some("tag:yaml.org,2002:int".into()),
        };
        assert_eq!(tagged.value(), Value::Int(10255));
    }

    #[test]
    fn merge_keys_fill_in_missing_entries() {
        let text = "base: &b\n  a: 1\n  b: 2\nx:\n  <<: *b\n  b: 3\n";
        let docs = parse(text).unwrap();
        let x = docs[0].root.get("x").unwrap();
        assert_eq!(x.get_str("a"), Some("1"));
        assert_eq!(x.get_str("b"), Some("3"));
    }

    #[test]
    fn hostile_documents_are_errors() {
        let mut deep = "a:\n".to_owned();
        for i in 1..400 {
            deep.push_str(&" ".repeat(i));
            deep.push_str("b:\n");
        }
        assert!(parse(&deep).unwrap_err().message.contains("nesting"));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_owned()
            } else {
                format!("l{}", i - 1)
            };
            let item = format!("*{prev}, ").repeat(9);
            bomb += &[
                "l",
                &i.to_string(),
                ": &l",
                &i.to_string(),
                " [",
                &item,
                "*",
                &prev,
                "]\n",
            ]
            .concat();
        }
        assert!(parse(&bomb).unwrap_err().message.contains("billion"));
        assert!(parse("a: [1, 2").is_err());
    }
}
