//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

pub use promready::Outcome;

/// A scratch copy of `fixture` (a path relative to the repository, or
/// absolute) in `dir`, under the fixture's own name; returns the copy.
pub fn scratch(fixture: impl AsRef<Path>, dir: &Path) -> PathBuf {
    let fixture = fixture.as_ref();
    scratch_as(fixture, &dir.join(fixture.file_name().unwrap_or_default()))
}

/// A scratch copy of `from` at `to` (which must not exist yet), made with
/// `cp -a` so that modes, links and hard links inside it survive; returns
/// `to`. A relative `from` is relative to the repository.
pub fn scratch_as(from: impl AsRef<Path>, to: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join(from.as_ref());
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(&from)
        .arg(to)
        .status()
        .unwrap_or_else(|e| panic!("cp: {e}"));
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
    to.to_path_buf()
}

/// Whether the tests run as root (effective user id 0, from
/// `/proc/self/status`).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let uids = s.lines().find_map(|l| l.strip_prefix("Uid:"))?.to_owned();
            uids.split_whitespace().nth(1).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

/// The findings of one rule in a JSON report.
pub fn findings_of(json: &str, code: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    v["findings"]
        .as_array()
        .map(|all| all.iter().filter(|f| f["code"] == code).cloned().collect())
        .unwrap_or_default()
}

/// Runs the CLI in-process with deterministic rendering.
pub fn run(args: &[&str]) -> Outcome {
    let mut all = vec!["promready"];
    all.extend_from_slice(args);
    promready::run(all, promready::Terminal::PLAIN)
}

/// The fixtures in `dir` that are directories (or, with `files`, the
/// YAML files), sorted by name.
fn fixtures(dir: &str, files: bool) -> Vec<(String, PathBuf)> {
    let dir = Path::new(dir);
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().to_string_lossy().into_owned();
            let wanted = if files {
                e.file_type().ok()?.is_file()
                    && (name.ends_with(".yaml")
                        || name.ends_with(".conf")
                        || name.ends_with(".env"))
            } else {
                e.file_type().ok()?.is_dir()
            };
            wanted.then(|| (name, dir.join(e.file_name())))
        })
        .collect();
    out.sort();
    out
}

/// The fixture images under `testdata/rootfs`.
pub fn cases() -> Vec<(String, PathBuf)> {
    fixtures("testdata/rootfs", false)
}

/// Every fixture: images, configuration repositories (`testdata/repos`)
/// and single files (`testdata/files`), named `kind/name`.
pub fn all_cases() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = cases()
        .into_iter()
        .map(|(n, p)| (format!("rootfs-{n}"), p))
        .collect();
    out.extend(
        fixtures("testdata/repos", false)
            .into_iter()
            .map(|(n, p)| (format!("repo-{n}"), p)),
    );
    out.extend(
        fixtures("testdata/files", true)
            .into_iter()
            .map(|(n, p)| (format!("file-{n}"), p)),
    );
    out
}

/// `CODE path:line` for every finding in a JSON report, sorted.
pub fn finding_lines(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
    let mut out: Vec<String> = v["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        // Suppressed findings are kept in the report but not reported.
        .filter(|f| f["suppressed"].is_null())
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

/// The exit status `scan --fail-on warning` (and `fix`, on what it
/// leaves) gives for a JSON report: 1 when a warning or an error is not
/// suppressed; notes alone leave it 0.
pub fn status_for_report(json: &str) -> u8 {
    let v: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
    let fails = v["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .any(|f| f["suppressed"].is_null() && f["severity"] != "note");
    if fails {
        promready::EXIT_FINDINGS
    } else {
        promready::EXIT_CLEAN
    }
}

/// The expected findings of a fixture (`<case>.expect`).
pub fn expected(path: &Path) -> Vec<String> {
    expectations(&PathBuf::from(format!("{}.expect", path.display())))
}

/// `CODE path:line` lines of an expectation file, sorted.
pub fn expectations(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    out.sort();
    out
}
