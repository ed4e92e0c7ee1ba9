//! `promready fix` on every fixture under `testdata/fix`: the findings left
//! afterwards are exactly `<case>.after` (`.after-unsafe` with
//! `--unsafe-fixes`), a second run changes nothing, `--diff` writes nothing
//! and is pinned by snapshots, and files the fix does not target stay
//! byte-identical.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{expectations, finding_lines, run};

/// The fix fixtures, by name.
fn cases() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir("testdata/fix")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            e.file_type()
                .ok()?
                .is_dir()
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    out.sort();
    out
}

/// A scratch copy of a fixture; returns the path to scan or fix.
fn copy(case: &str, dir: &Path) -> PathBuf {
    let root = common::scratch(format!("testdata/fix/{case}"), dir);
    if case == "repo-hardlinked" {
        // Git does not keep hard links: make them again.
        std::fs::remove_file(root.join("kube-proxy.yaml")).unwrap();
        std::fs::hard_link(root.join("config.conf"), root.join("kube-proxy.yaml")).unwrap();
    }
    if case == "file-kube-proxy-quoted" {
        return root.join("kube-proxy.yaml");
    }
    root
}

/// Every regular file below `dir` with its bytes and modification time.
fn tree(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let root = if dir.is_file() {
        dir.parent().unwrap()
    } else {
        dir
    };
    for e in walkdir::WalkDir::new(root) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let meta = e.metadata().unwrap();
            out.insert(
                e.path().to_path_buf(),
                (std::fs::read(e.path()).unwrap(), meta.modified().unwrap()),
            );
        }
    }
    out
}

#[test]
fn fixes_leave_exactly_the_expected_findings_and_converge() {
    let mut failures = Vec::new();
    for case in cases() {
        for (flags, suffix) in [
            (&[][..], "after"),
            (&["--unsafe-fixes"][..], "after-unsafe"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let target = copy(&case, dir.path());
            let mut args = vec!["fix"];
            args.extend_from_slice(flags);
            args.push(target.to_str().unwrap());
            let first = run(&args);
            let want = expectations(&PathBuf::from(format!("testdata/fix/{case}.{suffix}")));
            let left = run(&["scan", "--format", "json", target.to_str().unwrap()]);
            let got = finding_lines(&left.stdout);
            // Notes left alone leave the exit status 0.
            let status = common::status_for_report(&left.stdout);
            if got != want || first.status != status {
                failures.push(format!("{case} ({suffix}): left {got:?} (exit {}), want {want:?} (exit {status})\n{}{}", first.status, first.stdout, first.stderr));
                continue;
            }
            // Fixing twice is fixing once.
            let before = tree(&target);
            let second = run(&args);
            assert!(
                second.stdout.contains("fixed 0 findings in 0 files"),
                "{case}: {}",
                second.stdout
            );
            assert_eq!(
                before,
                tree(&target),
                "{case}: the second fix changed files"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn diff_writes_nothing_and_shows_minimal_edits() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let target = copy(&case, dir.path());
        let before = tree(&target);
        let out = run(&["fix", "--diff", target.to_str().unwrap()]);
        assert_eq!(before, tree(&target), "{case}: --diff wrote something");
        let shown = out.stdout.replace(dir.path().to_str().unwrap(), "[TMP]");
        let account = out.stderr.replace(dir.path().to_str().unwrap(), "[TMP]");
        insta::with_settings!({snapshot_suffix => case.clone(), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("fix_diff", format!("{shown}\n---\n{account}"));
        });
    }
}

#[test]
fn files_the_fix_does_not_target_stay_byte_identical() {
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let target = copy(&case, dir.path());
        let before = tree(&target);
        let out = run(&["fix", "--unsafe-fixes", target.to_str().unwrap()]);
        let after = tree(&target);
        let changed: Vec<&PathBuf> = before
            .keys()
            .filter(|p| before[*p].0 != after[*p].0)
            .collect();
        for p in &changed {
            let shown = p
                .strip_prefix(dir.path().join(&case))
                .unwrap_or(p)
                .display()
                .to_string();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                out.stdout.contains(&shown) || out.stdout.contains(&name),
                "{case}: {shown} changed but was not reported:\n{}",
                out.stdout
            );
        }
        assert_eq!(
            before.len(),
            after.len(),
            "{case}: files appeared or vanished"
        );
    }
}

#[test]
fn mode_and_extended_attributes_survive() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let target = copy("kubelet-envfile-crlf", dir.path());
    let file = target.join("etc/default/kubelet");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let xattr = rustix::fs::setxattr(
        &file,
        "user.promready",
        b"kept",
        rustix::fs::XattrFlags::empty(),
    )
    .is_ok();
    let out = run(&["fix", target.to_str().unwrap()]);
    assert_eq!(out.status, 0, "{}", out.stdout);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    if xattr {
        let mut buf = [0u8; 16];
        let n = rustix::fs::getxattr(&file, "user.promready", &mut buf[..]).unwrap();
        assert_eq!(&buf[..n], b"kept");
    }
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.windows(2).any(|w| w == b"\r\n"), "CRLF kept");
    assert!(!bytes.ends_with(b"\n"), "no trailing newline added");
}

