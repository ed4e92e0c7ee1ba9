//! Every note reaches every report; several inputs are told apart; one scan
//! can write a SARIF file beside the log output; the human output follows
//! the terminal's width.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::run;

fn sarif(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["scan", "--output-format", "sarif"];
    all.extend_from_slice(args);
    serde_json::from_str(&run(&all).stdout).unwrap()
}

fn notifications(log: &serde_json::Value) -> Vec<serde_json::Value> {
    log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn notes_are_sarif_notifications_with_their_file_and_line() {
    // invalid YAML in a configuration repository: file, line and column.
    let log = sarif(&["testdata/repos/mixed-kinds"]);
    let notes = notifications(&log);
    let yaml = notes
        .iter()
        .find(|n| {
            n["message"]["text"]
                .as_str()
                .unwrap()
                .contains("invalid YAML")
        })
        .expect("the invalid YAML note");
    assert_eq!(yaml["level"], "warning");
    let physical = &yaml["locations"][0]["physicalLocation"];
    assert_eq!(
        physical["artifactLocation"]["uri"],
        "testdata/repos/mixed-kinds/broken-init.yaml"
    );
    assert_eq!(
        physical["region"],
        serde_json::json!({"startLine": 5, "startColumn": 2})
    );
    // A symlink that climbs out of the root, in an image.
    let log = sarif(&["testdata/rootfs/absolute-symlinks"]);
    let climbs = notifications(&log)
        .into_iter()
        .find(|n| {
            n["message"]["text"]
                .as_str()
                .unwrap()
                .contains("climbs above the image root")
        })
        .expect("the symlink note");
    assert_eq!(
        climbs["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "testdata/rootfs/absolute-symlinks/etc/default/kubelet"
    );
    // A masked unit: a file, no line.
    let log = sarif(&["testdata/rootfs/masked-unit"]);
    let masked = &notifications(&log)[0];
    assert!(
        masked["message"]["text"]
            .as_str()
            .unwrap()
            .contains("is masked")
    );
    assert!(
        masked["locations"][0]["physicalLocation"]
            .get("region")
            .is_none()
    );
    // No notes, no notifications.
    assert!(notifications(&sarif(&["testdata/demo"])).is_empty());
}

#[test]
fn notes_are_github_warnings() {
    let out = run(&["scan", "--format", "github", "testdata/repos/mixed-kinds"]);
    assert!(
        out.stdout.lines().any(|l| l.starts_with(
            "::warning file=testdata/repos/mixed-kinds/broken-init.yaml,line=5,col=2,title=promready note::invalid YAML at 5:2: "
        )),
        "{}",
        out.stdout
    );
    let out = run(&["scan", "--format", "github", "testdata/rootfs/masked-unit"]);
    assert_eq!(
        out.stdout,
        "::warning file=testdata/rootfs/masked-unit/etc/systemd/system/kubelet.service,title=promready note::kubelet.service is masked (linked to /dev/null): it is never started\n"
    );
    // What stops a component is a finding (PR012), an error annotation.
    let out = run(&[
        "scan",
        "--format",
        "github",
        "testdata/rootfs/config-wrong-type",
    ]);
    assert!(
        out.stdout.lines().any(|l| l.starts_with(
            "::error file=testdata/rootfs/config-wrong-type/var/lib/kubelet/config.yaml,line=11,endLine=11,col=15,endColumn=18,title=PR012 component-will-not-start::readOnlyPort: expected a number, found a string; kubelet will not start"
        )),
        "{}",
        out.stdout
    );
    // A note-severity finding (PR021) is a notice annotation.
    assert!(
        out.stdout.lines().any(|l| l.starts_with("::notice file=testdata/rootfs/config-wrong-type/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf,line=11,")
            && l.contains("title=PR021 kubelet-serving-certificate-self-signed::")),
        "{}",
        out.stdout
    );
}

#[test]
fn notes_in_an_archive_name_the_archive_and_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("masked.tar");
    assert!(
        Command::new("tar")
            .args([
                "-C",
                "testdata/rootfs/masked-unit",
                "-cf",
                tar.to_str().unwrap(),
                "."
            ])
            .status()
            .unwrap()
            .success()
    );
    let t = tar.to_str().unwrap();
    let log = sarif(&[t]);
    let note = &notifications(&log)[0];
    assert_eq!(
        note["message"]["text"],
        format!(
            "{t}:etc/systemd/system/kubelet.service: kubelet.service is masked (linked to /dev/null): it is never started"
        )
    );
    let artifact = &note["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(artifact["uri"], "etc/systemd/system/kubelet.service");
    let artifacts = log["runs"][0]["artifacts"].as_array().unwrap();
    let index = usize::try_from(artifact["index"].as_u64().unwrap()).unwrap();
    assert_eq!(artifacts[index]["parentIndex"], 0);
    assert_eq!(artifacts[0]["location"]["uri"], format!("file://{t}"));
    let out = run(&["scan", "--format", "github", t]);
    assert_eq!(
        out.stdout,
        format!(
            "::warning file={},title=promready note::etc/systemd/system/kubelet.service: kubelet.service is masked (linked to /dev/null): it is never started\n",
            t.replace(':', "%3A")
        )
    );
}

#[test]
fn with_several_inputs_human_locations_name_their_input() {
    let dir = tempfile::tempdir().unwrap();
    let copy = common::scratch_as("testdata/demo", &dir.path().join("other-image"));
    let c = copy.to_str().unwrap();
    let out = run(&["scan", "testdata/demo", c]);
    assert!(
        out.stdout
            .contains("╭─[testdata/demo/etc/default/kubelet:2:21]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("╭─[{c}/etc/default/kubelet:2:21]")),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("╭─[etc/default/kubelet"),
        "{}",
        out.stdout
    );
    // An archive's entries: ARCHIVE:path.
    let tar = dir.path().join("demo.tar");
    assert!(
        Command::new("tar")
            .args(["-C", "testdata/demo", "-cf", tar.to_str().unwrap(), "."])
            .status()
            .unwrap()
            .success()
    );
    let t = tar.to_str().unwrap();
    let out = run(&["scan", "--output-format", "concise", "testdata/demo", t]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines.contains(&format!("{t}:etc/default/kubelet:2:41: warning: PR010 kubelet-read-only-port: kubelet serves the read-only API on :10255 (set in etc/default/kubelet:2): /metrics, /stats and /pods are readable by anyone without authentication").as_str()),
        "{}",
        out.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("testdata/demo/etc/default/kubelet:2:41: warning: PR010")),
        "{}",
        out.stdout
    );
    // One input: paths as before, relative to the image root.
    let one = run(&["scan", "testdata/demo"]);
    assert!(
        one.stdout.contains("╭─[etc/default/kubelet:2:21]"),
        "{}",
        one.stdout
    );
}

#[test]
fn concise_output_is_one_line_per_finding() {
    let out = run(&["scan", "--output-format", "concise", "testdata/demo"]);
    assert_eq!(out.status, 1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{}", out.stdout);
    assert!(
        lines[4].starts_with(
            "etc/systemd/system/kubelet.service.d/10-kubeadm.conf:10:11: note: PR021 "
        ),
        "{}",
        out.stdout
    );
    assert_eq!(
        lines[0],
        "etc/default/kubelet:2:21: error: PR007 kubelet-serving-on-loopback: kubelet listens on 127.0.0.1:10250 only: Prometheus gets connection refused from other hosts and pods"
    );
    assert!(
        lines[5].starts_with("promready: 3 errors, 1 warning, 1 note in 2 files"),
        "{}",
        out.stdout
    );
    // Notes too, one a line.
    let out = run(&["scan", "--format", "concise", "testdata/repos/mixed-kinds"]);
    assert!(
        out.stdout
            .contains("\nbroken-init.yaml:5: note: invalid YAML at 5:2: "),
        "{}",
        out.stdout
    );
}

#[test]
fn one_scan_writes_the_sarif_file_and_the_log_output() {
    // ruff's --output-format, and a SARIF file on the side: annotations in
    // the log and code scanning from the same run.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("promready.sarif");
    let f = file.to_str().unwrap();
    let out = run(&[
        "scan",
        "--output-format",
        "github",
        "--sarif-file",
        f,
        "testdata/demo",
    ]);
    assert_eq!(out.status, 1);
    assert_eq!(
        out.stdout.lines().filter(|l| l.starts_with("::")).count(),
        5
    );
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 5);
    assert_eq!(log["runs"][0]["invocations"][0]["exitCode"], 1);
    // The same as the SARIF output itself.
    let direct = run(&["scan", "--format", "sarif", "testdata/demo"]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), direct.stdout);
    // `--format` stays an alias.
    assert_eq!(
        run(&["scan", "--format", "human", "testdata/demo"]).stdout,
        run(&["scan", "testdata/demo"]).stdout
    );
    let bad = run(&[
        "scan",
        "--sarif-file",
        "/nonexistent-dir/x.sarif",
        "testdata/demo",
    ]);
    assert_eq!(bad.status, 2);
    assert!(
        bad.stderr.contains("cannot write /nonexistent-dir/x.sarif"),
        "{}",
        bad.stderr
    );
}

#[test]
fn human_output_follows_the_terminal_width() {
    let width = |columns: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_promready"))
            .args(["scan", "testdata/demo"])
            .env("COLUMNS", columns)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        // The wrapped lines: messages and help, not the drawn source lines.
        text.lines()
            .filter(|l| l.trim_start().starts_with("help:") || l.contains(" × "))
            .map(|l| l.chars().count())
            .max()
            .unwrap()
    };
    assert!(width("60") <= 60, "{}", width("60"));
    assert!(width("200") > 100, "{}", width("200"));
}

#[test]
fn sarif_suggests_what_fix_writes_with_the_configured_bind_address() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("promready.yaml");
    std::fs::write(&config, "bind-address: 10.0.10.11\n").unwrap();
    let input = "testdata/fix/cp-1.30-static-pods";
    let log = sarif(&["--config", config.to_str().unwrap(), input]);
    let inserted: Vec<String> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["fixes"].as_array().cloned().unwrap_or_default())
        .flat_map(|f| f["artifactChanges"].as_array().cloned().unwrap())
        .flat_map(|c| c["replacements"].as_array().cloned().unwrap())
        .map(|r| r["insertedContent"]["text"].as_str().unwrap().to_owned())
        .collect();
    let wanted = "http://127.0.0.1:2381,http://10.0.10.11:2381";
    assert!(inserted.iter().any(|t| t.contains(wanted)), "{inserted:?}");
    assert!(
        !inserted.iter().any(|t| t.contains("0.0.0.0")),
        "{inserted:?}"
    );
    let diff = run(&["fix", "--diff", "--config", config.to_str().unwrap(), input]);
    assert!(diff.stdout.contains(wanted), "{}", diff.stdout);
}

