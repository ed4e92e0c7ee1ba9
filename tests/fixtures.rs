//! Every fixture image reports exactly the findings its `.expect` file
//! lists, and its human, JSON and SARIF output is pinned by snapshots.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::format_push_string)]

mod common;

use common::{all_cases, expected, finding_lines, run, status_for_report};

#[test]
fn every_fixture_reports_exactly_its_expected_findings() {
    let mut failures = Vec::new();
    let mut all = all_cases();
    all.push(("demo".to_owned(), "testdata/demo".into()));
    for (name, path) in all {
        let out = run(&["scan", "--format", "json", path.to_str().unwrap()]);
        let got = finding_lines(&out.stdout);
        let want = expected(&path);
        // Notes alone leave the exit status 0 (`--fail-on warning`).
        let status = status_for_report(&out.stdout);
        if got != want || out.status != status {
            failures.push(format!(
                "{name}: got {got:?} (exit {}), want {want:?} (exit {status})\n{}",
                out.status, out.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every rule fires in some fixture, and stays quiet in another fixture
/// that holds a component the rule judges (for a rule of any component, a
/// fixture with any component): a rule that fired wherever it applies
/// would pass every `.expect` file that lists it and still be wrong.
#[test]
fn every_rule_fires_in_some_fixture_and_stays_quiet_in_another() {
    let rules: serde_json::Value =
        serde_json::from_str(&run(&["rules", "--format", "json"]).stdout).unwrap();
    // Each fixture: its name, its expected findings and the components its
    // scan found.
    let cases: Vec<(String, Vec<String>, Vec<String>)> = all_cases()
        .into_iter()
        .map(|(name, p)| {
            let out = run(&["scan", "--format", "json", p.to_str().unwrap()]);
            let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            let components = v["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|t| t["components"].as_array().into_iter().flatten())
                .filter_map(|c| c["component"].as_str().map(str::to_owned))
                .collect();
            (name, expected(&p), components)
        })
        .collect();
    for rule in rules.as_array().unwrap() {
        let code = rule["code"].as_str().unwrap();
        let component = rule["component"].as_str().unwrap();
        let fires_in = |e: &[String]| e.iter().any(|l| l.starts_with(&format!("{code} ")));
        let applies = |c: &[String]| {
            if component == "any" {
                !c.is_empty()
            } else {
                c.iter().any(|x| x == component)
            }
        };
        assert!(
            cases.iter().any(|(_, e, _)| fires_in(e)),
            "{code} fires in no fixture"
        );
        let quiet: Vec<&str> = cases
            .iter()
            .filter(|(_, e, c)| applies(c) && !fires_in(e))
            .map(|(n, _, _)| n.as_str())
            .collect();
        assert!(
            !quiet.is_empty(),
            "{code} fires in every fixture with {component}: none shows it staying quiet"
        );
    }
}

#[test]
fn human_output() {
    for (name, path) in all_cases() {
        let out = run(&["scan", path.to_str().unwrap()]);
        insta::with_settings!({snapshot_suffix => name.clone(), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("human", out.stdout);
        });
    }
}

#[test]
fn demo_in_every_format() {
    let human = run(&["scan", "testdata/demo"]);
    insta::assert_snapshot!("demo_human", human.stdout);
    let json = run(&["scan", "--format", "json", "testdata/demo"]);
    insta::assert_snapshot!("demo_json", json.stdout);
    let sarif = run(&["scan", "--format", "sarif", "testdata/demo"]);
    // The scanned root's absolute URI depends on where the checkout is.
    insta::with_settings!({filters => vec![(r#"file://[^"]*/testdata/"#, "file://[CHECKOUT]/testdata/")]}, {
        insta::assert_snapshot!("demo_sarif", sarif.stdout);
    });
}

#[test]
fn json_shows_provenance_from_config_files_and_notices() {
    for case in ["config-yaml11-bool", "masked-unit", "absolute-symlinks"] {
        let out = run(&[
            "scan",
            "--format",
            "json",
            &format!("testdata/rootfs/{case}"),
        ]);
        insta::with_settings!({snapshot_suffix => case, prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("json", out.stdout);
        });
    }
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    // tests/data/sarif-schema-2.1.0.json is the OASIS schema
    // (oasis-tcs/sarif-spec, Schemata/sarif-schema-2.1.0.json).
    // The published file's `run.language` pattern has a stray `]` that ECMA
    // 262 regex engines reject; it is mended here, the vendored file stays as
    // published.
    let published = include_str!("data/sarif-schema-2.1.0.json");
    let broken = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
    assert!(published.contains(broken));
    let mended = published.replace(broken, r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#);
    let schema: serde_json::Value = serde_json::from_str(&mended).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut inputs: Vec<Vec<String>> = all_cases()
        .into_iter()
        .map(|(_, p)| vec![p.display().to_string()])
        .collect();
    inputs.push(vec!["testdata/demo".to_owned()]);
    // Archives (entries as nested artifacts, notes as notifications), an
    // input that cannot be scanned (an error notification), skipped files.
    let dir = tempfile::tempdir().unwrap();
    for image in ["testdata/demo", "testdata/rootfs/masked-unit"] {
        let tar = dir.path().join(format!("{}.tar", image.replace('/', "-")));
        let ok = std::process::Command::new("tar")
            .args(["-C", image, "-cf", tar.to_str().unwrap(), "."])
            .status()
            .unwrap();
        assert!(ok.success());
        inputs.push(vec![tar.display().to_string()]);
    }
    inputs.push(vec![
        "testdata/demo".to_owned(),
        "testdata/no-such-image".to_owned(),
    ]);
    inputs.push(vec![
        "testdata/files/kube-proxy-default.yaml".to_owned(),
        "testdata/files/README.md".to_owned(),
    ]);
    for input in inputs {
        let mut args = vec!["scan", "--format", "sarif"];
        args.extend(input.iter().map(String::as_str));
        let out = run(&args);
        let sarif: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&sarif)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{input:?}: {errors:#?}");
    }
}
