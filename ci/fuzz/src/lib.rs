//! The harness shared by the fuzz targets: arbitrary bytes are written as
//! one kind of file (inside a throw-away rootfs, configuration directory or
//! as a named file) and fed through the public API, [`promready::run`],
//! exactly as the command line would: `scan` in every output format,
//! `fix --diff`, then `fix --unsafe-fixes` twice.
//!
//! A panic anywhere is a crash for libFuzzer. Beyond not panicking, each run
//! checks what the README promises: exit status 0 or 1 (the inputs are
//! always there and readable), valid JSON and SARIF, `fix --diff` writes
//! nothing, and a second `fix` changes nothing.
//!
//! A named file that starts like an archive (gzip or zstd magic, or a tar
//! header) is scanned as one, and a truncated or corrupt archive is a clear
//! error: exit status 2 from every command, naming the file on standard
//! error, printing no findings and writing nothing. That is accepted; so is
//! a `fix` that cannot rewrite an archive that scans and says "not written",
//! leaving it as it was. Nothing else with status 2 is.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Which file the bytes become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `etc/systemd/system/kubelet.service` of an image.
    Unit,
    /// A drop-in of the image's kubelet unit.
    DropIn,
    /// The kubelet's `EnvironmentFile=` (`etc/default/kubelet`).
    EnvFile,
    /// The kubelet's `--config` file.
    KubeletConfig,
    /// A manifest in the kubelet's static pod directory.
    StaticPod,
    /// A file in a configuration directory (a kubeadm config repository).
    KubeadmDir,
    /// A file named on the command line.
    NamedFile,
}

/// The unit used when the bytes are not the unit: it reads every other
/// kind of file.
const UNIT: &str = "[Service]\nEnvironmentFile=-/etc/default/kubelet\nExecStart=/usr/bin/kubelet --config=/etc/kubernetes/kubelet.yaml --pod-manifest-path=/etc/kubernetes/manifests $DROPIN_ARGS $KUBELET_EXTRA_ARGS\n";

const UNIT_PATH: &str = "etc/systemd/system/kubelet.service";
const DROPIN_PATH: &str = "etc/systemd/system/kubelet.service.d/10-fuzz.conf";
const ENV_PATH: &str = "etc/default/kubelet";
const CONFIG_PATH: &str = "etc/kubernetes/kubelet.yaml";
const MANIFEST_PATH: &str = "etc/kubernetes/manifests/kube-scheduler.yaml";

fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, bytes).expect("write");
}

/// A minimal image in `dir/root`: a kubelet binary and, unless the bytes are
/// the unit, the unit above.
fn image(dir: &Path, unit: Option<&[u8]>) -> PathBuf {
    let root = dir.join("root");
    put(&root, "usr/bin/kubelet", b"");
    put(&root, UNIT_PATH, unit.unwrap_or(UNIT.as_bytes()));
    root
}

/// Writes `data` as a file of `kind` below `dir`; returns the path to scan.
fn write(kind: Kind, dir: &Path, data: &[u8]) -> PathBuf {
    let in_image = |rel: &str| {
        let root = image(dir, None);
        put(&root, rel, data);
        root
    };
    match kind {
        Kind::Unit => image(dir, Some(data)),
        Kind::DropIn => in_image(DROPIN_PATH),
        Kind::EnvFile => in_image(ENV_PATH),
        Kind::KubeletConfig => in_image(CONFIG_PATH),
        Kind::StaticPod => in_image(MANIFEST_PATH),
        Kind::KubeadmDir => {
            let repo = dir.join("repo");
            put(&repo, "kubeadm.yaml", data);
            repo
        }
        Kind::NamedFile => {
            put(dir, "named.yaml", data);
            dir.join("named.yaml")
        }
    }
}

/// Whether promready reads `data` as an archive: it recognises archives by
/// their first bytes (`archive::detect`), whatever the file's name.
fn looks_like_archive(data: &[u8]) -> bool {
    data.starts_with(&[0x1f, 0x8b])
        || data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || data.get(257..262) == Some(b"ustar")
}

/// Fuzzes one kind of file.
pub fn check(kind: Kind, data: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = write(kind, dir.path(), data);
    let archive = kind == Kind::NamedFile && looks_like_archive(data);
    exercise(dir.path(), &[target], archive);
}

