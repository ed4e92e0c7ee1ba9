//! Properties, checked on generated inputs (proptest, fixed seeds, bounded
//! case counts):
//!
//! - the parsers never panic or hang on arbitrary bytes, in any kind of
//!   file (unit, drop-in, environment file, `KubeletConfiguration`, static
//!   pod, kubeadm config in a directory, named file), whether scanned,
//!   rendered or fixed;
//! - on generated *valid* kubelet setups (flags spread over `ExecStart=`,
//!   `Environment=` in the unit and a drop-in, and an environment file; LF
//!   or CRLF) and kubeadm configurations (v1beta3 maps or v1beta4 lists,
//!   sections present or absent, `KubeProxyConfiguration` and
//!   `KubeletConfiguration` documents), `fix --unsafe-fixes` converges: the
//!   fixed rules report nothing afterwards, a second `fix` changes nothing,
//!   and every file the fix did not name stays byte-identical (and is not
//!   even rewritten).
//!
//! Runs are in-process ([`promready::run`]) on a worker thread, so a hang
//! fails the case instead of the whole suite.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]
// Generators are long tables of choices.
#![allow(clippy::too_many_lines)]

mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use support::{HANG, put};

/// The rules `fix --unsafe-fixes` fixes on the generated inputs.
const FIXED_RULES: &[&str] = &[
    "PR001", "PR002", "PR003", "PR004", "PR005", "PR006", "PR007", "PR008", "PR010",
];

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        // Nothing is written next to the tests: failures print their input.
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    }
}

/// Runs the CLI in-process on a worker thread; a panic or a run longer than
/// [`HANG`] fails the case.
fn run(args: &[&std::ffi::OsStr]) -> promready::Outcome {
    let mut all: Vec<OsString> = vec!["promready".into()];
    all.extend(args.iter().map(|a| a.to_os_string()));
    let shown = format!("{all:?}");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let out = promready::run(all, promready::Terminal::PLAIN);
        let _ = tx.send(out);
    });
    match rx.recv_timeout(HANG) {
        Ok(out) => {
            assert!(out.status <= 2, "{shown}: exit status {}", out.status);
            out
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("{shown}: hangs"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("{shown}: panicked"),
    }
}

macro_rules! cli {
    ($($arg:expr),* $(,)?) => {
        run(&[$(::std::ffi::OsStr::new(&$arg)),*])
    };
}

/// Codes of the findings in a JSON report.
fn codes(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut out: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}",
                f["code"].as_str().unwrap(),
                f["location"]["path"].as_str().unwrap(),
                f["location"]["line"]
            )
        })
        .collect();
    out.sort();
    out
}

/// Every regular file below `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let m = e.metadata().unwrap();
            (
                e.path().strip_prefix(dir).unwrap().to_path_buf(),
                (std::fs::read(e.path()).unwrap(), m.modified().unwrap()),
            )
        })
        .collect()
}

/// The paths `fix` says it changed (`fixed PATH (CODES)` lines).
fn reported_changes(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("fixed "))
        .filter_map(|l| l.rsplit_once(" (").map(|(p, _)| p.to_owned()))
        .collect()
}

