//! Hostile input that goes after the machine promready runs on rather than
//! after the scan: a CI job scans an image or a repository it did not build,
//! with secrets in its environment and a terminal or a workflow log that
//! acts on what is printed.
//!
//! - leaks: the configuration file found in a scanned directory, and the
//!   rule directories it names, are read inside that directory only; a
//!   parse error never echoes more than a bounded, escaped excerpt;
//! - budgets: small inputs that used to take gigabytes or minutes are
//!   refused with exit status 2 naming the input, within a memory bound
//!   measured on the child process;
//! - injection: no control character from an input reaches the output, and
//!   no output line starts with text from an input (a workflow command);
//! - `scan -o FILE` and `--sarif-file FILE` never write through a symlink
//!   or into a FIFO.
//!
//! Everything is generated in temporary directories (sparse files for the
//! large ones) and run through the binary under a watchdog.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;
use std::time::Duration;

use support::{link, measure, put};

const MB: u64 = 1024 * 1024;

/// A configuration directory with one kubelet configuration that has a
/// finding (the read-only port).
fn repo(dir: &Path) -> std::path::PathBuf {
    let repo = dir.join("repo");
    put(
        &repo,
        "kubelet.yaml",
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\n",
    );
    repo
}

// --- Leaks ------------------------------------------------------------------

#[test]
fn a_configuration_file_linked_to_the_environment_does_not_print_it() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(dir.path());
    link(&repo, ".promready.yaml", "/proc/self/environ");
    let secret = "ghp_TopSecretToken0123456789";
    for format in ["human", "json", "github"] {
        let r = measure(
            &["scan", "--output-format", format, repo.to_str().unwrap()],
            dir.path(),
            &[("CI_SECRET_TOKEN", secret)],
        );
        assert_eq!(r.status, Some(2), "{format}: {}", r.all());
        assert!(!r.all().contains(secret), "{format}: leaked:\n{}", r.all());
        assert!(r.stderr.contains(".promready.yaml"), "{}", r.stderr);
        assert!(r.stderr.contains("proc/self/environ"), "{}", r.stderr);
    }
}

#[test]
fn a_configuration_file_linked_outside_the_directory_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(dir.path());
    let shadow = put(
        dir.path(),
        "host/etc/shadow",
        "root:$6$SALTSALT$hashhashhashhash:19000:0:99999:7:::\n",
    );
    // Absolute, relative climbing, and through /proc/self/root.
    for target in [
        shadow.clone(),
        Path::new("../host/etc/shadow").to_path_buf(),
        Path::new("/proc/self/root").join(shadow.strip_prefix("/").unwrap()),
    ] {
        let _ = std::fs::remove_file(repo.join(".promready.yaml"));
        link(&repo, ".promready.yaml", &target);
        let r = measure(&["scan", repo.to_str().unwrap()], dir.path(), &[]);
        assert_eq!(r.status, Some(2), "{target:?}: {}", r.all());
        assert!(
            !r.all().contains("hashhash"),
            "{target:?}: leaked:\n{}",
            r.all()
        );
        assert!(r.stderr.contains(".promready.yaml"), "{}", r.stderr);
    }
    // A link that stays inside the directory is followed.
    std::fs::remove_file(repo.join(".promready.yaml")).unwrap();
    put(&repo, "settings/promready.yaml", "ignore: [PR010]\n");
    link(&repo, ".promready.yaml", "settings/promready.yaml");
    let r = measure(&["scan", repo.to_str().unwrap()], dir.path(), &[]);
    assert_eq!(r.status, Some(0), "{}", r.all());
}