/// Fuzzes a whole image: the bytes are split at `\0\0` into the unit, a
/// drop-in, the environment file, the `KubeletConfiguration` (kubeadm's
/// `/var/lib/kubelet/config.yaml`) and a static pod (missing parts are left
/// out), so that the files meet each other.
pub fn check_image(data: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut parts = split(data, b"\0\0");
    let unit = if parts.is_empty() {
        None
    } else {
        Some(parts.remove(0))
    };
    let root = image(dir.path(), unit);
    // kubeadm's places, which the seed images' units point at; the
    // KubeletConfiguration also where the built-in unit looks.
    for (rel, part) in [
        "etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
        ENV_PATH,
        "var/lib/kubelet/config.yaml",
        MANIFEST_PATH,
    ]
    .into_iter()
    .zip(parts)
    {
        put(&root, rel, part);
    }
    exercise(dir.path(), &[root], false);
}

fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(sep.len()).position(|w| w == sep) {
        out.push(&rest[..at]);
        rest = &rest[at + sep.len()..];
    }
    out.push(rest);
    out
}

/// Runs promready; with `archive`, exit status 2 is accepted when it is a
/// clear error (see [`rejected`]).
fn cli(head: &[&str], targets: &[PathBuf], archive: bool) -> promready::Outcome {
    let mut args: Vec<OsString> = vec!["promready".into()];
    args.extend(head.iter().map(OsString::from));
    args.extend(targets.iter().map(|t| t.clone().into_os_string()));
    let shown = format!("{args:?}");
    let out = promready::run(args, promready::Terminal::PLAIN);
    assert!(
        out.status <= promready::EXIT_FINDINGS || (archive && rejected(&out, targets)),
        "{shown}: exit status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
    out
}

/// Whether a run refused the archive in `targets` clearly: exit status 2,
/// standard error naming it, and nothing on standard output (no findings
/// computed from a damaged stream).
fn rejected(out: &promready::Outcome, targets: &[PathBuf]) -> bool {
    out.status == promready::EXIT_ERROR
        && out.stdout.is_empty()
        && targets.iter().any(|t| {
            out.stderr
                .contains(&format!("cannot read {}: ", t.display()))
        })
}

/// Whether a `fix` could not write an archive and said so, leaving it as it
/// was (an entry it may not patch, such as a sparse one).
fn not_written(out: &promready::Outcome) -> bool {
    out.status == promready::EXIT_ERROR && out.stdout.contains(": not written: ")
}

/// Every file below `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let t = e.file_type().expect("file type");
            if t.is_dir() {
                todo.push(e.path());
            } else if t.is_file() {
                out.insert(e.path(), std::fs::read(e.path()).expect("read"));
            }
        }
    }
    out
}

/// Runs every command on `targets`; `archive` says a target is read as an
/// archive, which may be refused (every command then refuses it).
fn exercise(dir: &Path, targets: &[PathBuf], archive: bool) {
    let before = snapshot(dir);
    let json = cli(&["scan", "--format", "json"], targets, archive);
    if json.status == promready::EXIT_ERROR {
        // A refused archive is refused by every command, which write nothing.
        for head in [
            &["scan", "--format", "sarif"][..],
            &["scan"],
            &["fix", "--diff", "--unsafe-fixes"],
            &["fix", "--unsafe-fixes"],
        ] {
            let out = cli(head, targets, archive);
            assert!(
                rejected(&out, targets),
                "{head:?}: the scan refused the archive, this did not (exit status {})\n{}{}",
                out.status,
                out.stdout,
                out.stderr
            );
        }
        assert!(snapshot(dir) == before, "a refused archive was written");
        return;
    }
    let _: serde_json::Value = serde_json::from_str(&json.stdout).expect("scan: valid JSON");
    let sarif = cli(&["scan", "--format", "sarif"], targets, false);
    let _: serde_json::Value = serde_json::from_str(&sarif.stdout).expect("scan: valid SARIF");
    cli(&["scan"], targets, false);

    cli(&["fix", "--diff", "--unsafe-fixes"], targets, false);
    assert!(snapshot(dir) == before, "fix --diff wrote");

    let first = cli(&["fix", "--unsafe-fixes"], targets, archive);
    let fixed = snapshot(dir);
    if archive && first.status == promready::EXIT_ERROR {
        assert!(
            not_written(&first) && fixed == before,
            "fix refused an archive that scans, unclearly or after writing:\n{}{}",
            first.stdout,
            first.stderr
        );
        return;
    }
    let second = cli(&["fix", "--unsafe-fixes"], targets, false);
    assert!(
        second.stdout.contains("fixed 0 findings in 0 files") && snapshot(dir) == fixed,
        "a second fix changed something\nfirst:\n{}\nsecond:\n{}",
        first.stdout,
        second.stdout
    );
}