/// `fix --unsafe-fixes` on `target` (below `dir`), then the properties:
/// none of the fixed rules is reported afterwards, exactly the files the fix
/// names changed (the others keep bytes and mtime), and a second `fix`
/// changes nothing. `shown` maps a changed file to its reported path.
fn converges(
    dir: &Path,
    target: &Path,
    shown: impl Fn(&Path) -> String,
) -> Result<(), TestCaseError> {
    let before = snapshot(dir);
    // `fix --diff` shows the files `fix` then changes.
    let diff = cli!("fix", "--diff", "--unsafe-fixes", target);
    let mut previewed: Vec<String> = diff
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("+++ b/"))
        .map(str::to_owned)
        .collect();
    previewed.sort();
    prop_assert!(snapshot(dir) == before, "fix --diff wrote");
    // Modification times have a granularity: make a rewrite visible.
    std::thread::sleep(std::time::Duration::from_millis(2));
    let first = cli!("fix", "--unsafe-fixes", target);
    prop_assert!(
        first.status <= 1,
        "fix failed:\n{}{}",
        first.stdout,
        first.stderr
    );
    let after = snapshot(dir);
    prop_assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "fix added or removed files"
    );
    let mut changed: Vec<String> = before
        .keys()
        .filter(|p| before[*p] != after[*p])
        .map(|p| shown(p))
        .collect();
    changed.sort();
    let mut reported = reported_changes(&first.stdout);
    reported.sort();
    prop_assert_eq!(
        &changed,
        &reported,
        "files changed vs. reported:\n{}",
        first.stdout
    );
    prop_assert_eq!(
        &changed,
        &previewed,
        "files changed vs. previewed:\n{}",
        diff.stdout
    );
    for (p, (bytes, _)) in &before {
        if !changed.contains(&shown(p)) {
            prop_assert_eq!(bytes, &after[p].0);
        }
    }

    let scan = cli!("scan", "--format", "json", target);
    // A fix the post-fix check refuses (it would stop the kubelet, e.g.
    // Webhook authorization without a kubeconfig) leaves its finding.
    let refused: Vec<&str> = first
        .stdout
        .lines()
        .filter_map(|l| {
            let code = |rest: &'static str| l.strip_prefix(rest)?.split(' ').next();
            if l.contains(": refused: ") {
                code("not fixed: ")
            } else if l.contains(": it would make ") {
                // Held back by the post-fix check: it would expose the kubelet.
                code("held back: ")
            } else {
                None
            }
        })
        .collect();
    let left: Vec<String> = codes(&scan.stdout)
        .into_iter()
        .filter(|c| FIXED_RULES.iter().any(|r| c.starts_with(r)))
        .filter(|c| !refused.iter().any(|r| c.starts_with(r)))
        .collect();
    prop_assert!(
        left.is_empty(),
        "left after fix --unsafe-fixes: {:?}\n{}",
        left,
        first.stdout
    );

    let second = cli!("fix", "--unsafe-fixes", target);
    prop_assert!(
        second.stdout.contains("fixed 0 findings in 0 files"),
        "second fix:\n{}",
        second.stdout
    );
    prop_assert!(snapshot(dir) == after, "the second fix changed files");
    Ok(())
}

// ---------------------------------------------------------------------------
// Generated kubelet setups.

/// Where a flag is written.
#[derive(Debug, Clone, Copy)]
enum Place {
    Exec,
    UnitEnvironment,
    DropIn,
    EnvFile,
}

#[derive(Debug, Clone)]
struct Kubelet {
    /// Flags in the order they are written, each with its place.
    flags: Vec<(String, Place)>,
    /// Order of `$UNIT_ARGS`, `$DROPIN_ARGS`, `$KUBELET_EXTRA_ARGS` on `ExecStart=`.
    refs: Vec<&'static str>,
    /// Direct flags before (true) or after the references.
    direct_first: bool,
    unit_dir: &'static str,
    /// `"`, `'` or nothing around environment file values.
    env_quote: &'static str,
    /// `"…"` around the whole assignment, or around the value only.
    unit_quote_whole: bool,
    crlf: [bool; 3],
    version: Option<&'static str>,
    /// `ExecStart=` split over lines with `\` continuations.
    continued: bool,
    /// `/etc/kubernetes/kubelet-config.yaml` (read when a `--config` flag
    /// names it): `authorization.mode`, `authentication.webhook.enabled`,
    /// `readOnlyPort`, `address`, `authentication.anonymous.enabled`.
    config: [Option<&'static str>; 5],
}

fn flag(options: &'static [&'static str]) -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![Just(None), proptest::sample::select(options).prop_map(Some)]
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        Just(Place::Exec),
        Just(Place::UnitEnvironment),
        Just(Place::DropIn),
        Just(Place::EnvFile),
    ]
}

