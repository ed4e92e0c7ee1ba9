//! Typed loading of promready's own YAML data (rules and components), with
//! errors that point into the file.

use std::ops::Range;

use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value as Json};

use crate::parse::yaml::{self, Kind, Node, Value};

/// A data file that does not fit its schema.
#[derive(Debug, Clone)]
pub(crate) struct DataError {
    pub(crate) message: String,
    pub(crate) span: Range<usize>,
}

/// A data file built into promready: its YAML, and the JSON that the build
/// made of it with [`yaml_to_json`] (parsing JSON at start-up is several
/// times faster than parsing YAML).
pub(crate) type Builtin = (&'static str, &'static str, &'static str);

/// The built-in data files of a directory, sorted by file name, as
/// [`Builtin`]s: `builtin!("rules")` or `builtin!("components")` (the lists
/// `build.rs` writes).
macro_rules! builtin {
    ($list:literal) => {
        include!(concat!(env!("OUT_DIR"), "/builtin/", $list, ".rs"))
    };
}
pub(crate) use builtin;

/// Deserialises a data file into `T`: a built-in one from the JSON the
/// build made of it, any other from its YAML `text`.
pub(crate) fn from_data<T: DeserializeOwned>(
    text: &str,
    json: Option<&str>,
) -> Result<T, DataError> {
    match json {
        Some(json) => serde_json::from_str(json).map_err(|e| DataError {
            message: e.to_string(),
            span: 0..0,
        }),
        None => from_yaml(text),
    }
}

/// The single YAML document of `text`.
fn document(text: &str) -> Result<yaml::Document, DataError> {
    let mut docs = yaml::parse(text).map_err(|e| DataError {
        message: e.message,
        span: e.offset..e.offset,
    })?;
    if docs.len() != 1 {
        return Err(DataError {
            message: format!("expected one YAML document, found {}", docs.len()),
            span: 0..0,
        });
    }
    Ok(docs.remove(0))
}

/// The JSON value of the single YAML document of `text` (for `build.rs`).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn yaml_to_json(text: &str) -> Result<Json, DataError> {
    Ok(to_json(&document(text)?.root))
}

/// Deserialises the single document of `text` into `T`.
pub(crate) fn from_yaml<T: DeserializeOwned>(text: &str) -> Result<T, DataError> {
    let doc = document(text)?;
    let json = to_json(&doc.root);
    serde_path_to_error::deserialize(json).map_err(|e| {
        let span = locate(&doc.root, e.path()).unwrap_or(doc.root.span.start..doc.root.span.start);
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        DataError {
            message: if path == "." {
                inner
            } else {
                format!("{path}: {inner}")
            },
            span,
        }
    })
}

fn to_json(node: &Node) -> Json {
    match &node.kind {
        Kind::Scalar(s) => match s.value() {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Int(i) => Json::Number(i.into()),
            Value::Float(f) => {
                Number::from_f64(f).map_or_else(|| Json::String(s.text.clone()), Json::Number)
            }
            Value::Str(t) => Json::String(t),
        },
        Kind::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Kind::Map(entries) => {
            let mut m = Map::new();
            for (k, v) in entries {
                let key = k.as_scalar().map_or_else(String::new, |s| s.text.clone());
                m.insert(key, to_json(v));
            }
            Json::Object(m)
        }
    }
}

fn locate(root: &Node, path: &serde_path_to_error::Path) -> Option<Range<usize>> {
    use serde_path_to_error::Segment;
    let mut node = root;
    let mut span = root.span.clone();
    for seg in path {
        match seg {
            Segment::Map { key } => {
                let (k, v) = node.entry(key)?;
                span = k.span.clone();
                node = v;
            }
            Segment::Seq { index } => {
                let Kind::Seq(items) = &node.kind else {
                    return Some(span);
                };
                node = items.get(*index)?;
                span = node.span.clone();
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    Some(span)
}

/// Where a semantic error sits in a data file: a path of keys and list
/// indices from the document's root (as serde walked it), and what to point
/// at there. Resolved against the file's YAML tree by [`Source::error`].
#[derive(Debug, Clone, Default)]
pub(crate) struct At {
    path: Vec<Seg>,
    target: Target,
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Default)]
enum Target {
    /// The node: a scalar, or the first key or item of a collection.
    #[default]
    Value,
    /// The key of the last map entry of the path.
    Key,
    /// The `n`th key (in file order, from 0) of the mapping at the path
    /// among these names.
    KeyAmong(&'static [&'static str], usize),
    /// This text inside the scalar at the path (the scalar if it is not
    /// found there, as when escapes or folding change it).
    Within(String),
}

impl At {
    /// The document's root.
    pub(crate) fn root() -> Self {
        At::default()
    }

    /// The value of `key` in the mapping here.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut at = self.clone();
        at.path.push(Seg::Key(key.to_owned()));
        at
    }

    /// Item `i` of the list here.
    pub(crate) fn index(&self, i: usize) -> Self {
        let mut at = self.clone();
        at.path.push(Seg::Index(i));
        at
    }

    /// The key itself of the last entry, not its value.
    pub(crate) fn the_key(mut self) -> Self {
        self.target = Target::Key;
        self
    }

    /// The `n`th key (from 0, in file order) among `names` of the mapping here.
    pub(crate) fn nth_key_among(mut self, names: &'static [&'static str], n: usize) -> Self {
        self.target = Target::KeyAmong(names, n);
        self
    }

    /// `needle` inside the scalar here.
    pub(crate) fn within(mut self, needle: &str) -> Self {
        self.target = Target::Within(needle.to_owned());
        self
    }
}

