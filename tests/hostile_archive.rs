//! Archive rewrites that never make an image worse, and archives built to
//! exhaust the reader: temporary files of other runs, the owner, mode and
//! xattrs of what `fix` replaces, `-o` onto things that are not files,
//! symlinked inputs, gzip padding, and paths and headers past the
//! reader's budgets (with the peak memory of each run measured).
//!
//! Every hostile archive is generated here, in a temporary directory.

// Test code: a panic is the failure report, and a case that cannot run
// here says so on standard error.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;
mod support;

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{BIN, run_bin, temp_files};

/// `fix` on the demo image: 1, because one finding is held back.
const FIXED_WITH_ONE_LEFT: i32 = 1;

/// The peak memory any run here may reach. A scan of a real image takes
/// tens of MiB.
const PEAK_LIMIT_KIB: u64 = 200 * 1024;

/// Runs the binary; messages are not wrapped, so they can be searched.
fn run<S: AsRef<OsStr>>(args: &[S]) -> support::Ran {
    run_bin(args, &[("COLUMNS", "10000")])
}

/// The demo image as a GNU tar.
fn demo_tar(dir: &Path) -> PathBuf {
    let out = dir.join("demo.tar");
    let ok = Command::new("tar")
        .args(["--format", "gnu", "-C", "testdata/demo", "-cf"])
        .arg(&out)
        .arg(".")
        .status()
        .unwrap();
    assert!(ok.success());
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The demo image as a `.tar.gz`.
fn demo_tar_gz(dir: &Path, name: &str) -> PathBuf {
    let plain = std::fs::read(demo_tar(dir)).unwrap();
    let out = dir.join(name);
    std::fs::write(&out, gzip(&plain)).unwrap();
    out
}

/// A process id no process has: that of a child that has exited.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn stale_temp_files_of_dead_processes_are_removed_and_those_of_running_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    // This test's own process runs; a child that exited does not.
    let (dead, live) = (dead_pid(), std::process::id());
    let archive = demo_tar_gz(dir.path(), "image.tar.gz");
    let config = common::scratch("testdata/fix/repo-v1beta3-create", dir.path());
    for (what, target) in [
        ("an archive", archive.clone()),
        ("a configuration file", config.join("cluster.yaml")),
    ] {
        let name = target.file_name().unwrap().to_string_lossy().into_owned();
        let temp = |pid: u32| target.with_file_name(format!(".{name}.promready-{pid}"));
        std::fs::write(temp(dead), "left by a killed run").unwrap();
        std::fs::write(temp(live), "a run in progress").unwrap();
        let input = if target == archive { &archive } else { &config };
        let out = run(&[OsStr::new("fix"), input.as_os_str()]);
        out.sane(&format!("fix {what}"), &[0, 1]);
        assert!(
            !temp(dead).exists(),
            "{what}: the dead process's temp file is still there"
        );
        assert_eq!(
            std::fs::read_to_string(temp(live)).unwrap(),
            "a run in progress",
            "{what}: the running process's temp file was removed"
        );
        std::fs::remove_file(temp(live)).unwrap();
    }
}

#[test]
fn two_fix_runs_on_one_directory_at_once_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::scratch("testdata/fix/repo-v1beta3-create", dir.path());
    let alone = {
        let d = tempfile::tempdir().unwrap();
        let c = common::scratch("testdata/fix/repo-v1beta3-create", d.path());
        let out = run(&[OsStr::new("fix"), c.as_os_str()]);
        (out.status, support::tree(&c))
    };
    let start = || {
        Command::new(BIN)
            .arg("fix")
            .arg(&config)
            .env("PROMREADY_TEST_WRITE_DELAY_MS", "1500")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = start();
    // The second starts while the first waits before renaming its temp file.
    let deadline = Instant::now() + support::HANG;
    while temp_files(&config).is_empty() {
        assert!(Instant::now() < deadline, "the first run never wrote");
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = start();
    for (which, child) in [("first", first), ("second", second)] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            alone.0,
            "the {which} run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(support::tree(&config), alone.1);
    assert!(temp_files(&config).is_empty());
}

/// Sets an extended attribute; false where the file system refuses it.
fn set_xattr(path: &Path, name: &str, value: &[u8]) -> bool {
    rustix::fs::setxattr(path, name, value, rustix::fs::XattrFlags::empty()).is_ok()
}

fn xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    let n = rustix::fs::getxattr(path, name, &mut buf[..]).ok()?;
    buf.truncate(n);
    Some(buf)
}