/// Zero, one or two occurrences (the last wins) of a flag, each with a
/// value from `options` and a place.
fn occurrences(options: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, Place)>> {
    proptest::collection::vec(
        (
            proptest::sample::select(options).prop_map(str::to_owned),
            place(),
        ),
        0..=2,
    )
}

fn kubelet() -> impl Strategy<Value = Kubelet> {
    let placed = (
        occurrences(&[
            "--authorization-mode=Webhook",
            "--authorization-mode=AlwaysAllow",
        ]),
        occurrences(&[
            "--authentication-token-webhook",
            "--authentication-token-webhook=true",
            "--authentication-token-webhook=false",
        ]),
        occurrences(&[
            "--read-only-port=0",
            "--read-only-port=10255",
            "--read-only-port 10255",
            "--read_only_port=12345",
        ]),
        occurrences(&[
            "--address=127.0.0.1",
            "--address=0.0.0.0",
            "--address 127.0.0.1",
        ]),
        occurrences(&["--cadvisor-port=0", "--cadvisor-port=4194"]),
        occurrences(&["--kubeconfig=/etc/kubernetes/kubelet.conf"]),
        occurrences(&["--anonymous-auth=false", "--anonymous-auth=true"]),
        occurrences(&[
            "--config=/var/lib/kubelet/config.yaml",
            "--config=/etc/kubernetes/kubelet-config.yaml",
            "--config /etc/kubernetes/kubelet-config.yaml",
        ]),
    )
        .prop_map(|(a, b, c, d, e, f, g, h)| [a, b, c, d, e, f, g, h].concat())
        .prop_shuffle();
    (
        placed,
        Just(vec!["$UNIT_ARGS", "$DROPIN_ARGS", "$KUBELET_EXTRA_ARGS"]).prop_shuffle(),
        any::<bool>(),
        proptest::sample::select(&["etc/systemd/system", "lib/systemd/system"][..]),
        proptest::sample::select(&["\"", "'", ""][..]),
        any::<bool>(),
        any::<[bool; 3]>(),
        proptest::sample::select(&[None, Some("v1.11.10"), Some("v1.29.6")][..]),
        any::<bool>(),
        (
            flag(&["Webhook", "AlwaysAllow"]),
            flag(&["true", "false", "no"]),
            flag(&["0", "10255", "\"10255\""]),
            flag(&["127.0.0.1", "0.0.0.0", "\"::1\""]),
            flag(&["true", "false"]),
        )
            .prop_map(|(a, b, c, d, e)| [a, b, c, d, e]),
    )
        .prop_map(
            |(
                flags,
                refs,
                direct_first,
                unit_dir,
                env_quote,
                unit_quote_whole,
                crlf,
                version,
                continued,
                config,
            )| {
                Kubelet {
                    flags,
                    refs,
                    direct_first,
                    unit_dir,
                    env_quote,
                    unit_quote_whole,
                    crlf,
                    version,
                    continued,
                    config,
                }
            },
        )
}

fn eol(text: &str, crlf: bool) -> String {
    if crlf {
        text.replace('\n', "\r\n")
    } else {
        text.to_owned()
    }
}

