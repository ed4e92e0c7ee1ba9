//! The command-line contract: exit codes, errors, options and listings.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::format_push_string)]

mod common;

use common::run;

#[test]
fn exit_status_is_0_clean_1_findings_2_errors() {
    assert_eq!(run(&["scan", "testdata/rootfs/clean-image"]).status, 0);
    assert_eq!(run(&["scan", "testdata/demo"]).status, 1);
    assert_eq!(
        run(&["scan", "testdata/rootfs/clean-image", "testdata/demo"]).status,
        1
    );
    assert_eq!(run(&["scan", "testdata/no-such-dir"]).status, 2);
    assert_eq!(run(&["scan"]).status, 2);
    assert_eq!(run(&["scan", "--format", "xml", "testdata/demo"]).status, 2);
}

#[test]
fn input_errors_name_the_path_and_what_to_do() {
    let missing = run(&["scan", "testdata/no-such-dir"]);
    insta::assert_snapshot!("missing_path", missing.stderr);
    let device = run(&["scan", "/dev/null"]);
    assert_eq!(device.status, 2);
    insta::assert_snapshot!("not_a_directory", device.stderr);
    // A file that is no configuration at all is ignored, not an error.
    let other = run(&["scan", "testdata/demo.expect"]);
    assert_eq!(other.status, 0, "{}", other.stderr);
    let version = run(&["scan", "--kubernetes-version", "latest", "testdata/demo"]);
    assert_eq!(version.status, 2);
    assert!(
        version
            .stderr
            .contains("`latest` is not a Kubernetes version"),
        "{}",
        version.stderr
    );
}

#[test]
fn kubernetes_version_overrides_detection() {
    let detected = run(&["scan", "--format", "json", "testdata/demo"]);
    assert!(
        detected
            .stdout
            .contains("deprecated (1.10) and removed in 1.12")
    );
    let newer = run(&[
        "scan",
        "--format",
        "json",
        "--kubernetes-version",
        "v1.12.1",
        "testdata/demo",
    ]);
    let v: serde_json::Value = serde_json::from_str(&newer.stdout).unwrap();
    assert_eq!(v["targets"][0]["kubernetes_version"]["version"], "1.12.1");
    assert_eq!(
        v["targets"][0]["kubernetes_version"]["source"],
        "--kubernetes-version"
    );
    let pr002 = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "PR002")
        .unwrap();
    assert_eq!(
        pr002["message"],
        "kubelet 1.12.1 refuses to start: --cadvisor-port is an unknown flag (removed in 1.12)"
    );
}

#[test]
fn undetected_version_is_bounded_by_the_flags_and_says_so() {
    // The rpm fixture has no package database or marker file; its kubelet
    // flags (--cadvisor-port, --allow-privileged, --network-plugin) only
    // fit a kubelet older than 1.12.
    let out = run(&[
        "scan",
        "--format",
        "json",
        "testdata/rootfs/kubeadm-1.8-rpm",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v["targets"][0]["kubernetes_version"],
        serde_json::Value::Null
    );
    let kubelet = &v["targets"][0]["components"][0];
    assert_eq!(kubelet["version"], serde_json::Value::Null);
    assert_eq!(kubelet["version_window"]["before"], "1.12");
    let findings = v["findings"].as_array().unwrap();
    // Flags the shipped kubelet accepts are not findings on a guess.
    assert!(
        !findings.iter().any(|f| f["code"] == "PR009"),
        "{findings:?}"
    );
    let pr002 = findings.iter().find(|f| f["code"] == "PR002").unwrap();
    assert!(
        pr002["message"]
            .as_str()
            .unwrap()
            .contains("the kubelet will not start after an upgrade"),
        "{}",
        pr002["message"]
    );
    assert!(
        pr002["notes"][0]
            .as_str()
            .unwrap()
            .contains("bound it to 1.8–1.11, so 1.11 was assumed")
    );
    // Removing a flag is right only for some versions: held back.
    assert_eq!(pr002["fix"]["safety"], "unsafe");
    let notices = v["targets"][0]["notices"].as_array().unwrap();
    assert!(
        notices.iter().any(|n| n["message"]
            .as_str()
            .unwrap()
            .contains("on 1.12 or later --cadvisor-port stops it")),
        "{notices:?}"
    );
    // Rules that do not depend on the version make no such note.
    let pr001 = findings.iter().find(|f| f["code"] == "PR001").unwrap();
    assert_eq!(pr001["notes"], serde_json::json!([]));
    // --authentication-token-webhook exists in every version the flags
    // allow (1.5 and later), so adding it does not depend on the version.
    assert_eq!(pr001["fix"]["safety"], "safe", "{pr001}");
}

#[test]
fn output_file_receives_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.sarif");
    let out = run(&[
        "scan",
        "--format",
        "sarif",
        "-o",
        file.to_str().unwrap(),
        "testdata/demo",
    ]);
    assert_eq!(out.status, 1);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.starts_with("promready: 3 errors, 1 warning"),
        "{}",
        out.stderr
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 5);
    let bad = run(&["scan", "-o", "/nonexistent-dir/x", "testdata/demo"]);
    assert_eq!(bad.status, 2);
    assert!(
        bad.stderr.contains("cannot write /nonexistent-dir/x"),
        "{}",
        bad.stderr
    );
}