#[test]
fn what_fix_replaces_keeps_its_owner_mode_and_extended_attributes() {
    let dir = tempfile::tempdir().unwrap();
    // Files are created with the effective user id: 0 is root.
    let probe = dir.path().join("probe");
    std::fs::write(&probe, "").unwrap();
    let root = std::fs::metadata(&probe).unwrap().uid() == 0;
    if !root {
        eprintln!(
            "SKIPPED (not root): owner preservation needs chown; mode and xattrs are checked"
        );
    }
    let archive = demo_tar_gz(dir.path(), "image.tar.gz");
    let config = common::scratch("testdata/fix/repo-v1beta3-create", dir.path());
    for (what, target, input) in [
        ("an archive", archive.clone(), archive.clone()),
        (
            "a configuration file",
            config.join("cluster.yaml"),
            config.clone(),
        ),
    ] {
        if root {
            std::os::unix::fs::chown(&target, Some(1234), Some(5678)).unwrap();
        }
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        let user = set_xattr(&target, "user.promready-test", b"kept");
        if !user {
            eprintln!("SKIPPED for {what}: this file system refuses user.* xattrs");
        }
        let label = b"system_u:object_r:container_file_t:s0\0";
        let selinux = set_xattr(&target, "security.selinux", label);
        if !selinux {
            eprintln!("SKIPPED for {what}: security.selinux cannot be set here");
        }
        let before = std::fs::read(&target).unwrap();
        let out = run(&[OsStr::new("fix"), input.as_os_str()]);
        out.sane(&format!("fix {what}"), &[0, 1]);
        assert_ne!(std::fs::read(&target).unwrap(), before, "{what}: not fixed");
        let meta = std::fs::metadata(&target).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o640, "{what}: mode");
        if root {
            assert_eq!((meta.uid(), meta.gid()), (1234, 5678), "{what}: owner");
        }
        if user {
            assert_eq!(
                xattr(&target, "user.promready-test").as_deref(),
                Some(&b"kept"[..]),
                "{what}: user xattr"
            );
        }
        if selinux {
            assert_eq!(
                xattr(&target, "security.selinux").as_deref(),
                Some(&label[..]),
                "{what}: SELinux label"
            );
        }
    }
}

#[test]
fn fix_o_onto_anything_but_a_regular_file_or_a_new_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_tar_gz(dir.path(), "image.tar.gz");
    let fifo = support::fifo(&dir.path().join("fifo"));
    let subdir = dir.path().join("a-directory");
    std::fs::create_dir(&subdir).unwrap();
    let real = dir.path().join("real.tar.gz");
    std::fs::write(&real, b"not to be touched").unwrap();
    let link = dir.path().join("link.tar.gz");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut targets = vec![
        ("a FIFO", fifo),
        ("a directory", subdir),
        ("a symlink", link.clone()),
    ];
    // A device node like /dev/null, made here rather than risking the real one.
    let null = dir.path().join("null");
    let made = Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if made {
        targets.push(("a character device", null));
    } else {
        eprintln!("SKIPPED the device node case: mknod needs root");
    }
    for (what, target) in targets {
        let kind = |p: &Path| std::fs::symlink_metadata(p).unwrap().file_type();
        let before = kind(&target);
        let out = run(&[
            OsStr::new("fix"),
            OsStr::new("-o"),
            target.as_os_str(),
            archive.as_os_str(),
        ]);
        out.sane(what, &[2]);
        assert!(
            out.stderr.contains(&target.display().to_string()),
            "{what}: the path is not named: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("nothing was written"),
            "{what}: {}",
            out.stderr
        );
        assert_eq!(kind(&target), before, "{what} was replaced");
    }
    assert_eq!(std::fs::read(&real).unwrap(), b"not to be touched");
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn an_archive_with_several_hard_links_is_left_alone_as_a_file_is() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_tar_gz(dir.path(), "image.tar.gz");
    let other = dir.path().join("other-name.tar.gz");
    std::fs::hard_link(&archive, &other).unwrap();
    let before = std::fs::read(&archive).unwrap();
    let out = run(&[OsStr::new("fix"), archive.as_os_str()]);
    out.sane("fix a hard-linked archive", &[2]);
    assert!(out.stderr.contains("2 hard links"), "{}", out.stderr);
    let out = run(&[
        OsStr::new("fix"),
        OsStr::new("-o"),
        other.as_os_str(),
        demo_tar_gz(dir.path(), "input.tar.gz").as_os_str(),
    ]);
    out.sane("fix -o onto a hard-linked file", &[2]);
    assert!(
        out.stderr
            .contains(&format!("cannot write {}", other.display())),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(&archive).unwrap(), before);
    assert_eq!(std::fs::metadata(&archive).unwrap().nlink(), 2);
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn fix_o_into_a_missing_directory_names_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let archive = demo_tar_gz(dir.path(), "image.tar.gz");
    let missing = dir.path().join("out/dir/missing");
    let out = run(&[
        OsStr::new("fix"),
        OsStr::new("-o"),
        missing.join("x.tar.gz").as_os_str(),
        archive.as_os_str(),
    ]);
    out.sane("-o into a missing directory", &[2]);
    assert!(
        out.stderr.contains(&format!(
            "the directory {} does not exist",
            missing.display()
        )),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("etc/"),
        "an entry is blamed: {}",
        out.stderr
    );
}