impl Kubelet {
    fn at(&self, place: fn(Place) -> bool) -> String {
        self.flags
            .iter()
            .filter(|(_, p)| place(*p))
            .map(|(f, _)| f.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn environment(&self, name: &str, value: &str) -> String {
        if self.unit_quote_whole {
            format!("Environment=\"{name}={value}\"\n")
        } else {
            format!("Environment={name}=\"{value}\"\n")
        }
    }

    /// Writes the image; returns the root.
    fn write(&self, dir: &Path) -> PathBuf {
        let root = dir.join("root");
        put(&root, "usr/bin/kubelet", "#!/bin/sh\n");
        if let Some(v) = self.version {
            put(&root, "etc/kubernetes-version", format!("{v}\n"));
        }
        let exec = self.at(|p| matches!(p, Place::Exec));
        let refs = self.refs.join(" ");
        let line = if self.direct_first {
            format!("{exec} {refs}")
        } else {
            format!("{refs} {exec}")
        };
        let line = if self.continued {
            line.split_whitespace()
                .collect::<Vec<_>>()
                .join(" \\\n    ")
        } else {
            line
        };
        let [mode, webhook, port, address, anonymous] = self.config;
        let mut config =
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n".to_owned();
        if webhook.is_some() || anonymous.is_some() {
            config.push_str("authentication:\n");
            if let Some(a) = anonymous {
                writeln!(config, "  anonymous:\n    enabled: {a}").unwrap();
            }
            if let Some(w) = webhook {
                writeln!(config, "  webhook:\n    enabled: {w}").unwrap();
            }
        }
        if let Some(m) = mode {
            writeln!(config, "authorization:\n  mode: {m}").unwrap();
        }
        if let Some(p) = port {
            writeln!(config, "readOnlyPort: {p}").unwrap();
        }
        if let Some(a) = address {
            writeln!(config, "address: {a}").unwrap();
        }
        put(&root, "etc/kubernetes/kubelet-config.yaml", config);
        let unit = format!(
            "[Unit]\nDescription=kubelet: The Kubernetes Node Agent\n\n[Service]\n{}EnvironmentFile=-/etc/default/kubelet\nExecStart=/usr/bin/kubelet {}\nRestart=always\n",
            self.environment(
                "UNIT_ARGS",
                &self.at(|p| matches!(p, Place::UnitEnvironment))
            ),
            line.trim()
        );
        put(
            &root,
            &format!("{}/kubelet.service", self.unit_dir),
            eol(&unit, self.crlf[0]),
        );
        let dropin = format!(
            "# extra flags\n[Service]\n{}",
            self.environment("DROPIN_ARGS", &self.at(|p| matches!(p, Place::DropIn)))
        );
        put(
            &root,
            "etc/systemd/system/kubelet.service.d/20-extra.conf",
            eol(&dropin, self.crlf[1]),
        );
        let q = self.env_quote;
        let env = format!(
            "# kubelet flags\nKUBELET_EXTRA_ARGS={q}{}{q}\n",
            self.at(|p| matches!(p, Place::EnvFile))
        );
        put(&root, "etc/default/kubelet", eol(&env, self.crlf[2]));
        root
    }
}

proptest! {
    #![proptest_config(config(64, 0x6b75_6265_6c65_7433))]

    #[test]
    fn fixing_a_kubelet_setup_converges(k in kubelet()) {
        let dir = tempfile::tempdir().unwrap();
        let root = k.write(dir.path());
        converges(&root, &root, |p| p.display().to_string())?;
    }
}

// ---------------------------------------------------------------------------
// Generated kubeadm configurations.

/// A control-plane section (`controllerManager`, `scheduler`, `etcd.local`).
#[derive(Debug, Clone, Copy)]
enum Section {
    Absent,
    /// Present, without `extraArgs`.
    Bare,
    /// `extraArgs` with another argument, and `bind-address` (or
    /// `listen-metrics-urls`) set to the value, if any.
    Args(Option<&'static str>),
}

fn section(values: &'static [&'static str]) -> impl Strategy<Value = Section> {
    prop_oneof![
        Just(Section::Absent),
        Just(Section::Bare),
        flag(values).prop_map(Section::Args),
    ]
}

// Each bool is an independent choice of the generator.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone)]
struct Cluster {
    v1beta4: bool,
    version: Option<&'static str>,
    indent: usize,
    /// v1beta4 list items indented under their key.
    indented_lists: bool,
    cm: Section,
    sched: Section,
    etcd: Section,
    /// Order of the sections and other keys.
    order: Vec<u8>,
    /// A `KubeProxyConfiguration` document.
    proxy: bool,
    /// Its `metricsBindAddress`, if set.
    proxy_metrics: Option<&'static str>,
    /// A `KubeletConfiguration` document: `authorization.mode`,
    /// `authentication.webhook.enabled`, `readOnlyPort`, `address`.
    kubelet: Option<[Option<&'static str>; 4]>,
    /// Documents in one file (true) or one file each.
    one_file: bool,
    comments: bool,
    crlf: bool,
}

fn cluster() -> impl Strategy<Value = Cluster> {
    (
        any::<bool>(),
        proptest::sample::select(&[None, Some("v1.28.3"), Some("v1.30.2"), Some("v1.31.1")][..]),
        proptest::sample::select(&[2usize, 4][..]),
        any::<bool>(),
        section(&["127.0.0.1", "0.0.0.0", "\"127.0.0.1\"", "localhost"]),
        section(&["127.0.0.1", "0.0.0.0"]),
        section(&["http://127.0.0.1:2381", "http://0.0.0.0:2381"]),
        Just(vec![0u8, 1, 2, 3, 4]).prop_shuffle(),
        proptest::option::of(flag(&[
            "127.0.0.1:10249",
            "\"127.0.0.1:10249\"",
            "0.0.0.0:10249",
        ])),
        proptest::option::of(
            (
                flag(&["Webhook", "AlwaysAllow"]),
                flag(&["true", "false", "no"]),
                flag(&["0", "10255"]),
                flag(&["127.0.0.1", "0.0.0.0"]),
            )
                .prop_map(|(a, b, c, d)| [a, b, c, d]),
        ),
        (any::<bool>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                v1beta4,
                version,
                indent,
                indented_lists,
                cm,
                sched,
                etcd,
                order,
                proxy,
                kubelet,
                (one_file, comments, crlf),
            )| Cluster {
                v1beta4,
                version,
                indent,
                indented_lists,
                cm,
                sched,
                etcd,
                order,
                proxy: proxy.is_some(),
                proxy_metrics: proxy.flatten(),
                kubelet,
                one_file,
                comments,
                crlf,
            },
        )
}

impl Cluster {
    fn pad(&self, level: usize) -> String {
        " ".repeat(self.indent * level)
    }

    /// `extraArgs` at `level` with `(name, value)` pairs.
    fn extra_args(&self, level: usize, args: &[(&str, &str)]) -> String {
        let mut s = format!("{}extraArgs:\n", self.pad(level));
        for (name, value) in args {
            if self.v1beta4 {
                let item = if self.indented_lists {
                    self.pad(level + 1)
                } else {
                    self.pad(level)
                };
                writeln!(s, "{item}- name: {name}\n{item}  value: {value}").unwrap();
            } else {
                writeln!(s, "{}{name}: {value}", self.pad(level + 1)).unwrap();
            }
        }
        s
    }

    fn component(&self, key: &str, sec: Section, arg: &str, other: (&str, &str)) -> String {
        let comment = if self.comments {
            " # managed by hand"
        } else {
            ""
        };
        match sec {
            Section::Absent => String::new(),
            Section::Bare => format!("{key}:{comment}\n{}extraVolumes: []\n", self.pad(1)),
            Section::Args(v) => {
                let mut args = vec![other];
                if let Some(v) = v {
                    args.push((arg, v));
                }
                format!("{key}:{comment}\n{}", self.extra_args(1, &args))
            }
        }
    }

    fn etcd(&self) -> String {
        let local = |rest: &str| {
            format!(
                "etcd:\n{}local:\n{}dataDir: /var/lib/etcd\n{rest}",
                self.pad(1),
                self.pad(2)
            )
        };
        match self.etcd {
            Section::Absent => String::new(),
            Section::Bare => local(""),
            Section::Args(v) => {
                let mut args = vec![("quota-backend-bytes", "\"8589934592\"")];
                if let Some(v) = v {
                    args.push(("listen-metrics-urls", v));
                }
                local(&self.extra_args(2, &args))
            }
        }
    }

    fn documents(&self) -> Vec<String> {
        let api = if self.v1beta4 { "v1beta4" } else { "v1beta3" };
        let mut doc = format!("apiVersion: kubeadm.k8s.io/{api}\nkind: ClusterConfiguration\n");
        if self.comments {
            doc.insert_str(0, "# kubeadm init --config this-file\n");
        }
        for part in &self.order {
            let text = match part {
                0 => self.component(
                    "controllerManager",
                    self.cm,
                    "bind-address",
                    ("node-cidr-mask-size", "\"24\""),
                ),
                1 => self.component("scheduler", self.sched, "bind-address", ("v", "\"2\"")),
                2 => self.etcd(),
                3 => self
                    .version
                    .map(|v| format!("kubernetesVersion: {v}\n"))
                    .unwrap_or_default(),
                _ => format!("networking:\n{}podSubnet: 10.244.0.0/16\n", self.pad(1)),
            };
            doc += &text;
        }
        let mut docs = vec![doc];
        if self.proxy {
            let metrics = self.proxy_metrics;
            let mut d = "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\n".to_owned();
            if let Some(m) = metrics {
                writeln!(d, "metricsBindAddress: {m}").unwrap();
            }
            docs.push(d);
        }
        if let Some([mode, webhook, port, address]) = self.kubelet {
            let mut d = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\n".to_owned();
            if let Some(w) = webhook {
                writeln!(
                    d,
                    "authentication:\n{}webhook:\n{}enabled: {w}",
                    self.pad(1),
                    self.pad(2)
                )
                .unwrap();
            }
            if let Some(m) = mode {
                writeln!(d, "authorization:\n{}mode: {m}", self.pad(1)).unwrap();
            }
            if let Some(p) = port {
                writeln!(d, "readOnlyPort: {p}").unwrap();
            }
            if let Some(a) = address {
                writeln!(d, "address: {a}").unwrap();
            }
            docs.push(d);
        }
        docs
    }

    /// Writes the repository; returns its directory.
    fn write(&self, dir: &Path) -> PathBuf {
        let repo = dir.join("repo");
        let docs = self.documents();
        if self.one_file {
            put(&repo, "kubeadm.yaml", eol(&docs.join("---\n"), self.crlf));
        } else {
            for (i, d) in docs.iter().enumerate() {
                put(&repo, &format!("{i}-config.yaml"), eol(d, self.crlf));
            }
        }
        put(&repo, "README.md", "# cluster configuration\n");
        repo
    }
}

proptest! {
    #![proptest_config(config(64, 0x6b75_6265_6164_6d32))]

    #[test]
    fn fixing_a_kubeadm_configuration_converges(c in cluster()) {
        let dir = tempfile::tempdir().unwrap();
        let repo = c.write(dir.path());
        converges(&repo, &repo, |p| p.display().to_string())?;
    }
}

// ---------------------------------------------------------------------------
// Arbitrary bytes in every kind of file.

/// Pieces of the languages promready parses, to make generated bytes reach
/// past the first line of each parser.
const FRAGMENTS: &[&str] = &[
    "[Service]\n",
    "[Unit]\n",
    "ExecStart=",
    "ExecStart=/usr/bin/kubelet ",
    "Environment=",
    "Environment=\"",
    "EnvironmentFile=",
    "EnvironmentFile=-/etc/default/kubelet\n",
    "UnsetEnvironment=",
    "WorkingDirectory=",
    "KUBELET_EXTRA_ARGS=",
    "$KUBELET_EXTRA_ARGS",
    "${KUBELET_EXTRA_ARGS}",
    "$$",
    "%%",
    "%n",
    "--read-only-port=10255",
    "--read-only-port",
    " 10255",
    "--authorization-mode=Webhook",
    "--authorization-mode=AlwaysAllow",
    "--authentication-token-webhook",
    "=false",
    "--address=127.0.0.1",
    "--cadvisor-port=0",
    "--config=/etc/kubernetes/kubelet.yaml",
    "--config-dir=/etc/kubernetes/kubelet.conf.d",
    "--kubeconfig=/k",
    "--",
    " -- ",
    ";",
    " ; ",
    "\\",
    "\\\n",
    "\"",
    "'",
    "`",
    "\\x",
    "\\u00e9",
    "\n",
    "\r\n",
    "\r",
    " ",
    "\t",
    "#",
    ";comment\n",
    "=",
    "\u{feff}",
    "\u{0}",
    "é",
    "\u{1F600}",
    "apiVersion: kubelet.config.k8s.io/v1beta1\n",
    "kind: KubeletConfiguration\n",
    "apiVersion: kubeadm.k8s.io/v1beta3\n",
    "apiVersion: kubeadm.k8s.io/v1beta4\n",
    "kind: ClusterConfiguration\n",
    "kind: InitConfiguration\n",
    "kind: JoinConfiguration\n",
    "apiVersion: kubeproxy.config.k8s.io/v1alpha1\n",
    "kind: KubeProxyConfiguration\n",
    "apiVersion: v1\nkind: Pod\n",
    "spec:\n  containers:\n  - name: x\n    command:\n",
    "    - kube-scheduler\n",
    "    - --bind-address=127.0.0.1\n",
    "    image: registry.k8s.io/kube-scheduler:v1.30.2\n",
    "readOnlyPort: 10255\n",
    "readOnlyPort: \"10255\"\n",
    "authentication:\n  webhook:\n    enabled: no\n",
    "authorization:\n  mode: AlwaysAllow\n",
    "address: 127.0.0.1\n",
    "metricsBindAddress: 127.0.0.1:10249\n",
    "controllerManager:\n",
    "scheduler:\n",
    "etcd:\n  local:\n",
    "  extraArgs:\n",
    "    bind-address: 127.0.0.1\n",
    "  - name: bind-address\n    value: 127.0.0.1\n",
    "nodeRegistration:\n  kubeletExtraArgs:\n",
    "kubernetesVersion: v1.30.2\n",
    "---\n",
    "...\n",
    "- ",
    ": ",
    "? ",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!int ",
    "!!str ",
    "!tag ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "|\n",
    ">-\n",
    "  ",
    "    ",
    "%YAML 1.1\n",
    "0x1F",
    "0o17",
    "1_000",
    "~",
    "null",
    ".inf",
];

/// Bytes: raw noise, or a soup of fragments with noise mixed in.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let soup = proptest::collection::vec(
        prop_oneof![
            4 => proptest::sample::select(FRAGMENTS).prop_map(|f| f.as_bytes().to_vec()),
            1 => proptest::collection::vec(any::<u8>(), 0..8),
        ],
        0..48,
    )
    .prop_map(|parts| parts.concat());
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..512),
        4 => soup,
    ]
}