#[test]
fn fix_options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let target = copy("cp-1.30-static-pods", dir.path());
    let bad = run(&[
        "fix",
        "--bind-address",
        "everywhere",
        target.to_str().unwrap(),
    ]);
    assert_eq!(bad.status, 2);
    assert!(bad.stderr.contains("not an IP address"), "{}", bad.stderr);
    let v6 = run(&[
        "fix",
        "--diff",
        "--bind-address",
        "::",
        target.to_str().unwrap(),
    ]);
    assert!(
        v6.stdout.contains("+    - --bind-address=::"),
        "{}",
        v6.stdout
    );
    assert!(v6.stdout.contains("http://[::]:2381"), "{}", v6.stdout);
    // A specific address keeps etcd's loopback URL first (kubeadm's probe uses it).
    let ip = run(&[
        "fix",
        "--diff",
        "--bind-address",
        "10.0.10.11",
        target.to_str().unwrap(),
    ]);
    assert!(
        ip.stdout
            .contains("--listen-metrics-urls=http://127.0.0.1:2381,http://10.0.10.11:2381"),
        "{}",
        ip.stdout
    );
}

/// Needs root (to give a file another owner). Without root it says it was
/// skipped, on standard error; with `PROMREADY_TESTS_AS_ROOT=1` (`.ci/run`
/// sets it: CI runs as root) it fails instead, so CI cannot skip it.
#[test]
#[allow(clippy::print_stderr)] // the visible skip
fn owner_survives_when_running_as_root() {
    use std::os::unix::fs::MetadataExt;
    if !common::is_root() {
        assert!(
            std::env::var("PROMREADY_TESTS_AS_ROOT").as_deref() != Ok("1"),
            "PROMREADY_TESTS_AS_ROOT=1, but the tests do not run as root"
        );
        eprintln!("owner_survives_when_running_as_root: skipped: needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = copy("kubelet-envfile-crlf", dir.path());
    let file = target.join("etc/default/kubelet");
    std::os::unix::fs::chown(&file, Some(4321), Some(4322)).unwrap();
    let out = run(&["fix", target.to_str().unwrap()]);
    assert_eq!(out.status, 0, "{}", out.stdout);
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (4321, 4322));
    // A security label is carried over too, where the file system takes one.
    let label = b"system_u:object_r:etc_t:s0";
    if rustix::fs::setxattr(
        &file,
        "security.selinux",
        label,
        rustix::fs::XattrFlags::empty(),
    )
    .is_ok()
    {
        std::fs::write(&file, "KUBELET_EXTRA_ARGS=--address=127.0.0.1\n").unwrap();
        rustix::fs::setxattr(
            &file,
            "security.selinux",
            label,
            rustix::fs::XattrFlags::empty(),
        )
        .unwrap();
        assert_eq!(run(&["fix", target.to_str().unwrap()]).status, 0);
        let mut buf = [0u8; 64];
        let n = rustix::fs::getxattr(&file, "security.selinux", &mut buf[..]).unwrap();
        assert_eq!(&buf[..n], label);
    }
}

/// Legacy node images whose flags were valid for the kubelet they ship:
/// without a detected version nothing is reported as refused and `fix`
/// removes nothing; with the version given, the same flags are PR009
/// findings and their removal is a safe fix.
#[test]
fn flags_of_a_legacy_image_are_judged_only_against_a_known_version() {
    let legacy = [
        ("kubeadm-1.6-dropin", "require-kubeconfig"),
        ("kubeadm-1.8-rpm", "allow-privileged"),
        ("kubeadm-1.10-no-version", "network-plugin"),
        ("eks-1.10-unit", "allow-privileged"),
        ("kops-1.23-unit", "network-plugin"),
        ("kubelet-flags-no-version", "container-runtime"),
    ];
    for (case, flag) in legacy {
        let dir = tempfile::tempdir().unwrap();
        let root = common::scratch(format!("testdata/rootfs/{case}"), dir.path());
        let root = root.to_str().unwrap();
        let scan = run(&["scan", "--format", "json", root]);
        let codes = finding_lines(&scan.stdout);
        assert!(
            !codes.iter().any(|l| l.starts_with("PR009")),
            "{case}: {codes:?}"
        );
        let before = tree(Path::new(root));
        let fixed = run(&["fix", root]);
        assert!(
            fixed.status <= 1,
            "{case}: {}{}",
            fixed.stdout,
            fixed.stderr
        );
        let after = tree(Path::new(root));
        for (path, (bytes, _)) in &before {
            let text = String::from_utf8_lossy(bytes);
            let now = String::from_utf8_lossy(&after[path].0);
            // Whatever else was fixed, no flag was removed.
            for f in [
                "require-kubeconfig",
                "allow-privileged",
                "network-plugin",
                "cni-bin-dir",
                "cni-conf-dir",
                "container-runtime=",
                "cadvisor-port",
            ] {
                assert_eq!(
                    text.matches(f).count(),
                    now.matches(f).count(),
                    "{case}: fix removed --{f} from {}:\n{}",
                    path.display(),
                    fixed.stdout
                );
            }
        }
        removed_when_the_version_is_known(case, flag, root);
    }
}

/// With `--kubernetes-version 1.30`, `flag` is a PR009 finding whose
/// removal is safe, and `fix` removes it.
fn removed_when_the_version_is_known(case: &str, flag: &str, root: &str) {
    // The same image, with its version given.
    let known = run(&[
        "scan",
        "--format",
        "json",
        "--kubernetes-version",
        "1.30",
        root,
    ]);
    let pr009 = common::findings_of(&known.stdout, "PR009");
    assert!(
        pr009.iter().any(|f| f["message"]
            .as_str()
            .unwrap()
            .contains(&format!("--{flag}"))),
        "{case}: {pr009:?}"
    );
    assert!(pr009.iter().all(|f| f["fix"]["safety"] == "safe"), "{case}");
    let fixed = run(&["fix", "--kubernetes-version", "1.30", root]);
    assert!(
        fixed.status <= 1,
        "{case}: {}{}",
        fixed.stdout,
        fixed.stderr
    );
    let rescan = run(&[
        "scan",
        "--format",
        "json",
        "--kubernetes-version",
        "1.30",
        root,
    ]);
    let left = finding_lines(&rescan.stdout);
    assert!(
        !left.iter().any(|l| l.starts_with("PR009")),
        "{case}: {left:?}"
    );
}

/// What stops a component from starting, and what a kubelet serves without
/// authentication or authorization to the network, read from a JSON scan
/// (independently of the fixer's own check).
fn start_problems_and_exposures(
    json: &str,
) -> (
    std::collections::BTreeSet<String>,
    std::collections::BTreeSet<String>,
) {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut starts = std::collections::BTreeSet::new();
    let mut exposed = std::collections::BTreeSet::new();
    for t in v["targets"].as_array().unwrap() {
        for n in t["notices"].as_array().unwrap() {
            let m = n["message"].as_str().unwrap();
            if m.contains("will not start") || m.contains("refuse") {
                // Lines move when a fix adds or removes one.
                let m = m
                    .split_once(": ")
                    .filter(|(l, _)| l.starts_with("line "))
                    .map_or(m, |(_, r)| r);
                starts.insert(format!("{}: {m}", n["path"]));
            }
        }
        for c in t["components"].as_array().unwrap() {
            if c["component"] != "kubelet" {
                continue;
            }
            let value = |s: &str| c["settings"][s]["value"].as_str().map(str::to_owned);
            let Some(address) = value("address") else {
                continue;
            };
            let loopback =
                address.starts_with("127.") || address == "::1" || address == "localhost";
            if loopback {
                continue;
            }
            if value("authorization.mode").as_deref() == Some("AlwaysAllow") {
                exposed.insert("AlwaysAllow on the network".to_owned());
            }
            if value("readOnlyPort").is_some_and(|p| p != "0") {
                exposed.insert("read-only port on the network".to_owned());
            }
            let cadvisor = &c["settings"]["cadvisor-port"];
            let version = c["version"]["version"].as_str().map(str::to_owned);
            let old = version.as_deref().is_some_and(|v| {
                let minor: u32 = v.split('.').nth(1).unwrap().parse().unwrap();
                v.starts_with("1.") && minor < 11
            });
            let explicit = cadvisor["origin"]["kind"] == "flag";
            let open = if explicit {
                cadvisor["value"].as_str().is_some_and(|p| p != "0")
            } else {
                old
            };
            if open {
                exposed.insert("cAdvisor on the network".to_owned());
            }
        }
    }
    for f in v["findings"].as_array().unwrap() {
        if f["code"] == "PR009" {
            starts.insert(f["message"].as_str().unwrap().to_owned());
        }
    }
    (starts, exposed)
}

/// For every fix fixture and both safety levels: the state `fix` leads to
/// has no component that cannot start where it could before, and no kubelet
/// listener reachable without authentication that was not before. A new
/// rule with a fix is covered as soon as it has a fixture.
#[test]
fn no_fix_stops_a_component_or_exposes_a_kubelet() {
    for case in cases() {
        for unsafe_fixes in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let target = copy(&case, dir.path());
            let target = target.to_str().unwrap();
            let before =
                start_problems_and_exposures(&run(&["scan", "--format", "json", target]).stdout);
            let mut args = vec!["fix", target];
            if unsafe_fixes {
                args.insert(1, "--unsafe-fixes");
            }
            let fixed = run(&args);
            let after =
                start_problems_and_exposures(&run(&["scan", "--format", "json", target]).stdout);
            let new_starts: Vec<&String> = after.0.difference(&before.0).collect();
            let new_exposed: Vec<&String> = after.1.difference(&before.1).collect();
            assert!(
                new_starts.is_empty() && new_exposed.is_empty(),
                "{case} (unsafe: {unsafe_fixes}): would not start: {new_starts:?}; newly exposed: {new_exposed:?}\n{}",
                fixed.stdout
            );
        }
    }
}