/// A data file's text, with its YAML tree parsed the first time an error
/// needs a span (a built-in file is loaded from JSON, which has none).
pub(crate) struct Source<'a> {
    text: &'a str,
    root: std::cell::OnceCell<Option<Node>>,
}

impl<'a> Source<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Source {
            text,
            root: std::cell::OnceCell::new(),
        }
    }

    /// An error located at `at`.
    pub(crate) fn error(&self, message: String, at: &At) -> DataError {
        DataError {
            message,
            span: self.span(at),
        }
    }

    /// The byte span of `at`; the deepest node of its path that exists
    /// when the rest does not; `0..0` if the text does not parse.
    pub(crate) fn span(&self, at: &At) -> Range<usize> {
        let root = self
            .root
            .get_or_init(|| document(self.text).ok().map(|d| d.root));
        let Some(root) = root else {
            return 0..0;
        };
        let mut node = root;
        let mut key = None;
        for seg in &at.path {
            let next = match seg {
                Seg::Key(k) => node.entry(k).map(|(k, v)| (Some(k), v)),
                Seg::Index(i) => match &node.kind {
                    Kind::Seq(items) => items.get(*i).map(|v| (None, v)),
                    _ => None,
                },
            };
            let Some((k, v)) = next else {
                return head(node);
            };
            key = k;
            node = v;
        }
        match &at.target {
            Target::Value => head(node),
            Target::Key => key.map_or_else(|| head(node), |k| k.span.clone()),
            Target::KeyAmong(names, n) => node
                .as_map()
                .and_then(|entries| {
                    entries
                        .iter()
                        .filter(|(k, _)| {
                            k.as_scalar()
                                .is_some_and(|s| names.contains(&s.text.as_str()))
                        })
                        .nth(*n)
                })
                .map_or_else(|| head(node), |(k, _)| k.span.clone()),
            Target::Within(needle) => {
                let span = head(node);
                match self
                    .text
                    .get(span.clone())
                    .and_then(|t| t.find(needle.as_str()))
                {
                    Some(i) => span.start + i..span.start + i + needle.len(),
                    None => span,
                }
            }
        }
    }
}

/// What an error on `node` points at: a scalar, or the first key or item of
/// a collection (the whole of an empty one).
fn head(node: &Node) -> Range<usize> {
    match &node.kind {
        Kind::Scalar(_) => node.span.clone(),
        Kind::Map(entries) => entries
            .first()
            .map_or_else(|| node.span.clone(), |(k, _)| k.span.clone()),
        Kind::Seq(items) => items.first().map_or_else(|| node.span.clone(), head),
    }
}

/// A scalar written in a data file, compared as the text a flag would carry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum ScalarText {
    Str(String),
    Bool(bool),
    Int(i64),
}

impl ScalarText {
    pub(crate) fn text(&self) -> String {
        match self {
            ScalarText::Str(s) => s.clone(),
            ScalarText::Bool(b) => b.to_string(),
            ScalarText::Int(i) => i.to_string(),
        }
    }
}

/// Fails unless `builtin` lists exactly the `*.yaml` files of `dir`
/// (relative to the crate root), sorted by file name, as the build writes
/// the list, and each one's JSON is what its YAML reads as now.
#[cfg(test)]
pub(crate) fn assert_registered(dir: &str, builtin: &[Builtin]) {
    for (path, yaml, json) in builtin {
        let built: Json = serde_json::from_str(json).expect("built-in JSON");
        let now = yaml_to_json(yaml).map_err(|e| e.message);
        assert_eq!(Ok(built), now, "{path}: rebuild to refresh its JSON");
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut on_disk: Vec<String> = std::fs::read_dir(path)
        .expect("data directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    on_disk.sort();
    let built: Vec<String> = builtin.iter().map(|(p, ..)| (*p).to_owned()).collect();
    assert_eq!(built, on_disk, "rebuild to list every {dir}/*.yaml");
}
