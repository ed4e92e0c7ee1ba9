//! Wrong inputs fail, loudly: an archive promready cannot read, a file that
//! is no archive, an image without a component, a directory without
//! configuration. With several inputs, the others are still scanned and
//! reported, and the exit status is 2.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::run;

/// Writes `bytes` to `dir/name`.
fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A tar of the demo image.
fn demo_tar(dir: &Path) -> PathBuf {
    let out = dir.join("demo.tar");
    let ok = Command::new("tar")
        .args(["-C", "testdata/demo", "-cf", out.to_str().unwrap(), "."])
        .status()
        .unwrap();
    assert!(ok.success());
    out
}

/// `data` compressed by `tool` (`xz`, `bzip2`) when it is installed, else
/// the format's magic bytes followed by `data`.
fn compressed(tool: &str, magic: &[u8], data: &[u8]) -> Vec<u8> {
    let real = Command::new(tool)
        .args(["-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take()?.write_all(data).ok()?;
            let out = child.wait_with_output().ok()?;
            out.status.success().then_some(out.stdout)
        });
    real.unwrap_or_else(|| [magic, data].concat())
}

#[track_caller]
fn input_error(path: &Path, reason: &str) {
    let out = run(&["scan", path.to_str().unwrap()]);
    assert_eq!(
        out.status,
        2,
        "{}: {}{}",
        path.display(),
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr.contains(&path.display().to_string()) && out.stderr.contains(reason),
        "{}: want {reason:?} in:\n{}",
        path.display(),
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
fn archives_in_a_format_promready_does_not_read_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let tar = std::fs::read(demo_tar(dir.path())).unwrap();
    let xz = put(
        dir.path(),
        "demo.tar.xz",
        &compressed("xz", b"\xfd7zXZ\x00", &tar),
    );
    input_error(&xz, "an xz-compressed file, which promready does not read");
    let bz = put(
        dir.path(),
        "demo.tar.bz2",
        &compressed("bzip2", b"BZh9", &tar),
    );
    input_error(&bz, "a bzip2-compressed file");
    // A zip named like a tarball: the content decides.
    let zip = put(
        dir.path(),
        "demo.tar.gz",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00rest",
    );
    input_error(&zip, "a zip archive");
    let qcow2 = put(dir.path(), "node.qcow2", b"QFI\xfb\x00\x00\x00\x03rest");
    input_error(&qcow2, "a QCOW2 disk image");
    let out = run(&["scan", qcow2.to_str().unwrap()]);
    assert!(out.stderr.contains("root file system"), "{}", out.stderr);
    // Each with what to do.
    let out = run(&["scan", xz.to_str().unwrap()]);
    assert!(out.stderr.contains("zstd"), "{}", out.stderr);
}

#[test]
fn empty_and_non_tar_archives_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    input_error(
        &put(dir.path(), "image.tar", b""),
        "not a tar archive: the file is empty",
    );
    input_error(
        &put(dir.path(), "image.tar", b"just text\n"),
        "not a tar archive: it does not start with a tar header",
    );
    input_error(&put(dir.path(), "image.tgz", b""), "the file is empty");
    // A gzip stream that holds no tar is a read error of its own.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut e, b"not a tar at all\n").unwrap();
    let gz = put(dir.path(), "image.tar.gz", &e.finish().unwrap());
    let out = run(&["scan", gz.to_str().unwrap()]);
    assert_eq!(out.status, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&gz.display().to_string()),
        "{}",
        out.stderr
    );
}

/// A Debian root filesystem without any Kubernetes component.
fn plain_debian(root: &Path) {
    put(root, "etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n");
    put(root, "etc/hostname", b"debian\n");
    put(
        root,
        "usr/lib/systemd/system/cron.service",
        b"[Service]\nExecStart=/usr/sbin/cron -f\n",
    );
    put(
        root,
        "var/lib/dpkg/status",
        b"Package: base-files\nStatus: install ok installed\nVersion: 12.4\n\n",
    );
}

