//! SIGINT and SIGTERM during `promready fix`: while it writes, it stops,
//! removes the temporary file it was writing, leaves every file it had not
//! renamed into place as it was, and exits with 130 (SIGINT) or 143
//! (SIGTERM), saying on standard error what was written. Before it writes,
//! the signals end it as they always do, and nothing is left behind.
//!
//! The archives are large (about 100 MB of incompressible filler beside a
//! fixture image), so that a rewrite takes long enough to be caught in the
//! middle; they are built once per run, under Cargo's test directory. The
//! directory tests use the pause before each rename
//! (`PROMREADY_TEST_WRITE_DELAY_MS`, see `tests/crash.rs`).

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod common;
mod support;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::scratch;
use support::{BIN, temp_files, tree};

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// The rewrites take both cores: one archive test at a time.
static HEAVY: Mutex<()> = Mutex::new(());

/// The fixture image, with 2 × 48 MiB of incompressible filler, as a plain
/// tar, a `.tar.gz` and a `.tar.zst`; built once.
struct Archives {
    gz: PathBuf,
    zst: PathBuf,
}

fn archives() -> &'static Archives {
    static BUILT: OnceLock<Archives> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("interrupt");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let root = scratch("testdata/fix/kubelet-1.10-dropin", &dir);
        let filler = root.join("usr/lib/filler");
        std::fs::create_dir_all(&filler).unwrap();
        // xorshift64, repeated every 4 MiB: farther apart than any window of
        // gzip (32 KiB) or of zstd at the levels used (2 MiB at most), so
        // just as incompressible, and quick to make in a debug build.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut period = Vec::with_capacity(4 << 20);
        while period.len() < 4 << 20 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            period.extend_from_slice(&state.to_le_bytes());
        }
        for name in ["a.bin", "b.bin"] {
            let mut f = File::create(filler.join(name)).unwrap();
            for _ in 0..12 {
                f.write_all(&period).unwrap();
            }
        }
        let tar = dir.join("image.tar");
        let ok = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(ok.success(), "tar");
        std::fs::remove_dir_all(&root).unwrap();
        let gz = dir.join("image.tar.gz");
        std::fs::write(&gz, stored_gzip(&std::fs::read(&tar).unwrap())).unwrap();
        let zst = dir.join("image.tar.zst");
        zstd::stream::copy_encode(File::open(&tar).unwrap(), File::create(&zst).unwrap(), 1)
            .unwrap();
        std::fs::remove_file(&tar).unwrap();
        Archives { gz, zst }
    })
}

/// A gzip member of stored (uncompressed) deflate blocks, as gzip makes of
/// incompressible data; a debug build of a compressor takes far longer.
fn stored_gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    let mut blocks = data.chunks(0xffff).peekable();
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = u16::try_from(block.len()).unwrap();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(data.len() & 0xffff_ffff)
            .unwrap()
            .to_le_bytes(),
    );
    out
}

/// `promready fix ARG…` in the background, output to files in `out`.
fn spawn_fix(args: &[&Path], out: &Path, delay_ms: Option<u64>) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.arg("fix")
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("PROMREADY_TEST_WRITE_DELAY_MS")
        .stdin(Stdio::null())
        .stdout(File::create(out.join("stdout")).unwrap())
        .stderr(File::create(out.join("stderr")).unwrap());
    if let Some(ms) = delay_ms {
        cmd.env("PROMREADY_TEST_WRITE_DELAY_MS", ms.to_string());
    }
    cmd.spawn().unwrap()
}