#[test]
fn an_archive_or_a_file_named_through_a_symlink_is_fixed_at_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let real = demo_tar_gz(dir.path(), "real.tar.gz");
    let link = dir.path().join("link.tar.gz");
    std::os::unix::fs::symlink("real.tar.gz", &link).unwrap();
    let config = common::scratch("testdata/fix/repo-v1beta3-create", dir.path());
    let file = config.join("cluster.yaml");
    let file_link = dir.path().join("cluster-link.yaml");
    std::os::unix::fs::symlink(&file, &file_link).unwrap();
    for (what, link, real, target) in [
        ("an archive", &link, &real, "real.tar.gz"),
        (
            "a configuration file",
            &file_link,
            &file,
            file.to_str().unwrap(),
        ),
    ] {
        let before = std::fs::read(real).unwrap();
        let out = run(&[OsStr::new("fix"), link.as_os_str()]);
        out.sane(&format!("fix {what} through a symlink"), &[0, 1]);
        assert!(
            std::fs::symlink_metadata(link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{what}: the link was replaced"
        );
        assert_eq!(std::fs::read_link(link).unwrap(), Path::new(target));
        assert_ne!(
            std::fs::read(real).unwrap(),
            before,
            "{what}: the target was not fixed: {}{}",
            out.stdout,
            out.stderr
        );
        let again = run(&[OsStr::new("scan"), link.as_os_str()]);
        again.sane(&format!("scan {what} after the fix"), &[0, 1]);
    }
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn zero_padding_after_the_gzip_stream_is_kept_byte_for_byte_by_fix() {
    let dir = tempfile::tempdir().unwrap();
    let clean = demo_tar_gz(dir.path(), "clean.tar.gz");
    let gz = std::fs::read(&clean).unwrap();
    let padded = dir.path().join("padded.tar.gz");
    let mut bytes = gz.clone();
    bytes.extend_from_slice(&[0; 4096]);
    std::fs::write(&padded, &bytes).unwrap();
    let scan = run(&[OsStr::new("scan"), padded.as_os_str()]);
    scan.sane("scan the padded archive", &[1]);
    let fixed = run(&[OsStr::new("fix"), padded.as_os_str()]);
    fixed.sane("fix the padded archive", &[FIXED_WITH_ONE_LEFT]);
    let after = std::fs::read(&padded).unwrap();
    assert_ne!(after, bytes, "not fixed");
    assert_eq!(&after[after.len() - 4096..], &[0; 4096][..], "the padding");
    // The padding follows the new member's trailer: the member decodes to
    // exactly the bytes before it.
    let mut d = flate2::bufread::GzDecoder::new(&after[..]);
    std::io::copy(&mut d, &mut std::io::sink()).unwrap();
    assert_eq!(d.into_inner().len(), 4096);
    // Anything but zeros after the stream is still refused.
    let mut garbage = gz;
    garbage.extend_from_slice(b"\0\0\0garbage");
    let bad = dir.path().join("garbage.tar.gz");
    std::fs::write(&bad, &garbage).unwrap();
    let out = run(&[OsStr::new("fix"), bad.as_os_str()]);
    out.sane("fix with trailing garbage", &[2]);
    assert!(out.stderr.contains("trailing data"), "{}", out.stderr);
    assert_eq!(std::fs::read(&bad).unwrap(), garbage);
}

/// Runs the binary and gives its exit status, its standard error and its
/// peak resident memory in KiB.
fn run_measured<S: AsRef<OsStr>>(args: &[S]) -> (i32, String, u64) {
    let m = support::measure(args, Path::new("."), &[("COLUMNS", "10000")]);
    (m.status.unwrap_or(-1), m.stderr, m.peak_rss / 1024)
}

/// A tar header block.
fn header(name: &[u8], kind: tar::EntryType, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    h.as_bytes().to_vec()
}

/// `data` padded to whole blocks.
fn padded(data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    d.resize(data.len().div_ceil(512) * 512, 0);
    d
}

/// A PAX record (`LEN key=value\n`).
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3;
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut r = format!("{len} {key}=").into_bytes();
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

/// A PAX extension header holding `records`.
fn pax(records: &[u8]) -> Vec<u8> {
    let mut out = header(
        b"PaxHeaders/x",
        tar::EntryType::XHeader,
        records.len() as u64,
    );
    out.extend(padded(records));
    out
}

/// A regular file entry named `path` by a PAX record.
fn pax_file(path: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = pax(&pax_record("path", path));
    out.extend(header(b"f", tar::EntryType::Regular, data.len() as u64));
    out.extend(padded(data));
    out
}

/// The end of an archive.
fn end(mut tar: Vec<u8>) -> Vec<u8> {
    tar.extend_from_slice(&[0; 1024]);
    tar
}

/// Compresses with the `gzip` command, streaming (`make` writes the tar);
/// the test's own deflate is slow in a debug build.
fn gzip_command(out: &Path, make: impl FnOnce(&mut dyn Write)) {
    let mut child = Command::new("gzip")
        .args(["-1", "-c"])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(out).unwrap())
        .spawn()
        .unwrap();
    {
        let mut stdin = std::io::BufWriter::new(child.stdin.take().unwrap());
        make(&mut stdin);
        stdin.flush().unwrap();
    }
    assert!(child.wait().unwrap().success());
}

