//! Crash safety of `promready fix`: killed with SIGKILL at any moment, it
//! leaves every file either exactly as it was or exactly as a completed
//! `fix` writes it, never a mix; the next `fix` finishes the job and leaves
//! no temporary file behind.
//!
//! The binary pauses between writing (and fsyncing) its temporary file
//! `.NAME.promready-PID` and renaming it over the target when
//! `PROMREADY_TEST_WRITE_DELAY_MS` is set, which widens the window in which
//! a kill finds the temporary file on disk. Kills land both at fixed times
//! spread over the whole run and at moments chosen by watching the
//! directory (the temporary file has just appeared; it is half-way through
//! the pause; a target has just been renamed into place).

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::scratch;
use support::{BIN, temp_files, tree};

/// The pause before each rename.
const DELAY_MS: u64 = 120;
/// Kills at fixed times spread over a whole run.
const TIMED_KILLS: u32 = 20;

type Tree = BTreeMap<PathBuf, Vec<u8>>;

/// A fixture, its tree before and after a complete `fix`, and the files
/// that `fix` changes (in the order it writes them: sorted by path).
struct Fixture {
    name: &'static str,
    original: Tree,
    fixed: Tree,
    targets: Vec<PathBuf>,
    /// How long a `fix` without the pause takes.
    plain_run: Duration,
}

impl Fixture {
    fn new(name: &'static str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = scratch(format!("testdata/fix/{name}"), dir.path());
        let original = tree(&root);
        let start = Instant::now();
        let out = pr!("fix", root);
        let plain_run = start.elapsed();
        // Held-back fixes leave findings: exit 1.
        out.sane(&format!("{name}: reference fix"), &[0, 1]);
        let fixed = tree(&root);
        assert!(temp_files(&root).is_empty());
        assert_eq!(
            original.keys().collect::<Vec<_>>(),
            fixed.keys().collect::<Vec<_>>()
        );
        let targets: Vec<PathBuf> = original
            .keys()
            .filter(|p| original[*p] != fixed[*p])
            .cloned()
            .collect();
        assert!(!targets.is_empty(), "{name}: fix changed nothing");
        Self {
            name,
            original,
            fixed,
            targets,
            plain_run,
        }
    }

    /// A fresh copy to kill `fix` in.
    fn copy(&self) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = scratch(format!("testdata/fix/{}", self.name), dir.path());
        assert_eq!(tree(&root), self.original);
        (dir, root)
    }
}