#[test]
fn rules_outside_the_scanned_directory_are_refused_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(dir.path());
    let host_rules = dir.path().join("host/rules");
    put(
        &host_rules,
        "stolen.yaml",
        "HOST-SECRET-CONTENT: [unterminated\n",
    );
    for entry in [
        "../host/rules".to_owned(),
        "sub/../../host/rules".to_owned(),
        host_rules.display().to_string(),
    ] {
        put(&repo, ".promready.yaml", format!("rules: [\"{entry}\"]\n"));
        let r = measure(&["scan", repo.to_str().unwrap()], dir.path(), &[]);
        assert_eq!(r.status, Some(2), "{entry}: {}", r.all());
        assert!(
            !r.all().contains("HOST-SECRET"),
            "{entry}: leaked:\n{}",
            r.all()
        );
        assert!(r.stderr.contains(".promready.yaml"), "{}", r.stderr);
        assert!(r.stderr.contains(&entry), "{entry}: {}", r.stderr);
        assert!(r.stderr.contains("outside"), "{entry}: {}", r.stderr);
    }
    // Inside the directory, a rule file linked out of it resolves inside.
    put(&repo, ".promready.yaml", "rules: [rules]\n");
    link(&repo, "rules/x.yaml", host_rules.join("stolen.yaml"));
    let r = measure(&["scan", repo.to_str().unwrap()], dir.path(), &[]);
    assert!(!r.all().contains("HOST-SECRET"), "leaked:\n{}", r.all());
    // The same directory named with --rules, or by a configuration file
    // given with --config, is trusted as before: its error shows the file.
    let r = measure(
        &[
            "scan",
            "--rules",
            host_rules.to_str().unwrap(),
            repo.join("kubelet.yaml").to_str().unwrap(),
        ],
        dir.path(),
        &[],
    );
    assert_eq!(r.status, Some(2), "{}", r.all());
    assert!(r.stderr.contains("HOST-SECRET"), "{}", r.stderr);
}

#[test]
fn a_parse_error_shows_a_bounded_escaped_excerpt() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(dir.path());
    // One 512 KiB line with escape sequences, then an unknown key.
    let noise = "\u{1b}]0;pwned\u{7}".repeat(512 * 1024 / 10);
    let text = format!("# {noise}\nnot-a-key: 1\n");
    let config = put(dir.path(), "explicit.yaml", &text);
    put(&repo, ".promready.yaml", &text);
    for args in [
        vec![
            "scan",
            "--config",
            config.to_str().unwrap(),
            repo.to_str().unwrap(),
        ],
        vec!["scan", repo.to_str().unwrap()],
    ] {
        let r = measure(&args, dir.path(), &[]);
        assert_eq!(r.status, Some(2), "{}", r.all());
        assert!(r.stderr.contains("not-a-key"), "{}", r.stderr);
        assert!(r.stderr.len() < 4096, "{} bytes on stderr", r.stderr.len());
        assert!(!r.stderr.contains(['\u{1b}', '\u{7}']), "{:?}", r.stderr);
    }
}

// --- Budgets ----------------------------------------------------------------

/// A node image with `unit` as the kubelet's unit.
fn image(dir: &Path, unit: &str) -> std::path::PathBuf {
    let root = dir.join("root");
    put(&root, "usr/bin/kubelet", "#!/bin/sh\n");
    put(&root, "etc/systemd/system/kubelet.service", unit);
    root
}

#[test]
fn a_variable_referenced_thousands_of_times_is_refused_before_expansion() {
    let dir = tempfile::tempdir().unwrap();
    // 3 KiB of flags, referenced 20,000 times: a 64 KB unit that expands
    // to 60 MB of command line (and 12 bytes of origin per byte).
    let value = "--node-labels=".to_owned() + &"a".repeat(3000);
    let refs = " $A".repeat(20_000);
    let unit = format!("[Service]\nEnvironment=\"A={value}\"\nExecStart=/usr/bin/kubelet{refs}\n");
    let root = image(dir.path(), &unit);
    let r = measure(&["scan", root.to_str().unwrap()], dir.path(), &[]);
    assert_eq!(r.status, Some(2), "{}", r.all());
    assert!(r.stderr.contains("root"), "{}", r.stderr);
    assert!(r.stderr.contains("1048576-byte limit"), "{}", r.stderr);
    assert!(r.peak_rss < 300 * MB, "peak RSS {} MB", r.peak_rss / MB);
}