/// `component layout` for every component of the JSON report of `path`.
fn layouts(path: &str) -> Vec<String> {
    let report: serde_json::Value =
        serde_json::from_str(&run(&["scan", "--format", "json", path]).stdout).unwrap();
    let mut out: Vec<String> = report["targets"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["component"].as_str().unwrap(),
                c["layout"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn json_names_the_layout_each_component_came_from() {
    assert_eq!(
        layouts("testdata/repos/capi-v1beta1"),
        [
            "etcd cluster-api",
            "kube-controller-manager cluster-api",
            "kube-scheduler cluster-api",
            "kubelet cluster-api"
        ]
    );
    assert_eq!(
        layouts("testdata/repos/kubeadm-v1beta3-fixed"),
        [
            "etcd kubeadm-cluster-configuration",
            "kube-controller-manager kubeadm-cluster-configuration",
            "kube-proxy component-config",
            "kube-scheduler kubeadm-cluster-configuration",
            "kubelet component-config",
            "kubelet kubeadm-node-registration"
        ]
    );
    assert!(
        layouts("testdata/repos/k3s-config")
            .iter()
            .all(|l| l.ends_with(" k3s"))
    );
    assert!(
        layouts("testdata/repos/rke2-config")
            .iter()
            .all(|l| l.ends_with(" rke2"))
    );
    assert_eq!(
        layouts("testdata/repos/kubeadm-configmaps"),
        [
            "etcd config-map",
            "kube-controller-manager config-map",
            "kube-proxy config-map",
            "kube-scheduler config-map",
            "kubelet config-map"
        ]
    );
    assert_eq!(
        layouts("testdata/repos/kind-configs"),
        [
            "etcd kind",
            "kube-controller-manager kind",
            "kube-proxy kind",
            "kube-scheduler kind",
            "kubelet kind"
        ]
    );
    let demo = layouts("testdata/demo");
    assert!(
        demo.contains(&"kubelet systemd-unit".to_owned()),
        "{demo:?}"
    );
    let mixed = layouts("testdata/repos/mixed-kinds");
    for want in [
        "kube-scheduler static-pod",
        "kubelet environment-file",
        "kubelet systemd-unit",
    ] {
        assert!(mixed.contains(&want.to_owned()), "{want}: {mixed:?}");
    }
}

/// Files that declare different Kubernetes versions are each judged with
/// their own; a file that declares none is judged with none, never with a
/// version another file chose, and a note says so in every format.
#[test]
fn each_file_is_judged_with_the_version_it_declares() {
    let input = "testdata/repos/mixed-versions";
    let report: serde_json::Value =
        serde_json::from_str(&run(&["scan", "--format", "json", input]).stdout).unwrap();
    let target = &report["targets"][0];
    assert!(target["kubernetes_version"].is_null(), "{target}");
    let mut versions: Vec<String> = target["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c["start"]["path"].as_str().unwrap(),
                c["component"].as_str().unwrap(),
                c["version"]["version"].as_str().unwrap_or("none")
            )
        })
        .collect();
    versions.sort();
    versions.dedup();
    assert_eq!(
        versions,
        [
            "dev/kind.yaml etcd 1.30.0",
            "dev/kind.yaml kube-controller-manager 1.30.0",
            "dev/kind.yaml kube-proxy 1.30.0",
            "dev/kind.yaml kube-scheduler 1.30.0",
            "kube-proxy.yaml kube-proxy none",
            "legacy-cluster.yaml etcd 1.20.15",
            "legacy-cluster.yaml kube-controller-manager 1.20.15",
            "legacy-cluster.yaml kube-scheduler 1.20.15",
        ]
    );
    let note = "the files target different Kubernetes versions: 1.30.0 (the control-plane node's image tag in dev/kind.yaml), 1.20.15 (kubernetesVersion in legacy-cluster.yaml)";
    assert!(target["notices"].to_string().contains(note), "{target}");
    let human = run(&["scan", input]);
    assert!(human.stdout.contains(note), "{}", human.stdout);
    assert!(
        human
            .stdout
            .contains("Kubernetes 1.20.15, 1.30.0 by file, unknown for the rest"),
        "{}",
        human.stdout
    );
    // One version for all, when the user gives it.
    let forced = run(&["scan", "--kubernetes-version", "1.30", input]);
    assert!(!forced.stdout.contains("different Kubernetes versions"));
    assert!(forced.stdout.contains("per --kubernetes-version"));
}

/// A file that itself declares two versions is judged with none.
#[test]
fn a_file_declaring_two_versions_is_judged_with_none() {
    let dir = tempfile::tempdir().unwrap();
    let repo = common::scratch("testdata/repos/mixed-versions", dir.path());
    std::fs::write(
        repo.join("legacy-cluster.yaml"),
        "apiVersion: kubeadm.k8s.io/v1beta2\nkind: ClusterConfiguration\nkubernetesVersion: v1.20.15\nscheduler:\n  extraArgs:\n    port: \"10251\"\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.26.0\n",
    )
    .unwrap();
    let out = run(&["scan", "--format", "json", repo.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let target = &report["targets"][0];
    for c in target["components"].as_array().unwrap() {
        if c["start"]["path"] == "legacy-cluster.yaml" {
            assert!(c["version"].is_null(), "{c}");
        }
    }
    assert!(
        target["notices"]
            .to_string()
            .contains("legacy-cluster.yaml declares more than one and so is judged with none"),
        "{target}"
    );
}