/// `promready fix ROOT` with the pause before each rename.
fn start_fix(root: &Path) -> Child {
    Command::new(BIN)
        .arg("fix")
        .arg(root)
        .env("PROMREADY_TEST_WRITE_DELAY_MS", DELAY_MS.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// What the tree looked like after a kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    /// A temporary file was left beside an original.
    TempLeft,
    /// Some targets were fixed, some not.
    Mixed,
    /// Every target was fixed.
    Done,
}

/// Checks the tree after a kill: each target is its original or its fixed
/// bytes, everything else is untouched, and the only extra files are
/// temporary files. Returns what states the run was caught in.
fn check_after_kill(f: &Fixture, root: &Path, what: &str) -> Vec<State> {
    let temps: BTreeSet<PathBuf> = temp_files(root)
        .into_iter()
        .map(|p| p.strip_prefix(root).unwrap().to_path_buf())
        .collect();
    let now: Tree = tree(root)
        .into_iter()
        .filter(|(p, _)| !temps.contains(p))
        .collect();
    assert_eq!(
        now.keys().collect::<Vec<_>>(),
        f.original.keys().collect::<Vec<_>>(),
        "{what}: files appeared or vanished (temp files: {temps:?})"
    );
    let mut fixed = 0;
    for (p, bytes) in &now {
        if f.targets.contains(p) {
            if *bytes == f.fixed[p] {
                fixed += 1;
            } else {
                assert!(
                    *bytes == f.original[p],
                    "{what}: {} is neither the original nor the fixed file:\n{}",
                    p.display(),
                    String::from_utf8_lossy(bytes)
                );
            }
        } else {
            assert_eq!(*bytes, f.original[p], "{what}: {} changed", p.display());
        }
    }
    // A temporary file only ever sits beside a target that is still
    // original: it is renamed over its target, never left after it.
    for t in &temps {
        let name = t.file_name().unwrap().to_string_lossy();
        let target = t.with_file_name(
            name.trim_start_matches('.')
                .rsplit_once(".promready-")
                .unwrap()
                .0,
        );
        assert!(
            f.targets.contains(&target),
            "{what}: stray temp file {}",
            t.display()
        );
        assert_eq!(
            now[&target],
            f.original[&target],
            "{what}: {} beside a changed file",
            t.display()
        );
    }
    // Scanning a tree caught mid-fix is sane and never reads a temp file.
    let scan = pr!("scan", "--format", "json", root);
    scan.sane(&format!("{what}: scan after the kill"), &[0, 1]);
    for p in scan.json().paths() {
        assert!(!p.contains(".promready-"), "{what}: scanned {p}");
    }
    let mut states = Vec::new();
    if !temps.is_empty() {
        states.push(State::TempLeft);
    }
    if fixed == f.targets.len() {
        states.push(State::Done);
    } else if fixed > 0 {
        states.push(State::Mixed);
    }
    states
}

/// Runs `fix` again without the pause and checks that the tree is the
/// fixed tree, with no temporary file left.
fn check_recovery(f: &Fixture, root: &Path, what: &str) {
    let again = pr!("fix", root);
    again.sane(&format!("{what}: fix after the kill"), &[0, 1]);
    assert_eq!(
        temp_files(root),
        Vec::<PathBuf>::new(),
        "{what}: temp files left after a complete fix"
    );
    assert!(tree(root) == f.fixed, "{what}: not the fixed tree");
}

/// Kills a run at `at` after its start.
fn kill_at(f: &Fixture, at: Duration) -> Vec<State> {
    let what = format!("{}: killed at {at:?}", f.name);
    let (_dir, root) = f.copy();
    let mut child = start_fix(&root);
    let start = Instant::now();
    if let Some(rest) = at.checked_sub(start.elapsed()) {
        std::thread::sleep(rest);
    }
    let _ = child.kill();
    child.wait().unwrap();
    let state = check_after_kill(f, &root, &what);
    check_recovery(f, &root, &what);
    state
}

/// Kills a run once `ready` holds for its tree (then after `extra`).
fn kill_when(
    f: &Fixture,
    what: &str,
    extra: Duration,
    ready: impl Fn(&Path) -> bool,
) -> Vec<State> {
    let what = format!("{}: killed {what}", f.name);
    let (_dir, root) = f.copy();
    let mut child = start_fix(&root);
    let deadline = Instant::now() + support::HANG;
    while !ready(&root) {
        assert!(Instant::now() < deadline, "{what}: never happened");
        if child.try_wait().unwrap().is_some() {
            // The run ended before the moment came: a slow poll. The
            // checks below still apply.
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    std::thread::sleep(extra);
    let _ = child.kill();
    child.wait().unwrap();
    let state = check_after_kill(f, &root, &what);
    check_recovery(f, &root, &what);
    state
}

fn crash_safety(name: &'static str) {
    let f = Fixture::new(name);
    let mut seen = BTreeSet::new();
    // Fixed times, from before the process has started to after it ends.
    let files = u32::try_from(f.targets.len()).unwrap();
    let span = f.plain_run + Duration::from_millis(DELAY_MS) * files + Duration::from_millis(50);
    for i in 0..TIMED_KILLS {
        seen.extend(kill_at(&f, span * i / (TIMED_KILLS - 1)));
    }
    // Moments chosen by watching the directory, for each target in turn.
    for (n, target) in f.targets.iter().enumerate() {
        let temp_of = |root: &Path| {
            temp_files(root).iter().any(|t| {
                t.parent() == root.join(target).parent()
                    && t.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with(&format!(
                            ".{}.promready-",
                            target.file_name().unwrap().to_string_lossy()
                        ))
            })
        };
        let t = target.display();
        seen.extend(kill_when(
            &f,
            &format!("as the temp file of {t} appears"),
            Duration::ZERO,
            temp_of,
        ));
        seen.extend(kill_when(
            &f,
            &format!("half-way through the pause before renaming {t}"),
            Duration::from_millis(DELAY_MS / 2),
            temp_of,
        ));
        let fixed_bytes = f.fixed[target].clone();
        seen.extend(kill_when(
            &f,
            &format!("right after {t} (file {}) is renamed", n + 1),
            Duration::ZERO,
            |root: &Path| std::fs::read(root.join(target)).is_ok_and(|b| b == fixed_bytes),
        ));
    }
    // The kills did land inside the interesting windows.
    assert!(seen.contains(&State::TempLeft), "{name}: {seen:?}");
    assert!(seen.contains(&State::Done), "{name}: {seen:?}");
    if f.targets.len() > 1 {
        assert!(seen.contains(&State::Mixed), "{name}: {seen:?}");
    }
}

#[test]
fn killing_fix_in_a_rootfs_never_leaves_a_partial_file() {
    crash_safety("kubelet-1.10-dropin");
}

#[test]
fn killing_fix_in_a_config_directory_never_leaves_a_partial_file() {
    crash_safety("repo-v1beta3-create");
}

#[test]
fn a_stale_temp_file_of_a_killed_run_is_removed_by_the_next_write() {
    // A temp file left by a run that died (another PID), holding garbage: the
    // next fix removes it, and it is never read as configuration meanwhile.
    let f = Fixture::new("repo-v1beta3-create");
    let (_dir, root) = f.copy();
    let stale = root.join(".cluster.yaml.promready-999999999");
    std::fs::write(
        &stale,
        "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n",
    )
    .unwrap();
    let scan = pr!("scan", "--format", "json", root);
    scan.sane("scan with a stale temp file", &[1]);
    assert!(
        scan.json()
            .paths()
            .iter()
            .all(|p| !p.contains("promready-"))
    );
    check_recovery(&f, &root, "stale temp file");
    assert!(!stale.exists());
}

#[test]
fn a_directory_swapped_for_a_symlink_mid_fix_is_not_written_through() {
    // `fix` plans every edit, then writes the files one by one. While it
    // pauses before renaming the first, the directory of the last is moved
    // away and replaced by a symlink to a directory outside the image that
    // holds a same-named file. The write must not follow the link: the
    // directory is opened with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS).
    let name = "kubelet-flag-mode-static-pods";
    let f = Fixture::new(name);
    let first = PathBuf::from("etc/kubernetes/manifests/kube-controller-manager.yaml");
    let last = PathBuf::from("etc/systemd/system/kubelet.service.d/10-kubeadm.conf");
    assert_eq!(f.targets.first(), Some(&first));
    assert_eq!(f.targets.last(), Some(&last));
    let (dir, root) = f.copy();
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("10-kubeadm.conf"), &f.original[&last]).unwrap();

    let mut child = Command::new(BIN)
        .arg("fix")
        .arg(&root)
        .env("PROMREADY_TEST_WRITE_DELAY_MS", "300")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + support::HANG;
    while !temp_files(&root.join("etc/kubernetes/manifests"))
        .iter()
        .any(|t| {
            t.to_string_lossy()
                .contains(".kube-controller-manager.yaml.promready-")
        })
    {
        assert!(Instant::now() < deadline, "the first write never started");
        assert!(
            child.try_wait().unwrap().is_none(),
            "fix ended before writing"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    let dropins = root.join(last.parent().unwrap());
    let moved = dropins.with_file_name("kubelet.service.d.moved");
    std::fs::rename(&dropins, &moved).unwrap();
    std::os::unix::fs::symlink(&outside, &dropins).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    // Errors go to standard error.
    assert!(
        stderr.contains(&format!("error: {}: not written", last.display())),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(outside.join("10-kubeadm.conf")).unwrap(),
        f.original[&last],
        "written through the symlink"
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        1,
        "temp file outside"
    );
    assert_eq!(
        std::fs::read(moved.join("10-kubeadm.conf")).unwrap(),
        f.original[&last]
    );
    assert!(std::fs::symlink_metadata(&dropins).unwrap().is_symlink());
    // The files before the swap were written.
    for t in &f.targets[..f.targets.len() - 1] {
        assert_eq!(
            std::fs::read(root.join(t)).unwrap(),
            f.fixed[t],
            "{}",
            t.display()
        );
    }
    assert!(temp_files(&root).is_empty() && temp_files(&outside).is_empty());
}