#[test]
fn many_yaml_nodes_are_refused_within_a_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    // Four files just under the 4 MiB cap, each 800,000 short keys.
    let mut text =
        String::from("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n");
    let mut i = 0u32;
    while text.len() < 4 * 1024 * 1024 - 16 {
        let _ = writeln!(text, "k{i:x}: 1");
        i += 1;
    }
    text.truncate(text.rfind('\n').unwrap() + 1);
    for n in 0..4 {
        put(&repo, &format!("k{n}.yaml"), &text);
    }
    let r = measure(&["scan", repo.to_str().unwrap()], dir.path(), &[]);
    assert_eq!(r.status, Some(2), "{}", r.all());
    assert!(r.stderr.contains("1000000 nodes"), "{}", r.stderr);
    assert!(r.stderr.contains("repo"), "{}", r.stderr);
    assert!(r.peak_rss < 400 * MB, "peak RSS {} MB", r.peak_rss / MB);
}

#[test]
fn a_huge_sparse_configuration_file_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(dir.path());
    let f = File::create(repo.join(".promready.yaml")).unwrap();
    f.set_len(1 << 30).unwrap();
    let config = dir.path().join("big.yaml");
    File::create(&config).unwrap().set_len(1 << 30).unwrap();
    for args in [
        vec!["scan", repo.to_str().unwrap()],
        vec![
            "scan",
            "--config",
            config.to_str().unwrap(),
            repo.to_str().unwrap(),
        ],
    ] {
        let r = measure(&args, dir.path(), &[]);
        assert_eq!(r.status, Some(2), "{}", r.all());
        assert!(r.stderr.contains("1048576-byte limit"), "{}", r.stderr);
        assert!(r.stderr.len() < 4096, "{} bytes on stderr", r.stderr.len());
        assert!(!r.stderr.contains('\0'));
        assert!(r.peak_rss < 100 * MB, "peak RSS {} MB", r.peak_rss / MB);
    }
}

#[test]
fn one_environment_file_named_four_thousand_times_is_parsed_once() {
    let dir = tempfile::tempdir().unwrap();
    let lines = "EnvironmentFile=/etc/default/kubelet\n".repeat(4000);
    let unit = format!("[Service]\n{lines}ExecStart=/usr/bin/kubelet $KUBELET_EXTRA_ARGS\n");
    let root = image(dir.path(), &unit);
    // 1 MB of assignments, the last one with a finding.
    let mut env = String::new();
    let mut i = 0;
    while env.len() < 1024 * 1024 {
        let _ = writeln!(env, "V{i}=--v=2");
        i += 1;
    }
    env.push_str("KUBELET_EXTRA_ARGS=--read-only-port=10255\n");
    put(&root, "etc/default/kubelet", &env);
    // Parsed 4,000 times, it takes minutes (a 4 MB one took 35 s in a
    // release build).
    finds_the_read_only_port_quickly(&root, dir.path());
}

/// Scans `root` (in `cwd`) and asserts that the read-only-port finding at
/// the end of a large file is reported within 10 s and 300 MB.
fn finds_the_read_only_port_quickly(root: &Path, cwd: &Path) {
    let r = measure(
        &["scan", "--output-format", "json", root.to_str().unwrap()],
        cwd,
        &[],
    );
    assert_eq!(r.status, Some(1), "{}", r.stderr);
    assert!(r.stdout.contains("PR010"), "{}", r.stdout);
    assert!(r.elapsed < Duration::from_secs(10), "{:?}", r.elapsed);
    assert!(r.peak_rss < 300 * MB, "peak RSS {} MB", r.peak_rss / MB);
}

#[test]
fn one_drop_in_linked_a_thousand_times_is_parsed_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = image(
        dir.path(),
        "[Service]\nExecStart=/usr/bin/kubelet $KUBELET_EXTRA_ARGS\n",
    );
    // 1 MB of assignments, the last one with a finding.
    let mut text = String::from("[Service]\n");
    let mut i = 0;
    while text.len() < 1024 * 1024 {
        let _ = writeln!(text, "Environment=V{i}=--v=2");
        i += 1;
    }
    text.push_str("Environment=KUBELET_EXTRA_ARGS=--read-only-port=10255\n");
    let d = "etc/systemd/system/kubelet.service.d";
    put(&root, &format!("{d}/.big"), &text);
    for n in 0..1000 {
        link(&root, &format!("{d}/{n:04}.conf"), ".big");
    }
    finds_the_read_only_port_quickly(&root, dir.path());
}