/// One of each kind of file, generated.
#[derive(Debug, Clone)]
struct Files {
    unit: Vec<u8>,
    dropin: Vec<u8>,
    env: Vec<u8>,
    config: Vec<u8>,
    manifest: Vec<u8>,
    kubeadm: Vec<u8>,
    named: Vec<u8>,
}

fn files() -> impl Strategy<Value = Files> {
    (
        bytes(),
        bytes(),
        bytes(),
        bytes(),
        bytes(),
        bytes(),
        bytes(),
    )
        .prop_map(
            |(unit, dropin, env, config, manifest, kubeadm, named)| Files {
                unit,
                dropin,
                env,
                config,
                manifest,
                kubeadm,
                named,
            },
        )
}

const SECURE_KUBELET_CONFIG: &str =
    "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 0\n";

const UNIT_HEAD: &str = "[Service]\nEnvironmentFile=-/etc/default/kubelet\nExecStart=/usr/bin/kubelet --config=/etc/kubernetes/kubelet.yaml --pod-manifest-path=/etc/kubernetes/manifests $DROPIN_ARGS $KUBELET_EXTRA_ARGS\n";

impl Files {
    /// Two images (one with the generated unit, one with a fixed unit and
    /// the generated drop-in, environment file, `KubeletConfiguration` and
    /// static pod), a configuration directory and a named file.
    fn write(&self, dir: &Path) -> Vec<PathBuf> {
        let a = dir.join("image-a");
        put(&a, "usr/bin/kubelet", "");
        put(&a, "etc/systemd/system/kubelet.service", &self.unit);
        let b = dir.join("image-b");
        put(&b, "usr/bin/kubelet", "");
        put(&b, "lib/systemd/system/kubelet.service", UNIT_HEAD);
        put(
            &b,
            "etc/systemd/system/kubelet.service.d/10-x.conf",
            &self.dropin,
        );
        put(&b, "etc/default/kubelet", &self.env);
        put(&b, "etc/kubernetes/kubelet.yaml", &self.config);
        put(
            &b,
            "etc/kubernetes/manifests/kube-scheduler.yaml",
            &self.manifest,
        );
        let repo = dir.join("repo");
        put(&repo, "kubeadm.yaml", &self.kubeadm);
        // Something the scan reads whatever the bytes above are: a
        // directory without any is an input error.
        put(&repo, "kubelet.yaml", SECURE_KUBELET_CONFIG);
        let named = put(dir, "named.yaml", &self.named);
        vec![a, b, repo, named]
    }
}