/// Every rule that has a fix is exercised by at least one fix fixture.
#[test]
fn every_rule_with_a_fix_has_a_fix_fixture() {
    let rules: serde_json::Value =
        serde_json::from_str(&run(&["rules", "--format", "json"]).stdout).unwrap();
    let found: Vec<String> = cases()
        .iter()
        .flat_map(|case| {
            let dir = tempfile::tempdir().unwrap();
            let target = copy(case, dir.path());
            finding_lines(&run(&["scan", "--format", "json", target.to_str().unwrap()]).stdout)
        })
        .collect();
    let missing: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["fix"].is_null())
        .map(|r| r["code"].as_str().unwrap())
        .filter(|code| !found.iter().any(|l| l.starts_with(code)))
        .collect();
    assert!(
        missing.is_empty(),
        "rules with a fix but no fixture under testdata/fix: {missing:?}"
    );
}
/// Every scalar of a YAML file as `doc/path=value` (quoted values in
/// quotes, so that `"24"` and `24` differ as they do for kubeadm), and
/// every empty collection as `{}` or `[]`.
fn flatten(text: &str) -> std::collections::BTreeSet<String> {
    use saphyr_parser::{Event, Parser, ScalarStyle};
    enum Frame {
        Map {
            path: String,
            key: Option<String>,
            empty: bool,
        },
        Seq {
            path: String,
            index: usize,
        },
    }
    // The path of the next value in the innermost collection (`None` for a key).
    fn slot(stack: &mut [Frame], doc: usize) -> Option<String> {
        match stack.last_mut() {
            None => Some(format!("{doc}/")),
            Some(Frame::Map { path, key, empty }) => {
                *empty = false;
                key.take().map(|k| format!("{path}.{k}"))
            }
            Some(Frame::Seq { path, index }) => {
                *index += 1;
                Some(format!("{path}[{}]", *index - 1))
            }
        }
    }
    let mut out = std::collections::BTreeSet::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut doc = 0;
    let mut parser = Parser::new_from_str(text);
    while let Some(event) = parser.next_event() {
        match event.unwrap().0 {
            Event::DocumentEnd => doc += 1,
            Event::Scalar(value, style, _, _) => {
                let value = if style == ScalarStyle::Plain {
                    value.into_owned()
                } else {
                    format!("{value:?}")
                };
                match slot(&mut stack, doc) {
                    Some(path) => {
                        out.insert(format!("{path}={value}"));
                    }
                    None => {
                        if let Some(Frame::Map { key, .. }) = stack.last_mut() {
                            *key = Some(value);
                        }
                    }
                }
            }
            Event::MappingStart(..) => {
                let path = slot(&mut stack, doc).unwrap();
                stack.push(Frame::Map {
                    path,
                    key: None,
                    empty: true,
                });
            }
            Event::SequenceStart(..) => {
                let path = slot(&mut stack, doc).unwrap();
                stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    path, empty: true, ..
                }) = stack.pop()
                {
                    out.insert(format!("{path}={{}}"));
                }
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { path, index: 0 }) = stack.pop() {
                    out.insert(format!("{path}=[]"));
                }
            }
            _ => {}
        }
    }
    out
}