#[test]
fn the_bytes_held_in_one_run_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let root = image(
        dir.path(),
        "[Service]\nExecStart=/usr/bin/kubelet --read-only-port=0\n",
    );
    // 70 drop-ins of 4 MiB are 280 MiB: each one comment line (`#` and
    // then NUL bytes, sparse).
    for n in 0..70 {
        let p = put(
            &root,
            &format!("etc/systemd/system/kubelet.service.d/{n:02}.conf"),
            "#",
        );
        File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(4 << 20)
            .unwrap();
    }
    let r = measure(&["scan", root.to_str().unwrap()], dir.path(), &[]);
    assert_eq!(r.status, Some(2), "{}", r.all());
    assert!(r.stderr.contains("268435456-byte limit"), "{}", r.stderr);
    assert!(r.peak_rss < 600 * MB, "peak RSS {} MB", r.peak_rss / MB);
}

#[test]
fn values_held_with_their_origins_count_against_the_bytes_budget() {
    let dir = tempfile::tempdir().unwrap();
    let root = image(
        dir.path(),
        "[Service]\nExecStart=/usr/bin/kubelet --read-only-port=0\n",
    );
    // 5 drop-ins of 4 MiB of distinct variables: 20 MiB of files, whose
    // values are held as 13 bytes per byte (text and origin): 280 MiB.
    for n in 0..5 {
        let mut text = String::from("[Service]\n");
        let mut i = 0;
        while text.len() < 4 * 1024 * 1024 - 300 {
            let _ = writeln!(text, "Environment=V{n}_{i}={}", "x".repeat(200));
            i += 1;
        }
        put(
            &root,
            &format!("etc/systemd/system/kubelet.service.d/{n}.conf"),
            &text,
        );
    }
    let r = measure(&["scan", root.to_str().unwrap()], dir.path(), &[]);
    assert_eq!(r.status, Some(2), "{}", r.all());
    assert!(r.stderr.contains("268435456-byte limit"), "{}", r.stderr);
    assert!(r.peak_rss < 400 * MB, "peak RSS {} MB", r.peak_rss / MB);
}

// --- Injection --------------------------------------------------------------

/// Whether `out` holds a control character other than tab and newline.
fn controls(out: &str) -> Vec<char> {
    out.chars()
        .filter(|&c| c.is_control() && c != '\n' && c != '\t')
        .collect()
}

/// Lines of `out` that start with a workflow command `promready` did not
/// write itself.
fn injected(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.starts_with("::error file=ci.yml") || l.starts_with("::stop-commands"))
        .collect()
}

#[test]
fn file_names_cannot_inject_lines_or_escape_sequences() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let name = "k\n::error file=ci.yml::Build passed\u{1b}]8;;https:evil.example\u{7}click\u{1b}]8;;\u{7}\r::stop-commands::x.yaml";
    put(
        &repo,
        name,
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\n",
    );
    // A second file with a name that starts with `::`.
    put(
        &repo,
        "::error file=ci.yml::Build passed.yaml",
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\n",
    );
    let repo_s = repo.to_str().unwrap();
    for args in [
        vec!["scan", repo_s],
        vec!["scan", "--output-format", "concise", repo_s],
        vec!["scan", "--output-format", "github", repo_s],
        vec!["fix", "--diff", repo_s],
    ] {
        let r = measure(&args, dir.path(), &[]);
        assert!(matches!(r.status, Some(0..=2)), "{args:?}: {}", r.all());
        assert!(r.all().contains("Build passed"), "{args:?}: {}", r.all());
        assert!(injected(&r.all()).is_empty(), "{args:?}:\n{}", r.all());
        assert!(
            controls(&r.all()).is_empty(),
            "{args:?}: {:?}",
            controls(&r.all())
        );
    }
    // `fix` itself: the names of the files it wrote.
    let r = measure(&["fix", repo_s], dir.path(), &[]);
    assert!(r.stdout.contains("fixed"), "{}", r.all());
    assert!(injected(&r.all()).is_empty(), "{}", r.all());
    assert!(controls(&r.all()).is_empty(), "{:?}", controls(&r.all()));
}

