//! The integrations' command lines against this build of the CLI.
//!
//! The pre-commit hooks (`.pre-commit-hooks.yaml`), the GitHub Action
//! (`action.yml`) and the Packer template (`ci/packer/promready.pkr.hcl`) call
//! promready with flags of their own. Each of those command lines is run here
//! with the real binary, so that a renamed or removed flag fails `cargo test`
//! and names the file to update. `docs/integrations.md` must show those files
//! verbatim (`ci/integration/docs-check.sh`). The integrations themselves run
//! against pre-commit, Packer, the action's steps and the SARIF validator in
//! `ci/integration/run.sh`.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The promready command lines in `text`: the arguments after a `promready`
/// or `"$PROMREADY"` word followed by `scan` or `fix`, up to the end of the
/// line, a `;` or a `||`, `&&` or `|`. Comment lines are skipped. Words lose their quotes,
/// backslashes and trailing commas (HCL strings, shell quoting).
fn command_lines(text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            let program = word.trim_matches(|c| c == '"' || c == '\\');
            if program != "promready" && program != "$PROMREADY" {
                continue;
            }
            let mut args = Vec::new();
            for raw in &words[i + 1..] {
                if matches!(*raw, "||" | "&&" | "|") {
                    break;
                }
                let end = raw.contains(';');
                let arg: String = raw
                    .chars()
                    .filter(|c| !matches!(c, '"' | '\\' | ';'))
                    .collect();
                let arg = arg.trim_end_matches(',').to_owned();
                if !arg.is_empty() {
                    args.push(arg);
                }
                if end {
                    break;
                }
            }
            if matches!(args.first().map(String::as_str), Some("scan" | "fix")) {
                found.push(args);
            }
        }
    }
    found
}