/// Flow collections are rewritten in block style with every value they
/// held, read back exactly (quoting included): the fixed file differs from
/// the original by the added settings and the empty collections they fill.
#[test]
fn flow_collections_are_rewritten_with_every_value_kept() {
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "repo-init-defaults-v1beta3",
            "kubeadm-config.yaml",
            &[
                "1/.controllerManager.extraArgs.bind-address=0.0.0.0",
                "1/.scheduler.extraArgs.bind-address=0.0.0.0",
                "1/.etcd.local.extraArgs.listen-metrics-urls=http://0.0.0.0:2381",
            ],
            &["1/.controllerManager={}", "1/.scheduler={}"],
        ),
        (
            "repo-init-defaults-v1beta4",
            "kubeadm-config.yaml",
            &[
                "1/.controllerManager.extraArgs[0].name=bind-address",
                "1/.controllerManager.extraArgs[0].value=0.0.0.0",
                "1/.scheduler.extraArgs[0].name=bind-address",
                "1/.scheduler.extraArgs[0].value=0.0.0.0",
                "1/.etcd.local.extraArgs[0].name=listen-metrics-urls",
                "1/.etcd.local.extraArgs[0].value=http://0.0.0.0:2381",
            ],
            &["1/.controllerManager={}", "1/.scheduler={}"],
        ),
        (
            "repo-flow-nested",
            "cluster.yaml",
            &[
                "0/.controllerManager.extraArgs.bind-address=0.0.0.0",
                "0/.scheduler.extraArgs.bind-address=0.0.0.0",
                "0/.etcd.local.extraArgs.listen-metrics-urls=http://0.0.0.0:2381",
            ],
            &["0/.controllerManager={}"],
        ),
        (
            "repo-flow-v1beta4-crlf",
            "kubeadm.yaml",
            &[
                "0/.controllerManager.extraArgs[2].name=bind-address",
                "0/.controllerManager.extraArgs[2].value=0.0.0.0",
                "0/.scheduler.extraArgs[0].name=bind-address",
                "0/.scheduler.extraArgs[0].value=0.0.0.0",
                "0/.etcd.local.extraArgs[1].name=listen-metrics-urls",
                "0/.etcd.local.extraArgs[1].value=http://0.0.0.0:2381",
            ],
            &["0/.scheduler.extraArgs=[]"],
        ),
    ];
    for (case, file, added, filled) in cases {
        let dir = tempfile::tempdir().unwrap();
        let target = copy(case, dir.path());
        let path = target.join(file);
        let before = std::fs::read_to_string(&path).unwrap();
        let out = run(&["fix", target.to_str().unwrap()]);
        assert!(out.status <= 1, "{case}: {}{}", out.stdout, out.stderr);
        let after = std::fs::read_to_string(&path).unwrap();
        let (was, now) = (flatten(&before), flatten(&after));
        let set = |xs: &[&str]| xs.iter().map(|x| (*x).to_owned()).collect();
        let gained: std::collections::BTreeSet<String> = now.difference(&was).cloned().collect();
        let lost: std::collections::BTreeSet<String> = was.difference(&now).cloned().collect();
        assert_eq!(gained, set(added), "{case}: added\n{after}");
        assert_eq!(lost, set(filled), "{case}: removed\n{after}");
        // Line endings and the missing final newline are kept.
        if before.contains("\r\n") {
            assert_eq!(after.matches('\n').count(), after.matches("\r\n").count());
            assert_eq!(before.ends_with('\n'), after.ends_with('\n'), "{case}");
        }
    }
}

