//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

pub use promready::Outcome;

/// Runs the CLI in-process with deterministic rendering.
pub fn run(args: &[&str]) -> Outcome {
    let mut all = vec!["promready"];
    all.extend_from_slice(args);
    promready::run(all, promready::Terminal::PLAIN)
}

/// The fixture images under `testdata/rootfs`, sorted by name.
pub fn cases() -> Vec<(String, PathBuf)> {
    let dir = Path::new("testdata/rootfs");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .expect("testdata/rootfs exists")
        .filter_map(|e| {
            let e = e.ok()?;
            e.file_type().ok()?.is_dir().then(|| {
                let name = e.file_name().to_string_lossy().into_owned();
                (name, dir.join(e.file_name()))
            })
        })
        .collect();
    out.sort();
    out
}

/// `CODE path:line` for every finding in a JSON report, sorted.
pub fn finding_lines(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
    let mut out: Vec<String> = v["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}",
                f["code"].as_str().unwrap_or_default(),
                f["location"]["path"].as_str().unwrap_or_default(),
                f["location"]["line"]
            )
        })
        .collect();
    out.sort();
    out
}

/// The expected findings of a fixture (`<case>.expect`).
pub fn expected(path: &Path) -> Vec<String> {
    let file = std::path::PathBuf::from(format!("{}.expect", path.display()));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    out.sort();
    out
}