/// Runs `args` (from `file`) with its variables bound to test inputs, in a
/// scratch copy of the demo image and the pre-commit fixture, and checks that
/// promready accepted the command line (exit status 0 or 1, not 2).
fn run_accepted(file: &str, args: &[String], extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    common::scratch_as("testdata/demo", &dir.path().join("image"));
    fs::copy(
        repo().join("testdata/integration/pre-commit/cluster.yaml"),
        dir.path().join("cluster.yaml"),
    )
    .unwrap();
    let sarif = dir.path().join("out.sarif");
    let mut bound: Vec<String> = Vec::new();
    for arg in args {
        bound.push(match arg.as_str() {
            // action.yml
            "$PROMREADY_PATHS" => "image cluster.yaml".to_owned(),
            "$PROMREADY_SARIF" => sarif.display().to_string(),
            "$PROMREADY_FAIL_ON" => "error".to_owned(),
            "$format" => "github".to_owned(),
            // ci/packer/promready.pkr.hcl
            "$ROOTFS" => "image".to_owned(),
            other => {
                assert!(
                    !other.contains('$'),
                    "{file}: `promready {}` uses {other}: bind it in tests/integrations.rs",
                    args.join(" ")
                );
                other.to_owned()
            }
        });
    }
    // `$PROMREADY_PATHS` is split into words by the shell.
    let bound: Vec<String> = bound
        .iter()
        .flat_map(|a| a.split(' ').map(str::to_owned).collect::<Vec<_>>())
        .chain(extra.iter().map(|s| (*s).to_owned()))
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_promready"))
        .args(&bound)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let status = out.status.code();
    assert!(
        matches!(status, Some(0 | 1)),
        "{file}: `promready {}` is not accepted (exit status {status:?}):\n{}",
        bound.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    if bound.iter().any(|a| a == "sarif" || a == "--sarif-file") {
        let log: serde_json::Value = serde_json::from_slice(&fs::read(&sarif).unwrap()).unwrap();
        assert_eq!(
            log["version"], "2.1.0",
            "{file}: no SARIF 2.1.0 log written"
        );
    }
}

fn read(file: &str) -> String {
    fs::read_to_string(repo().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

#[test]
fn pre_commit_hook_entries_are_accepted() {
    let manifest = read(".pre-commit-hooks.yaml");
    let entries: Vec<&str> = manifest
        .lines()
        .filter(|l| l.trim_start().starts_with("entry:"))
        .collect();
    let hooks = command_lines(&entries.join("\n"));
    let kinds: Vec<&str> = hooks.iter().map(|a| a[0].as_str()).collect();
    assert_eq!(
        kinds,
        ["scan", "fix"],
        "the promready and promready-fix hooks"
    );
    // pre-commit appends the staged file names (pass_filenames: true).
    for args in &hooks {
        run_accepted(".pre-commit-hooks.yaml", args, &["cluster.yaml"]);
    }
}

#[test]
fn github_action_command_lines_are_accepted() {
    let lines = command_lines(&read("action.yml"));
    // One scan writes the log output and the SARIF file.
    assert_eq!(lines.len(), 1, "the scan step: {lines:?}");
    assert!(lines[0].iter().any(|a| a == "--sarif-file"), "{lines:?}");
    for args in &lines {
        assert_eq!(args[0], "scan");
        run_accepted("action.yml", args, &[]);
    }
}

#[test]
fn packer_template_command_lines_are_accepted() {
    let lines = command_lines(&read("ci/packer/promready.pkr.hcl"));
    let kinds: Vec<&str> = lines.iter().map(|a| a[0].as_str()).collect();
    assert_eq!(kinds, ["fix", "scan"], "fix, then scan: {lines:?}");
    for args in &lines {
        run_accepted("ci/packer/promready.pkr.hcl", args, &[]);
    }
}

#[test]
fn command_lines_are_found_in_each_syntax() {
    assert_eq!(
        command_lines("  entry: promready scan --quiet\n# promready fix x\n"),
        [["scan", "--quiet"]]
    );
    assert_eq!(
        command_lines(
            r#"      "if [ \"$X\" = true ]; then \"$PROMREADY\" fix --quiet \"$ROOTFS\"; fi","#
        ),
        [["fix", "--quiet", "$ROOTFS"]]
    );
    assert_eq!(
        command_lines(r#"    promready scan -o "$PROMREADY_SARIF" -- $PROMREADY_PATHS"#),
        [["scan", "-o", "$PROMREADY_SARIF", "--", "$PROMREADY_PATHS"]]
    );
    assert_eq!(
        command_lines(
            r#"      "then \"$PROMREADY\" fix --quiet \"$ROOTFS\" || [ $? -eq 1 ]; fi","#
        ),
        [["fix", "--quiet", "$ROOTFS"]]
    );
}

#[test]
fn integration_checks_keep_their_state_per_checkout() {
    // Two checkouts (here: two copies of ci/integration/lib.sh) get caches of
    // their own, so that both can run .ci/run at once; a given
    // PROMREADY_CI_CACHE still wins.
    let tmp = tempfile::tempdir().unwrap();
    let cache_of = |checkout: &str, given: Option<&str>| {
        let dir = tmp.path().join(checkout).join("ci/integration");
        fs::create_dir_all(&dir).unwrap();
        fs::copy(repo().join("ci/integration/lib.sh"), dir.join("lib.sh")).unwrap();
        fs::write(
            dir.join("probe.sh"),
            "source \"$(dirname \"$0\")/lib.sh\"\necho \"$CACHE\"\n",
        )
        .unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg(dir.join("probe.sh"))
            .env("TMPDIR", tmp.path())
            .env_remove("PROMREADY_CI_CACHE");
        if let Some(g) = given {
            cmd.env("PROMREADY_CI_CACHE", g);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (a, b) = (cache_of("a", None), cache_of("b", None));
    assert_ne!(a, b);
    assert_eq!(a, cache_of("a", None), "the same checkout keeps its cache");
    assert!(a.starts_with(&tmp.path().display().to_string()), "{a}");
    let given = tmp.path().join("shared").display().to_string();
    assert_eq!(cache_of("a", Some(&given)), given);
    // run.sh and the fuzz runner compute the same default as lib.sh.
    let default = "promready-ci-cache-$(printf '%s' ";
    for script in [
        "ci/integration/lib.sh",
        "ci/integration/run.sh",
        "ci/fuzz/run.sh",
    ] {
        assert!(read(script).contains(default), "{script}");
    }
}

#[test]
fn docs_show_the_integration_files_verbatim() {
    let out = Command::new("bash")
        .arg(repo().join("ci/integration/docs-check.sh"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