/// Asserts that scanning and fixing `archive` is an input error naming the
/// archive, entry `entry` and `problem`, that the archive is left as it
/// was, and that no run's peak memory reached the limit.
fn refused_within_memory(archive: &Path, entry: &str, problem: &str) {
    let bytes_before = std::fs::metadata(archive).unwrap().len();
    for cmd in ["scan", "fix"] {
        let what = format!("{cmd} {}", archive.display());
        let (status, stderr, peak) = run_measured(&[OsStr::new(cmd), archive.as_os_str()]);
        assert_eq!(status, 2, "{what}: {stderr}");
        assert!(
            stderr.contains(&format!("cannot read {}", archive.display())),
            "{what}: {stderr}"
        );
        assert!(stderr.contains(entry), "{what}: no {entry:?}: {stderr}");
        assert!(stderr.contains(problem), "{what}: no {problem:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        assert!(
            peak < PEAK_LIMIT_KIB,
            "{what}: peak memory {} MiB",
            peak / 1024
        );
    }
    assert_eq!(std::fs::metadata(archive).unwrap().len(), bytes_before);
}

#[test]
fn a_path_over_4096_bytes_is_refused_naming_the_entry_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    // One PAX path of 32,000 `a/` components: a 67 KB tar.
    let deep = b"a/".repeat(32_000);
    let plain = dir.path().join("deep.tar");
    std::fs::write(&plain, end(pax_file(&deep, b"x"))).unwrap();
    refused_within_memory(
        &plain,
        "entry 1 at byte 0 (\"a/a/a/",
        "its path is 64000 bytes long, over the limit of 4096",
    );
    // 400 of them, each below a directory of its own, in a .tar.gz.
    let gz = dir.path().join("deep.tar.gz");
    gzip_command(&gz, |w| {
        for i in 0..400 {
            let mut path = format!("d{i}/").into_bytes();
            path.extend_from_slice(&deep);
            w.write_all(&pax_file(&path, b"x")).unwrap();
        }
        w.write_all(&[0; 1024]).unwrap();
    });
    refused_within_memory(&gz, "entry 1 at byte 0", "over the limit of 4096");
}

#[test]
fn a_path_of_more_than_256_components_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = Vec::new();
    tar.extend(header(b"usr/bin/kubelet", tar::EntryType::Regular, 0));
    tar.extend(pax_file(&b"a/".repeat(300), b"x"));
    let plain = dir.path().join("deep.tar");
    std::fs::write(&plain, end(tar)).unwrap();
    refused_within_memory(
        &plain,
        "entry 2 at byte 512",
        "its path has 300 components, over the limit of 256",
    );
    // A component longer than a file name can be.
    let mut tar = header(b"usr/bin/kubelet", tar::EntryType::Regular, 0);
    let mut long = b"etc/".to_vec();
    long.extend(vec![b'n'; 300]);
    tar.extend(pax_file(&long, b"x"));
    let plain = dir.path().join("long-name.tar");
    std::fs::write(&plain, end(tar)).unwrap();
    refused_within_memory(
        &plain,
        "entry 2 at byte 512 (\"etc/nnn",
        "its path has a component of 300 bytes, over the limit of 255",
    );
    // A link target is a path too.
    let mut tar = header(b"usr/bin/kubelet", tar::EntryType::Regular, 0);
    let mut records = pax_record("linkpath", &b"b".repeat(5000));
    records.extend(pax_record("path", b"etc/link"));
    tar.extend(pax(&records));
    tar.extend(header(b"l", tar::EntryType::Symlink, 0));
    let link = dir.path().join("link.tar");
    std::fs::write(&link, end(tar)).unwrap();
    refused_within_memory(
        &link,
        "entry 2 at byte 512 (\"etc/link\")",
        "its link target is 5000 bytes long, over the limit of 4096",
    );
}