#[test]
fn an_image_without_any_component_is_not_a_node_image() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    plain_debian(&root);
    input_error(
        &root,
        "no kubelet and no control-plane component: is this a node image?",
    );
    // The same as an archive.
    let tar = dir.path().join("rootfs.tar");
    assert!(
        Command::new("tar")
            .args([
                "-C",
                root.to_str().unwrap(),
                "-cf",
                tar.to_str().unwrap(),
                "."
            ])
            .status()
            .unwrap()
            .success()
    );
    input_error(&tar, "is this a node image?");
    // A masked kubelet, a binary without a unit, a static pod manifest: all
    // are node images, with or without findings.
    let masked = dir.path().join("masked");
    plain_debian(&masked);
    std::fs::create_dir_all(masked.join("etc/systemd/system")).unwrap();
    std::os::unix::fs::symlink(
        "/dev/null",
        masked.join("etc/systemd/system/kubelet.service"),
    )
    .unwrap();
    assert_eq!(run(&["scan", masked.to_str().unwrap()]).status, 0);
    let binary = dir.path().join("binary");
    plain_debian(&binary);
    put(&binary, "usr/bin/kubelet", b"");
    assert_eq!(run(&["scan", binary.to_str().unwrap()]).status, 0);
    // A container image saved with `docker save` is not a root filesystem.
    let saved = dir.path().join("saved");
    put(&saved, "manifest.json", b"[]\n");
    put(&saved, "repositories", b"{}\n");
    let saved_tar = dir.path().join("saved.tar");
    assert!(
        Command::new("tar")
            .args([
                "-C",
                saved.to_str().unwrap(),
                "-cf",
                saved_tar.to_str().unwrap(),
                "."
            ])
            .status()
            .unwrap()
            .success()
    );
    input_error(&saved_tar, "container image");
}

#[test]
fn a_directory_without_configuration_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    input_error(
        &empty,
        "no configuration promready reads, and not a root filesystem",
    );
    // Unrelated YAML only (the non-kubeadm-yaml fixture without its one
    // KubeletConfiguration).
    let other = dir.path().join("other");
    put(
        &other,
        "docker-compose.yml",
        b"services:\n  web:\n    image: nginx\n",
    );
    put(&other, "charts/x/Chart.yaml", b"apiVersion: v2\nname: x\n");
    put(&other, "README.md", b"# not configuration\n");
    input_error(&other, "no configuration promready reads");
}

