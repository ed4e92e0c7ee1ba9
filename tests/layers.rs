//! The modules of `src/` stand in layers, and an import may only run down:
//! the README's table of layers is the plan, and this test holds the code
//! to it (and the table to the code: every module is in it, once).

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

/// The README's layers, bottom first: module name → layer number.
fn layers() -> BTreeMap<String, usize> {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let start = readme
        .find("<!-- layers -->")
        .expect("the README's layer table");
    let end = readme
        .find("<!-- /layers -->")
        .expect("the end of the layer table");
    let mut out = BTreeMap::new();
    for row in readme[start..end].lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let Ok(layer) = cells[1].parse::<usize>() else {
            continue; // the header
        };
        for module in cells[2].split(',') {
            let module = module.trim().trim_matches('`');
            assert!(
                out.insert(module.to_owned(), layer).is_none(),
                "{module} is in two layers"
            );
        }
    }
    out
}

/// The top-level module a source file belongs to (`lib` for the root).
fn module_of(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    match first.strip_suffix(".rs") {
        Some("main") => "lib".to_owned(),
        Some(m) => m.to_owned(),
        None => first.into_owned(),
    }
}

/// The top-level modules a file names as `crate::…` (in `use` items and
/// paths alike), comments left out.
fn imports(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a::X, b}`: the first name of each item.
            let mut depth = 0;
            let mut item = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        rest = &group[i..];
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => item = true,
                    c if item && (c.is_alphanumeric() || c == '_') => {
                        let name: String = group[i..]
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        out.push(name);
                        item = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn imports_only_run_down_the_layers() {
    let layers = layers();
    let mut files = Vec::new();
    sources(Path::new("src"), &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in &files {
        let rel = file.strip_prefix("src").unwrap();
        let module = module_of(rel);
        let Some(&own) = layers.get(&module) else {
            wrong.push(format!(
                "{}: module `{module}` is in no layer",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for name in imports(&text) {
            if name == module {
                continue;
            }
            // Names of the crate root (`crate::EXIT_ERROR`) are the top layer.
            let theirs = layers.get(&name).copied().unwrap_or(usize::MAX);
            if theirs >= own {
                wrong.push(format!(
                    "{}: `{module}` (layer {own}) imports `crate::{name}` (layer {})",
                    file.display(),
                    if theirs == usize::MAX {
                        "of the crate root".to_owned()
                    } else {
                        theirs.to_string()
                    }
                ));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "imports that run up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_import_reader_sees_every_form() {
    let text = "use crate::a::X;\nuse crate::{b::Y, c, d::{e, f}};\nlet x = crate::g::h(); // crate::comment\n";
    assert_eq!(imports(text), ["a", "b", "c", "d", "g"]);
    assert_eq!(module_of(Path::new("fix/plan.rs")), "fix");
    assert_eq!(module_of(Path::new("scan.rs")), "scan");
    assert_eq!(module_of(Path::new("main.rs")), "lib");
}