#[test]
fn extension_headers_over_1_mib_for_one_entry_are_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    // 400 PAX headers of 1 MiB each before one entry: a 1.8 MB .tar.gz.
    let comment = pax_record("comment", &vec![b'c'; (1 << 20) - 20]);
    let block = pax(&comment);
    let gz = dir.path().join("headers.tar.gz");
    gzip_command(&gz, |w| {
        w.write_all(&header(b"usr/bin/kubelet", tar::EntryType::Regular, 0))
            .unwrap();
        for _ in 0..400 {
            w.write_all(&block).unwrap();
        }
        w.write_all(&header(b"etc/x", tar::EntryType::Regular, 0))
            .unwrap();
        w.write_all(&[0; 1024]).unwrap();
    });
    refused_within_memory(
        &gz,
        "entry 2 at byte 512",
        "its headers take more than 1 MiB in all",
    );
    // GNU long names chained the same way.
    let mut long = header(b"././@LongLink", tar::EntryType::GNULongName, 600_000);
    long.extend(padded(&vec![b'n'; 600_000]));
    let mut tar = header(b"usr/bin/kubelet", tar::EntryType::Regular, 0);
    tar.extend(&long);
    tar.extend(&long);
    tar.extend(header(b"etc/x", tar::EntryType::Regular, 0));
    let plain = dir.path().join("longnames.tar");
    std::fs::write(&plain, end(tar)).unwrap();
    refused_within_memory(
        &plain,
        "entry 2 at byte 512",
        "its headers take more than 1 MiB in all",
    );
}

#[test]
fn deep_paths_within_the_limits_cost_memory_in_proportion_to_their_length() {
    // 800 entries, each below a directory of its own, 250 components and
    // about 4,000 bytes deep: every entry implies 249 new directories. Kept
    // with its full path, each of those would cost about 2 KB.
    let dir = tempfile::tempdir().unwrap();
    let mut tar = header(b"usr/bin/kubelet", tar::EntryType::Regular, 0);
    let below = b"component-name/".repeat(249);
    for i in 0..800 {
        let mut path = format!("d{i:03}/").into_bytes();
        path.extend_from_slice(&below);
        path.extend_from_slice(b"f");
        assert!(path.len() <= 4096);
        tar.extend(pax_file(&path, b""));
    }
    let plain = dir.path().join("deep.tar");
    std::fs::write(&plain, end(tar)).unwrap();
    let (status, stderr, peak) = run_measured(&[OsStr::new("scan"), plain.as_os_str()]);
    assert!(
        !stderr.contains("cannot read") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!([0, 1, 2].contains(&status), "{status}: {stderr}");
    assert!(
        peak < PEAK_LIMIT_KIB,
        "peak memory {} MiB for a {} MB archive",
        peak / 1024,
        std::fs::metadata(&plain).unwrap().len() / 1_000_000
    );
}

#[test]
fn an_archive_naming_more_than_a_million_paths_is_refused_in_bounded_memory() {
    // 4,200 entries, each below a directory of its own and 251 components
    // deep: in a 6 MB tar, 1.05 million paths with the directories implied.
    let dir = tempfile::tempdir().unwrap();
    let mut tar = header(b"usr/bin/kubelet", tar::EntryType::Regular, 0);
    let below = b"a/".repeat(250);
    for i in 0..4200 {
        let mut path = format!("d{i}/").into_bytes();
        path.extend_from_slice(&below);
        path.push(b'f');
        tar.extend(pax_file(&path, b""));
    }
    let plain = dir.path().join("many.tar");
    std::fs::write(&plain, end(tar)).unwrap();
    refused_within_memory(
        &plain,
        // The kubelet, then entries of 252 paths each (`/d{i}` with its
        // 250 directories and its file), after the root, /usr and /usr/bin.
        "entry 4163 at byte 8522240 (\"/d4161/a/a/",
        "the archive names more than 1048576 paths",
    );
}