#[test]
fn named_files_that_are_not_configuration_are_skipped_with_a_note_under_verbose() {
    // The pre-commit case: the hook passes every staged file that matches
    // its filter; those that are not Kubernetes configuration are skipped.
    let dir = tempfile::tempdir().unwrap();
    let other = put(dir.path(), "values.yaml", b"replicas: 3\n");
    let binary = put(dir.path(), "blob.conf", b"\x00\x01\x02");
    let config = "testdata/files/kube-proxy-default.yaml";
    let (o, b) = (other.to_str().unwrap(), binary.to_str().unwrap());
    let plain = run(&["scan", o, b, config]);
    assert_eq!(plain.status, 1, "{}", plain.stderr);
    assert!(!plain.stdout.contains("skipped"), "{}", plain.stdout);
    let verbose = run(&["scan", "-v", o, b, config]);
    assert!(
        verbose.stdout.contains(&format!(
            "note: {o}: holds no configuration promready reads"
        )),
        "{}",
        verbose.stdout
    );
    assert!(
        verbose
            .stdout
            .contains(&format!("note: {b}: not a text file; skipped")),
        "{}",
        verbose.stdout
    );
    // JSON always lists them.
    let json = run(&["scan", "--format", "json", o, b, config]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let skipped: Vec<&str> = v["targets"][0]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["path"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, [b, o]);
    // Only such files: nothing to report, exit 0.
    assert_eq!(run(&["scan", o]).status, 0);
}

#[test]
fn with_several_inputs_a_wrong_one_is_reported_and_the_others_still_scanned() {
    // As ruff: every input that can be scanned is, the report covers them,
    // the wrong one is an error on standard error, and the exit status is 2
    // (an error outranks findings).
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-image");
    let empty = put(dir.path(), "image.tar", b"");
    let (m, e) = (missing.to_str().unwrap(), empty.to_str().unwrap());
    let out = run(&["scan", "testdata/demo", m, e, "testdata/rootfs/clean-image"]);
    assert_eq!(out.status, 2);
    assert!(
        out.stdout
            .contains("PR001 kubelet-webhook-authz-without-token-authn"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("; 2 inputs could not be scanned (testdata/demo: kubelet"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains(&format!("{m}: no such file or directory")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("{e}: not a tar archive")),
        "{}",
        out.stderr
    );
    // Without errors, the findings decide.
    assert_eq!(
        run(&["scan", "testdata/demo", "testdata/rootfs/clean-image"]).status,
        1
    );
    // Even --fail-on never does not hide an input error.
    assert_eq!(
        run(&["scan", "--fail-on", "never", "testdata/demo", m]).status,
        2
    );

    // The machine-readable reports carry the errors too.
    let json = run(&["scan", "--format", "json", "testdata/demo", m]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["errors"][0]["path"], m);
    assert_eq!(
        v["errors"][0]["message"],
        format!("{m}: no such file or directory")
    );
    assert_eq!(v["findings"].as_array().unwrap().len(), 5);
    let sarif_file = dir.path().join("out.sarif");
    let out = run(&[
        "scan",
        "--format",
        "github",
        "--sarif-file",
        sarif_file.to_str().unwrap(),
        "testdata/demo",
        m,
    ]);
    assert_eq!(out.status, 2);
    assert!(
        out.stdout.contains(&format!(
            "::error title=promready%3A input not scanned::{m}: no such file or directory%0A"
        )),
        "{}",
        out.stdout
    );
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_file).unwrap()).unwrap();
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(invocation["exitCode"], 2);
    let note = &invocation["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "error");
    assert!(
        note["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{m}: no such file"))
    );
    assert_eq!(log["runs"][0]["results"].as_array().unwrap().len(), 5);

    // Named files: a missing one is an error, the others are judged.
    let out = run(&[
        "scan",
        "--format",
        "json",
        "testdata/files/kube-proxy-default.yaml",
        m,
    ]);
    assert_eq!(out.status, 2);
    assert_eq!(
        common::finding_lines(&out.stdout),
        ["PR006 testdata/files/kube-proxy-default.yaml:2"]
    );
}

#[test]
fn fix_with_a_wrong_input_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let copy = common::scratch("testdata/demo", dir.path());
    let before = std::fs::read(copy.join("etc/default/kubelet")).unwrap();
    let out = run(&["fix", copy.to_str().unwrap(), "testdata/no-such-dir"]);
    assert_eq!(out.status, 2, "{}", out.stdout);
    assert!(
        out.stderr.contains("testdata/no-such-dir"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read(copy.join("etc/default/kubelet")).unwrap(),
        before
    );
}

#[test]
fn an_input_named_twice_is_scanned_once() {
    let once = run(&["scan", "--format", "json", "testdata/demo"]);
    let twice = run(&[
        "scan",
        "--format",
        "json",
        "testdata/demo",
        "testdata/demo/",
        "./testdata/demo",
    ]);
    let summary = |o: &common::Outcome| {
        let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
        (v["summary"].clone(), v["targets"].as_array().unwrap().len())
    };
    assert_eq!(summary(&twice), summary(&once));
    let files = run(&[
        "scan",
        "--format",
        "json",
        "testdata/files/kube-proxy-default.yaml",
        "./testdata/files/kube-proxy-default.yaml",
    ]);
    assert_eq!(
        common::finding_lines(&files.stdout).len(),
        1,
        "{}",
        files.stdout
    );
}