fn send(child: &Child, signal: i32) {
    let name = if signal == SIGINT { "-INT" } else { "-TERM" };
    let ok = Command::new("kill")
        .args([name, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill {name}");
}

/// Waits for the child, at most [`support::HANG`].
fn wait(child: &mut Child, what: &str) -> ExitStatus {
    let deadline = Instant::now() + support::HANG;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what}: still running after {:?}", support::HANG);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn read(out: &Path, name: &str) -> String {
    String::from_utf8_lossy(&std::fs::read(out.join(name)).unwrap()).into_owned()
}

/// The size of `dir`'s temporary file, if there is one.
fn temp_size(dir: &Path) -> Option<u64> {
    temp_files(dir)
        .first()
        .map(|t| std::fs::metadata(t).map_or(0, |m| m.len()))
}

/// Sends `signal` to a `fix` of a copy of `archive` once its temporary
/// archive has grown past a few MiB, and checks that it stopped at once,
/// with `status`, and left the archive byte-identical and nothing beside it.
fn interrupt_archive_rewrite(archive: &Path, signal: i32, status: i32) {
    let _heavy = HEAVY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let what = format!("{} on signal {signal}", archive.display());
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("image");
    std::fs::create_dir(&work).unwrap();
    let target = work.join(archive.file_name().unwrap());
    std::fs::copy(archive, &target).unwrap();
    let mut child = spawn_fix(&[&target], dir.path(), None);
    let deadline = Instant::now() + support::HANG;
    let grown = loop {
        if let Some(n) = temp_size(&work).filter(|&n| n >= 4 << 20) {
            break n;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "{what}: fix ended before its temporary archive grew:\n{}",
            read(dir.path(), "stderr")
        );
        assert!(Instant::now() < deadline, "{what}: no temporary archive");
        std::thread::sleep(Duration::from_millis(1));
    };
    send(&child, signal);
    let sent = Instant::now();
    let exit = wait(&mut child, &what);
    let stopped = sent.elapsed();
    let stderr = read(dir.path(), "stderr");
    assert_eq!(exit.code(), Some(status), "{what}: {exit:?}\n{stderr}");
    assert_eq!(stderr, "interrupted: nothing was changed\n", "{what}");
    assert_eq!(read(dir.path(), "stdout"), "", "{what}");
    // Within well under a second, even in a debug build on a busy machine.
    assert!(
        stopped < Duration::from_secs(1),
        "{what}: took {stopped:?} to stop (temporary archive at {grown} bytes)"
    );
    let left: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [target.file_name().unwrap()], "{what}: files left");
    assert!(
        std::fs::read(&target).unwrap() == std::fs::read(archive).unwrap(),
        "{what}: the archive changed"
    );
}

#[test]
fn sigterm_mid_rewrite_of_a_large_gzip_archive_removes_the_temporary_archive() {
    interrupt_archive_rewrite(&archives().gz, SIGTERM, 143);
}

#[test]
fn sigint_mid_rewrite_of_a_large_gzip_archive_removes_the_temporary_archive() {
    interrupt_archive_rewrite(&archives().gz, SIGINT, 130);
}

#[test]
fn sigterm_mid_rewrite_of_a_large_zstd_archive_removes_the_temporary_archive() {
    interrupt_archive_rewrite(&archives().zst, SIGTERM, 143);
}