#[test]
fn file_contents_with_escape_sequences_are_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    put(
        &repo,
        "kubelet.yaml",
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n# \u{1b}]0;owned\u{7}\u{1b}[2J\u{7}::error file=ci.yml::Build passed\u{9b}\nreadOnlyPort: 10255 # \u{1b}[31mred\u{7f}\nstaticPodPath: \"/etc/\u{1b}[1m\"\n",
    );
    let repo_s = repo.to_str().unwrap();
    for format in ["human", "concise", "github"] {
        let r = measure(
            &["scan", "--output-format", format, repo_s],
            dir.path(),
            &[],
        );
        assert_eq!(r.status, Some(1), "{format}: {}", r.all());
        assert!(injected(&r.all()).is_empty(), "{format}:\n{}", r.all());
        assert!(
            controls(&r.all()).is_empty(),
            "{format}: {:?}",
            controls(&r.all())
        );
    }
    let r = measure(&["scan", repo_s], dir.path(), &[]);
    assert!(
        r.stdout.contains(r"\x1b]0;owned\x07\x1b[2J\x07::error"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(r"\x1b[31mred\x7f"), "{}", r.stdout);
    // JSON and SARIF escape them by encoding (DEL and C1 too).
    for format in ["json", "sarif"] {
        let r = measure(
            &["scan", "--output-format", format, repo_s],
            dir.path(),
            &[],
        );
        assert_eq!(r.status, Some(1), "{format}: {}", r.all());
        assert!(
            controls(&r.stdout).is_empty(),
            "{format}: {:?}",
            controls(&r.stdout)
        );
    }
}

#[test]
fn crlf_files_keep_their_line_breaks_in_snippets() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    put(
        &repo,
        "kubelet.yaml",
        "apiVersion: kubelet.config.k8s.io/v1beta1\r\nkind: KubeletConfiguration\r\nreadOnlyPort: 10255\r\n",
    );
    let r = measure(&["scan", repo.to_str().unwrap()], dir.path(), &[]);
    assert_eq!(r.status, Some(1), "{}", r.all());
    assert!(!r.stdout.contains(r"\r"), "{}", r.stdout);
    assert!(r.stdout.contains("3 │ readOnlyPort: 10255"), "{}", r.stdout);
}

// --- Writing reports --------------------------------------------------------

#[test]
fn reports_are_not_written_through_symlinks_or_into_fifos() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo(dir.path());
    let repo_s = repo.to_str().unwrap();
    let victim = put(dir.path(), "victim", "precious\n");
    let out = link(dir.path(), "out.json", &victim);
    for flag in ["-o", "--sarif-file"] {
        let r = measure(
            &["scan", flag, out.to_str().unwrap(), repo_s],
            dir.path(),
            &[],
        );
        assert_eq!(r.status, Some(2), "{flag}: {}", r.all());
        assert!(r.stderr.contains("out.json"), "{}", r.stderr);
        assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert!(out.is_symlink());
    }
    let fifo = support::fifo(&dir.path().join("fifo"));
    let r = measure(
        &["scan", "-o", fifo.to_str().unwrap(), repo_s],
        dir.path(),
        &[],
    );
    assert_eq!(r.status, Some(2), "{}", r.all());
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    // A regular file is replaced whole, and no temporary file is left.
    let report = put(dir.path(), "reports/report.json", "old\n");
    let r = measure(
        &["scan", "-o", report.to_str().unwrap(), repo_s],
        dir.path(),
        &[],
    );
    assert_eq!(r.status, Some(1), "{}", r.all());
    assert!(std::fs::read_to_string(&report).unwrap().contains("PR010"));
    let left: Vec<_> = std::fs::read_dir(dir.path().join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["report.json"]);
}