#[test]
fn rules_and_explain() {
    insta::assert_snapshot!("rules", run(&["rules"]).stdout);
    insta::assert_snapshot!("rules_json", run(&["rules", "--format", "json"]).stdout);
    let by_code = run(&["explain", "PR001"]);
    assert_eq!(by_code.status, 0);
    insta::assert_snapshot!("explain_pr001", by_code.stdout);
    assert_eq!(
        run(&["explain", "kubelet-webhook-authz-without-token-authn"]).stdout,
        by_code.stdout
    );
    assert_eq!(run(&["explain", "pr001"]).stdout, by_code.stdout);
    let unknown = run(&["explain", "PR999"]);
    assert_eq!(unknown.status, 2);
    assert!(
        unknown.stderr.contains("no rule is called `PR999`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn every_rule_explains_itself_in_fixed_sections() {
    let rules: serde_json::Value =
        serde_json::from_str(&run(&["rules", "--format", "json"]).stdout).unwrap();
    for rule in rules.as_array().unwrap() {
        let code = rule["code"].as_str().unwrap();
        let doc = run(&["explain", code]).stdout;
        for section in [
            "## What it checks",
            "## Why it matters",
            "## Example",
            "## Fix",
            "## References",
        ] {
            assert!(doc.contains(section), "{code} lacks {section}");
        }
        assert!(doc.contains("https://"), "{code} cites no source");
    }
}

const CUSTOM_RULE: &str = r#"code: XX100
name: kubelet-anonymous-auth
component: kubelet
severity: warning
summary: kubelet serves anonymous requests
when:
  - setting: authentication.anonymous.enabled
    equals: "true"
locate: [authentication.anonymous.enabled]
labels:
  authentication.anonymous.enabled: "anonymous requests are served"
message: "kubelet {version} answers anonymous requests ({authentication.anonymous.enabled#origin})"
help: "Set --anonymous-auth=false."
docs:
  what_it_checks: Anonymous authentication.
  why_it_matters: Anonymous requests reach the authorizer.
  example: "--anonymous-auth=false"
  fix: Turn it off.
  references:
    - title: Kubelet authentication
      url: https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/
"#;

#[test]
fn user_rules_are_loaded_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kubelet-anonymous-auth.yaml"), CUSTOM_RULE).unwrap();
    let d = dir.path().to_str().unwrap();
    let out = run(&["scan", "--format", "json", "--rules", d, "testdata/demo"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let custom = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "XX100")
        .expect("custom rule fires");
    assert_eq!(
        custom["message"],
        "kubelet 1.10.13 answers anonymous requests (flag default)"
    );
    assert!(run(&["rules", "--rules", d]).stdout.contains("XX100"));

    std::fs::write(
        dir.path().join("kubelet-anonymous-auth.yaml"),
        CUSTOM_RULE.replace("equals: \"true\"", "equals: \"true\"\n    loopback: true"),
    )
    .unwrap();
    let bad = run(&["scan", "--rules", d, "testdata/demo"]);
    assert_eq!(bad.status, 2);
    let stderr = bad.stderr.replace(d, "RULES");
    insta::assert_snapshot!("bad_user_rule", stderr);

    std::fs::write(
        dir.path().join("kubelet-anonymous-auth.yaml"),
        CUSTOM_RULE.replace("XX100", "PR001"),
    )
    .unwrap();
    let dup = run(&["rules", "--rules", d]);
    assert_eq!(dup.status, 2);
    assert!(
        dup.stderr.contains("code `PR001` is already used"),
        "{}",
        dup.stderr
    );
}

#[test]
fn rule_file_errors_point_at_the_offending_node() {
    // `authentication.anonymous` is first found as the prefix of the `when`
    // setting on line 7; the unknown setting is the second item of `locate`.
    let dir = tempfile::tempdir().unwrap();
    let line = "locate: [authentication.anonymous.enabled]";
    let bad = "locate: [authentication.anonymous.enabled, authentication.anonymous]";
    std::fs::write(
        dir.path().join("kubelet-anonymous-auth.yaml"),
        CUSTOM_RULE.replace(line, bad),
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    let out = run(&["rules", "--rules", d]);
    assert_eq!(out.status, 2);
    let column = bad.find(", ").unwrap() + 3;
    assert!(
        out.stderr
            .contains(&format!("kubelet-anonymous-auth.yaml:9:{column}]")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("unknown setting")
            && out.stderr.contains("`authentication.anonymous` of"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_binary_exits_with_the_documented_codes() {
    let bin = env!("CARGO_BIN_EXE_promready");
    let status = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(status(&["scan", "testdata/rootfs/clean-image"]), Some(0));
    assert_eq!(status(&["scan", "testdata/demo"]), Some(1));
    assert_eq!(status(&["scan", "testdata/nope"]), Some(2));
    assert_eq!(status(&["--version"]), Some(0));
}

#[test]
fn fix_exit_status_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let demo = common::scratch("testdata/demo", dir.path());
    let demo = demo.to_str().unwrap();
    // On the demo's 1.10 kubelet, removing --cadvisor-port=0 would open
    // cAdvisor's port 4194: that fix is held back and PR002 remains.
    let out = run(&["fix", demo]);
    assert_eq!(out.status, 1, "{}", out.stdout);
    insta::assert_snapshot!("fix_demo", out.stdout);
    let left = run(&["scan", "--format", "json", demo]);
    // PR021 (a note) has no automatic fix: it remains too.
    assert_eq!(
        common::finding_lines(&left.stdout),
        [
            "PR002 etc/systemd/system/kubelet.service.d/10-kubeadm.conf:7",
            "PR021 etc/systemd/system/kubelet.service.d/10-kubeadm.conf:10"
        ]
    );
    assert_eq!(run(&["fix", "testdata/no-such-dir"]).status, 2);
}

#[test]
fn select_ignore_and_fail_on() {
    let only = run(&[
        "scan",
        "--format",
        "json",
        "--select",
        "PR007,kubelet-read-only-port",
        "testdata/demo",
    ]);
    assert_eq!(
        common::finding_lines(&only.stdout),
        ["PR007 etc/default/kubelet:2", "PR010 etc/default/kubelet:2"]
    );
    let without = run(&[
        "scan",
        "--format",
        "json",
        "--ignore",
        "PR001,PR002,PR007,PR021",
        "testdata/demo",
    ]);
    assert_eq!(
        common::finding_lines(&without.stdout),
        ["PR010 etc/default/kubelet:2"]
    );
    let unknown = run(&["scan", "--ignore", "PR404", "testdata/demo"]);
    assert_eq!(unknown.status, 2);
    assert!(
        unknown.stderr.contains("no rule is called `PR404`"),
        "{}",
        unknown.stderr
    );
    // PR010 is a warning: with --fail-on error it does not fail the run.
    assert_eq!(
        run(&[
            "scan",
            "--select",
            "PR010",
            "--fail-on",
            "error",
            "testdata/demo"
        ])
        .status,
        0
    );
    assert_eq!(
        run(&[
            "scan",
            "--select",
            "PR010",
            "--fail-on",
            "warning",
            "testdata/demo"
        ])
        .status,
        1
    );
    assert_eq!(
        run(&["scan", "--fail-on", "never", "testdata/demo"]).status,
        0
    );
    // A note (PR021) fails a run only with --fail-on note.
    for (fail_on, status) in [("warning", 0), ("error", 0), ("note", 1)] {
        let out = run(&[
            "scan",
            "--select",
            "PR021",
            "--fail-on",
            fail_on,
            "testdata/demo",
        ]);
        assert_eq!(out.status, status, "--fail-on {fail_on}: {}", out.stdout);
        assert!(
            out.stdout.contains("promready: 1 note in 1 file"),
            "{}",
            out.stdout
        );
    }
    // `severity:` in the configuration moves a rule to and from note.
    for (severity, code, status, summary) in [
        (
            "PR021: warning",
            "PR021",
            1,
            "promready: 1 warning in 1 file",
        ),
        ("PR010: note", "PR010", 0, "promready: 1 note in 1 file"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("promready.yaml");
        std::fs::write(&cfg, format!("severity:\n  {severity}\n")).unwrap();
        let out = run(&[
            "scan",
            "--config",
            cfg.to_str().unwrap(),
            "--select",
            code,
            "testdata/demo",
        ]);
        assert_eq!(out.status, status, "{severity}: {}", out.stdout);
        assert!(out.stdout.contains(summary), "{severity}: {}", out.stdout);
    }
}

#[test]
fn configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("promready.yaml");
    std::fs::write(
        &cfg,
        "ignore: [PR002]\nper-path-ignores:\n  \"etc/default/*\": [PR007]\nseverity:\n  PR010: error\nfail-on: error\n",
    )
    .unwrap();
    let out = run(&[
        "scan",
        "--format",
        "json",
        "--config",
        cfg.to_str().unwrap(),
        "testdata/demo",
    ]);
    assert_eq!(
        common::finding_lines(&out.stdout),
        [
            "PR001 etc/systemd/system/kubelet.service.d/10-kubeadm.conf:6",
            "PR010 etc/default/kubelet:2",
            "PR021 etc/systemd/system/kubelet.service.d/10-kubeadm.conf:10"
        ]
    );
    assert!(out.stdout.contains("\"severity\": \"error\""));
    // Found in the scanned directory without --config.
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    std::fs::copy(
        "testdata/files/kube-proxy-default.yaml",
        repo.join("proxy.yaml"),
    )
    .unwrap();
    std::fs::write(
        repo.join(".promready.yaml"),
        "ignore: [kube-proxy-metrics-on-loopback]\n",
    )
    .unwrap();
    assert_eq!(run(&["scan", repo.to_str().unwrap()]).status, 0);
    std::fs::write(
        repo.join(".promready.yaml"),
        "ignore: [PR006]\nfail_on: error\n",
    )
    .unwrap();
    let bad = run(&["scan", repo.to_str().unwrap()]);
    assert_eq!(bad.status, 2);
    insta::assert_snapshot!(
        "bad_config",
        bad.stderr.replace(repo.to_str().unwrap(), "REPO")
    );
}

#[test]
fn github_annotations() {
    let out = run(&["scan", "--format", "github", "testdata/demo"]);
    assert_eq!(out.status, 1);
    insta::assert_snapshot!("github_demo", out.stdout);
}

#[test]
fn completions_and_man_page() {
    let bash = run(&["completions", "bash"]);
    assert_eq!(bash.status, 0);
    assert!(bash.stdout.contains("promready") && bash.stdout.contains("--unsafe-fixes"));
    let man = run(&["man"]);
    assert!(
        man.stdout.starts_with(".ie"),
        "{}",
        &man.stdout[..40.min(man.stdout.len())]
    );
    // One complete page: every command, with its options, and no pointer
    // to pages that do not exist.
    for text in [
        ".SH \"PROMREADY SCAN\"",
        ".SH \"PROMREADY FIX\"",
        ".SH \"PROMREADY RULES\"",
        ".SH \"PROMREADY EXPLAIN\"",
        "\\-\\-sarif\\-file",
        "\\-\\-unsafe\\-fixes",
        "\\-\\-fail\\-on",
    ] {
        assert!(man.stdout.contains(text), "no {text} in:\n{}", man.stdout);
    }
    assert!(
        !man.stdout.contains("promready\\-scan(1)"),
        "{}",
        man.stdout
    );
    // Or one page per command.
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    assert_eq!(
        pages,
        [
            "promready-completions.1",
            "promready-explain.1",
            "promready-fix.1",
            "promready-man.1",
            "promready-rules.1",
            "promready-scan.1",
            "promready.1"
        ]
    );
    let top = std::fs::read_to_string(dir.path().join("promready.1")).unwrap();
    assert!(top.contains("promready\\-scan(1)"), "{top}");
    let scan = std::fs::read_to_string(dir.path().join("promready-scan.1")).unwrap();
    assert!(scan.contains("\\-\\-sarif\\-file"), "{scan}");
}

#[test]
fn select_and_ignore_take_spaces_after_commas() {
    let spaced = run(&[
        "scan",
        "--format",
        "json",
        "--select",
        "PR007, kubelet-read-only-port",
        "testdata/demo",
    ]);
    assert_eq!(spaced.status, 1, "{}", spaced.stderr);
    assert_eq!(
        common::finding_lines(&spaced.stdout),
        ["PR007 etc/default/kubelet:2", "PR010 etc/default/kubelet:2"]
    );
    let ignored = run(&[
        "scan",
        "--format",
        "json",
        "--ignore",
        " PR001 , PR002,PR007 , PR021,",
        "testdata/demo",
    ]);
    assert_eq!(
        common::finding_lines(&ignored.stdout),
        ["PR010 etc/default/kubelet:2"]
    );
}

#[test]
fn per_path_ignores_match_dotted_and_absolute_paths() {
    // A repository with its configuration file, scanned from its root the
    // way pre-commit passes files (`cluster.yaml`), with `./`, and by
    // absolute path.
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    std::fs::create_dir(repo.join(".git")).unwrap();
    std::fs::create_dir(repo.join("clusters")).unwrap();
    std::fs::copy(
        "testdata/files/kube-proxy-default.yaml",
        repo.join("clusters/proxy.yaml"),
    )
    .unwrap();
    std::fs::write(
        repo.join(".promready.yaml"),
        "per-path-ignores:\n  \"./clusters/*.yaml\": [PR006]\n",
    )
    .unwrap();
    let abs = repo.join("clusters/proxy.yaml");
    let abs = abs.to_str().unwrap();
    let bin = env!("CARGO_BIN_EXE_promready");
    for given in ["clusters/proxy.yaml", "./clusters/proxy.yaml", abs] {
        let out = std::process::Command::new(bin)
            .args(["scan", given])
            .current_dir(repo)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{given}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // From elsewhere, by absolute path: the pattern is relative to the
    // configuration file's directory, not to the working directory.
    let out = run(&["scan", abs]);
    assert_eq!(out.status, 0, "{}", out.stdout);
    // An absolute pattern.
    std::fs::write(
        repo.join(".promready.yaml"),
        format!(
            "per-path-ignores:\n  \"{}/clusters/**\": [PR006]\n",
            repo.display()
        ),
    )
    .unwrap();
    assert_eq!(run(&["scan", abs]).status, 0);
    // A pattern that names another directory ignores nothing.
    std::fs::write(
        repo.join(".promready.yaml"),
        "per-path-ignores:\n  \"nodes/*.yaml\": [PR006]\n",
    )
    .unwrap();
    assert_eq!(run(&["scan", abs]).status, 1);
}

#[test]
fn fix_lists_every_finding_it_leaves_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    assert_eq!(common::scratch("testdata/demo", dir.path()), demo);
    // A suppression without a reason: PR011, which has no automatic fix.
    let env = demo.join("etc/default/kubelet");
    let text = std::fs::read_to_string(&env).unwrap();
    std::fs::write(&env, format!("{text}# promready: ignore[PR003]\n")).unwrap();
    let out = run(&["fix", demo.to_str().unwrap()]);
    assert_eq!(out.status, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "remains: PR011 invalid-suppression (warning) at etc/default/kubelet:3: the suppression of PR003 gives no reason"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .trim_end()
            // PR002 is held back on the demo's 1.10 kubelet.
            .ends_with("4 findings remain (1 error, 2 warnings, 1 note)"),
        "{}",
        out.stdout
    );
}

#[test]
fn config_dir_on_1_29_needs_its_variable_and_a_bare_name_sets_nothing() {
    let notices = |case: &str| -> Vec<String> {
        let out = run(&[
            "scan",
            "--format",
            "json",
            &format!("testdata/rootfs/{case}"),
        ]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v["targets"][0]["notices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["message"].as_str().unwrap().to_owned())
            .collect()
    };
    let missing = notices("config-dir-1.29-env-missing");
    // The kubelet would not start: a PR012 finding on the flag.
    let out = run(&[
        "scan",
        "--format",
        "json",
        "testdata/rootfs/config-dir-1.29-env-missing",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "PR012"
                && f["message"].as_str().unwrap().contains(
                    "kubelet 1.29.3 refuses this flag unless KUBELET_CONFIG_DROPIN_DIR_ALPHA is set"
                )),
        "{}",
        out.stdout
    );
    assert!(
        missing
            .iter()
            .any(|n| n.contains("has no `=`: systemd ignores the assignment")),
        "{missing:?}"
    );
    assert_eq!(notices("config-dir-1.29-env-set"), Vec::<String>::new());
    // 1.30 and later need no variable.
    assert_eq!(notices("config-dir-dropins"), Vec::<String>::new());
}

#[test]
fn flags_that_fit_no_single_version_report_the_odd_one_out_and_hold_its_fix() {
    let out = run(&[
        "scan",
        "--format",
        "json",
        "testdata/rootfs/kubelet-contradicting-flags",
    ]);
    let pr009 = common::findings_of(&out.stdout, "PR009");
    // The 1.10-era flags agree with each other; --config-dir is the odd one out.
    assert_eq!(pr009.len(), 1, "{pr009:?}");
    let message = pr009[0]["message"].as_str().unwrap();
    assert!(
        message.contains("--config-dir") && message.contains("only accepted from 1.28"),
        "{message}"
    );
    assert_eq!(pr009[0]["fix"]["safety"], "unsafe");
    assert!(
        pr009[0]["fix"]["held_because"]
            .as_str()
            .unwrap()
            .contains("--kubernetes-version")
    );
}

#[test]
fn fix_refuses_a_loopback_bind_address_and_output_for_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let demo = common::scratch("testdata/demo", dir.path());
    let demo = demo.to_str().unwrap();
    let before = std::fs::read(dir.path().join("demo/etc/default/kubelet")).unwrap();
    for addr in ["::1", "127.0.0.1", "[::1]", "ff02::1", "not-an-ip"] {
        let out = run(&["fix", "--bind-address", addr, demo]);
        assert_eq!(out.status, 2, "{addr}: {}", out.stdout);
        assert!(
            out.stderr.contains(addr.trim_matches(['[', ']'])),
            "{addr}: {}",
            out.stderr
        );
    }
    // -o is for one archive: with a directory nothing is written anywhere.
    let out_file = dir.path().join("out.tar");
    let out = run(&["fix", "-o", out_file.to_str().unwrap(), demo]);
    assert_eq!(out.status, 2, "{}", out.stdout);
    assert!(
        out.stderr.contains("-o/--output takes exactly one archive"),
        "{}",
        out.stderr
    );
    assert!(!out_file.exists());
    assert_eq!(
        std::fs::read(dir.path().join("demo/etc/default/kubelet")).unwrap(),
        before
    );
    // --diff exits 1 when it would change something, 0 when not.
    let diff = run(&["fix", "--diff", demo]);
    assert_eq!(diff.status, 1, "{}", diff.stderr);
    assert!(diff.stdout.starts_with("--- a/"), "{}", diff.stdout);
    let fixed = run(&["fix", demo]);
    assert_eq!(fixed.status, 1, "{}", fixed.stdout);
    let again = run(&["fix", "--diff", demo]);
    assert_eq!(again.status, 0, "{}{}", again.stdout, again.stderr);
    assert!(again.stdout.is_empty());
}

#[test]
fn fix_lists_every_finding_it_leaves_with_its_line_after_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let repo = common::scratch("testdata/repos/suppressions", dir.path());
    let out = run(&["fix", repo.to_str().unwrap()]);
    // PR011 (a suppression without a reason) has no automatic fix.
    assert!(
        out.stdout.lines().any(|l| l
            .starts_with("remains: PR011 invalid-suppression (warning) at kubelet-config.yaml:")),
        "{}",
        out.stdout
    );
    let left =
        common::finding_lines(&run(&["scan", "--format", "json", repo.to_str().unwrap()]).stdout);
    for l in &left {
        let (code, place) = l.split_once(' ').unwrap();
        assert!(
            out.stdout.contains(&format!("{code} ")) && out.stdout.contains(place),
            "{l} is not listed:\n{}",
            out.stdout
        );
    }
}

#[test]
fn a_kube_proxy_flag_its_config_file_overrides_gets_a_note() {
    let out = run(&[
        "scan",
        "--format",
        "json",
        "testdata/rootfs/kube-proxy-config-file",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let notices = v["targets"][0]["notices"].as_array().unwrap();
    assert!(
        notices.iter().any(|n| n["message"].as_str().unwrap().contains(
            "--metrics-bind-address=0.0.0.0:10249 has no effect: kube-proxy is started with --config"
        )),
        "{notices:?}"
    );
    // The file's default decides: PR006, on the command that starts it.
    assert_eq!(
        common::finding_lines(&out.stdout),
        [
            "PR006 etc/systemd/system/kube-proxy.service:6",
            "PR021 usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf:11"
        ]
    );
}