#[test]
fn the_round_limit_is_reported_and_a_second_run_goes_on() {
    // One fix per file per round: 70 findings in one file need 70 rounds.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kube-proxy.yaml");
    let docs: Vec<String> = (0..70)
        .map(|i| {
            format!(
                "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmetricsBindAddress: 127.0.0.1:{}\n",
                11000 + i
            )
        })
        .collect();
    std::fs::write(&file, docs.join("---\n")).unwrap();
    let path = file.to_str().unwrap();
    let first = run(&["fix", path]);
    assert_eq!(first.status, 1, "{}{}", first.stdout, first.stderr);
    assert!(
        first.stdout.contains(
            "stopped at the limit of 64 rounds with 6 left to try (run `promready fix` again to go on)"
        ),
        "{}",
        first.stdout
    );
    assert_eq!(
        first
            .stdout
            .matches("fixing stopped at the limit of 64 rounds before its turn")
            .count(),
        6,
        "{}",
        first.stdout
    );
    assert!(!first.stdout.contains("not fixable"), "{}", first.stdout);
    let second = run(&["fix", path]);
    assert_eq!(second.status, 0, "{}{}", second.stdout, second.stderr);
    assert!(
        second.stdout.contains("fixed 6 findings in 1 file"),
        "{}",
        second.stdout
    );
    assert!(!second.stdout.contains("limit"), "{}", second.stdout);
}

#[test]
fn documents_with_the_same_token_in_one_file_are_each_fixed() {
    // The same finding at the same token in three documents of one file is
    // three findings: fixing the first must not look like a failed fix of
    // the others.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kube-proxy.yaml");
    let doc = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmetricsBindAddress: 127.0.0.1:10249\n";
    std::fs::write(&file, [doc; 3].join("---\n")).unwrap();
    let out = run(&["fix", file.to_str().unwrap()]);
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("fixed 3 findings in 1 file; no findings remain"),
        "{}",
        out.stdout
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        text.matches("metricsBindAddress: 0.0.0.0:10249").count(),
        3,
        "{text}"
    );
}