proptest! {
    #![proptest_config(config(48, 0x6279_7465_7322))]

    #[test]
    fn no_bytes_crash_the_parsers(f in files()) {
        let dir = tempfile::tempdir().unwrap();
        let targets = f.write(dir.path());
        let cli = |head: &[&str]| {
            let mut args: Vec<&std::ffi::OsStr> = head.iter().map(std::ffi::OsStr::new).collect();
            args.extend(targets.iter().map(|t| t.as_os_str()));
            run(&args)
        };
        // Human output (miette) and SARIF (JSON, with regions); the JSON
        // report is exercised by the other properties.
        for format in ["human", "sarif"] {
            let out = cli(&["scan", "--format", format]);
            prop_assert!(out.status <= 1, "{}", out.stderr);
            if format == "sarif" {
                prop_assert!(serde_json::from_str::<serde_json::Value>(&out.stdout).is_ok());
            }
        }
        let before = snapshot(dir.path());
        let out = cli(&["fix", "--diff", "--unsafe-fixes"]);
        prop_assert!(out.status <= 1, "{}", out.stderr);
        prop_assert!(snapshot(dir.path()) == before, "fix --diff wrote");
        // Fixing whatever was found converges too.
        let first = cli(&["fix", "--unsafe-fixes"]);
        prop_assert!(first.status <= 1, "{}{}", first.stdout, first.stderr);
        let fixed = snapshot(dir.path());
        let second = cli(&["fix", "--unsafe-fixes"]);
        prop_assert!(
            second.stdout.contains("fixed 0 findings in 0 files") && snapshot(dir.path()) == fixed,
            "the second fix changed something:\nfirst: {}\nsecond: {}",
            first.stdout,
            second.stdout
        );
    }
}

#[test]
fn adjacent_duplicate_flags_in_one_environment_value_are_removed() {
    // Found by the kubelet property: the same flags directly on ExecStart=
    // were removed, in a variable they were not ("two edits of this fix
    // overlap"); nor when one variable was used twice (`$A $A`).
    for unit in [
        "[Service]\nEnvironment=\"A=--cadvisor-port=0 --cadvisor-port=0\"\nExecStart=/usr/bin/kubelet --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml $A\n",
        "[Service]\nEnvironment=\"A=--cadvisor-port=0\"\nExecStart=/usr/bin/kubelet --kubeconfig=/etc/kubernetes/kubelet.conf --config=/var/lib/kubelet/config.yaml $A $A\n",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        put(&root, "usr/bin/kubelet", "");
        // Removing a flag is safe only for a known version.
        put(&root, "etc/kubernetes-version", "v1.30.2\n");
        put(&root, "etc/systemd/system/kubelet.service", unit);
        let out = cli!("fix", root);
        assert_eq!(out.status, 0, "{unit}\n{}", out.stdout);
    }
}