#[test]
fn a_signal_while_fix_scans_ends_it_and_leaves_nothing() {
    // Reading and verifying 100 MB takes a few hundred milliseconds: the
    // signal lands in it, before any write, unless the machine is much
    // faster than expected (then it lands in the write, which must also
    // leave nothing).
    let _heavy = HEAVY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let archive = &archives().gz;
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("image");
    std::fs::create_dir(&work).unwrap();
    let target = work.join("image.tar.gz");
    std::fs::copy(archive, &target).unwrap();
    let start = Instant::now();
    let diff = Command::new(BIN)
        .args(["fix", "--diff"])
        .arg(&target)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(diff.code(), Some(1), "fix --diff");
    let scan = start.elapsed();
    let mut child = spawn_fix(&[&target], dir.path(), None);
    let at = Instant::now() + scan / 4;
    while Instant::now() < at {
        assert!(
            temp_files(&work).is_empty(),
            "writing began within {scan:?}/4"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    send(&child, SIGTERM);
    let exit = wait(&mut child, "fix signalled while scanning");
    let stderr = read(dir.path(), "stderr");
    assert!(
        exit.signal() == Some(SIGTERM)
            || (exit.code() == Some(143) && stderr == "interrupted: nothing was changed\n"),
        "{exit:?}\n{stderr}"
    );
    assert_eq!(read(dir.path(), "stdout"), "");
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 1, "files left");
    assert!(
        std::fs::read(&target).unwrap() == std::fs::read(archive).unwrap(),
        "the archive changed"
    );
}

type Tree = BTreeMap<PathBuf, Vec<u8>>;

/// A fixture before and after a complete `fix`, and the files that `fix`
/// changes, in the order it writes them (sorted by path).
fn reference(name: &str) -> (Tree, Tree, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let root = scratch(format!("testdata/fix/{name}"), dir.path());
    let original = tree(&root);
    pr!("fix", root).sane(&format!("{name}: reference fix"), &[0, 1]);
    let fixed = tree(&root);
    let targets: Vec<PathBuf> = original
        .keys()
        .filter(|p| original[*p] != fixed[*p])
        .cloned()
        .collect();
    assert!(targets.len() >= 2, "{name}: {targets:?}");
    (original, fixed, targets)
}

/// The pause before each rename.
const DELAY_MS: u64 = 400;

/// Signals a `fix` of `name` while it pauses before renaming its `n`th
/// target (0-based) into place: the targets before it are written, it and
/// those after it are not, no temporary file is left, and standard error
/// says exactly that.
fn interrupt_during_pause(name: &str, n: usize, signal: i32) {
    let (original, fixed, targets) = reference(name);
    let what = format!(
        "{name}: signal {signal} before renaming {}",
        targets[n].display()
    );
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let root = scratch(format!("testdata/fix/{name}"), dir.path());
    let mut child = spawn_fix(&[&root], out.path(), Some(DELAY_MS));
    let temp_name = format!(
        ".{}.promready-{}",
        targets[n].file_name().unwrap().to_string_lossy(),
        child.id()
    );
    let temp = root.join(&targets[n]).with_file_name(temp_name);
    let deadline = Instant::now() + support::HANG;
    while !temp.exists() {
        assert!(Instant::now() < deadline, "{what}: never happened");
        assert!(child.try_wait().unwrap().is_none(), "{what}: fix ended");
        std::thread::sleep(Duration::from_micros(200));
    }
    // Into the pause, well before its end.
    std::thread::sleep(Duration::from_millis(DELAY_MS / 4));
    send(&child, signal);
    let exit = wait(&mut child, &what);
    let stderr = read(out.path(), "stderr");
    assert_eq!(
        exit.code(),
        Some(128 + signal),
        "{what}: {exit:?}\n{stderr}"
    );
    assert_eq!(read(out.path(), "stdout"), "", "{what}");
    assert_eq!(temp_files(&root), Vec::<PathBuf>::new(), "{what}");
    // Each file is its original or its fixed self, never in between.
    let now = tree(&root);
    assert_eq!(
        now.keys().collect::<Vec<_>>(),
        original.keys().collect::<Vec<_>>(),
        "{what}"
    );
    for (p, bytes) in &now {
        let want = match targets.iter().position(|t| t == p) {
            Some(i) if i < n => &fixed[p],
            _ => &original[p],
        };
        assert!(bytes == want, "{what}: {}", p.display());
    }
    let expected = if n == 0 {
        "interrupted: nothing was changed\n".to_owned()
    } else {
        let written = targets[..n]
            .iter()
            .map(|t| format!("  written: {}\n", t.display()));
        let not_written = targets[n..]
            .iter()
            .map(|t| format!("  not written: {}\n", t.display()));
        format!(
            "interrupted: {n} of {} files written; each file is either written in full or left as it was\n",
            targets.len()
        ) + &written.chain(not_written).collect::<String>()
    };
    assert_eq!(stderr, expected, "{what}");
}

#[test]
fn a_signal_before_the_first_rename_of_a_rootfs_fix_changes_nothing() {
    interrupt_during_pause("kubelet-flag-mode-static-pods", 0, SIGTERM);
}

#[test]
fn a_signal_between_renames_of_a_rootfs_fix_says_which_files_were_written() {
    interrupt_during_pause("kubelet-flag-mode-static-pods", 1, SIGINT);
}

#[test]
fn a_signal_between_renames_of_a_config_directory_fix_says_which_were_written() {
    interrupt_during_pause("repo-v1beta3-create", 1, SIGTERM);
}
