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
