//! Rootfs tarballs: every tar format and compression scans like the
//! unpacked tree, and `fix` patches exactly the expected entries while every
//! other entry stays byte-identical.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;
mod support;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{finding_lines, run};

/// The exit status of `fix` on the demo's kubelet: 1, because removing
/// `--cadvisor-port=0` (PR002) from a 1.10 kubelet would open cAdvisor's
/// port 4194, so the post-fix check holds that fix back (tests/fix.rs
/// covers why); the other fixes are written.
const FIXED_WITH_PR002_LEFT: u8 = 1;

/// A fixture image plus the awkward entries real images have: a long
/// name, a hard link, absolute and relative symlinks, an xattr, a FIFO and
/// (as root) a device node.
fn rich_tree(dir: &Path) -> PathBuf {
    let root = common::scratch_as("testdata/fix/kubelet-1.10-dropin", &dir.join("rootfs"));
    let deep = root.join(
        "usr/share/doc/a-rather-long-directory-name-for-tar-headers/and-another-level-below-it",
    );
    std::fs::create_dir_all(&deep).unwrap();
    let long = deep.join("with-a-file-name-that-takes-the-path-past-one-hundred-bytes.txt");
    std::fs::write(&long, "long name\n").unwrap();
    std::fs::hard_link(&long, root.join("usr/share/doc/hardlink.txt")).unwrap();
    std::os::unix::fs::symlink("/usr/share/doc/hardlink.txt", root.join("etc/abs-link")).unwrap();
    std::os::unix::fs::symlink("../usr/share/doc/hardlink.txt", root.join("etc/rel-link")).unwrap();
    let _ = rustix::fs::setxattr(
        root.join("etc/hostname-x"),
        "user.k8s",
        b"1",
        rustix::fs::XattrFlags::empty(),
    );
    std::fs::write(root.join("etc/hostname-x"), "node\n").unwrap();
    let _ = rustix::fs::setxattr(
        root.join("etc/hostname-x"),
        "user.k8s",
        b"1",
        rustix::fs::XattrFlags::empty(),
    );
    let _ = Command::new("mkfifo").arg(root.join("run-fifo")).status();
    let _ = Command::new("mknod")
        .args([root.join("dev-null-copy").to_str().unwrap(), "c", "1", "3"])
        .status();
    root
}

fn tar(root: &Path, out: &Path, format: &str) {
    let ok = Command::new("tar")
        .args([
            "--format",
            format,
            "--xattrs",
            "--xattrs-include=*",
            "-C",
            root.to_str().unwrap(),
            "-cf",
            out.to_str().unwrap(),
            ".",
        ])
        .status()
        .unwrap();
    assert!(ok.success(), "tar --format={format}");
}

fn compress(plain: &Path, how: &str) -> PathBuf {
    let data = std::fs::read(plain).unwrap();
    let out = PathBuf::from(format!("{}.{how}", plain.display()));
    let bytes = match how {
        "gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&data).unwrap();
            e.finish().unwrap()
        }
        "zst" => zstd::encode_all(&data[..], 3).unwrap(),
        _ => data,
    };
    std::fs::write(&out, bytes).unwrap();
    out
}

fn decompress(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        // Every member, up to the zero padding if any.
        let mut out = Vec::new();
        let mut rest = &bytes[..];
        while rest.iter().any(|&b| b != 0) {
            let mut d = flate2::bufread::GzDecoder::new(rest);
            d.read_to_end(&mut out).unwrap();
            rest = d.into_inner();
        }
        out
    } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        zstd::decode_all(&bytes[..]).unwrap()
    } else {
        bytes
    }
}

/// `tar -tvv` of an archive (GNU tar reads all three compressions here
/// because we hand it the plain stream).
fn listing(archive: &Path, dir: &Path) -> Vec<String> {
    let plain = dir.join("listing.tar");
    std::fs::write(&plain, decompress(archive)).unwrap();
    let out = Command::new("tar")
        .args(["--xattrs", "--full-time", "-tvvf", plain.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The content of every regular entry, by name.
fn contents(archive: &Path) -> Vec<(String, Vec<u8>)> {
    let plain = decompress(archive);
    let mut a = tar::Archive::new(&plain[..]);
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((name, data));
    }
    out
}

#[test]
fn every_format_and_compression_scans_and_fixes_like_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = rich_tree(dir.path());
    let want = finding_lines(&run(&["scan", "--format", "json", root.to_str().unwrap()]).stdout);
    assert_eq!(want.len(), 4, "{want:?}");
    let patched = ["./etc/systemd/system/kubelet.service.d/10-kubeadm.conf"];
    for format in ["gnu", "posix", "ustar"] {
        let plain = dir.path().join(format!("{format}.tar"));
        if format == "ustar" {
            // ustar cannot hold the long name; drop it for this format.
            let short = dir.path().join("short");
            let _ = std::fs::remove_dir_all(&short);
            common::scratch_as(&root, &short);
            std::fs::remove_dir_all(short.join("usr/share/doc")).unwrap();
            std::fs::remove_file(short.join("etc/abs-link")).unwrap();
            std::fs::remove_file(short.join("etc/rel-link")).unwrap();
            tar(&short, &plain, format);
        } else {
            tar(&root, &plain, format);
        }
        for how in ["tar", "gz", "zst"] {
            let archive = compress(&plain, how);
            let label = format!("{format}.{how}");
            let got = finding_lines(
                &run(&["scan", "--format", "json", archive.to_str().unwrap()]).stdout,
            );
            assert_eq!(got, want, "{label}: scan differs from the unpacked tree");

            let before_list = listing(&archive, dir.path());
            let before = contents(&archive);
            // -o leaves the input untouched and writes the same result.
            let copy = dir.path().join(format!("out-{label}"));
            let input_bytes = std::fs::read(&archive).unwrap();
            let o = run(&[
                "fix",
                "-o",
                copy.to_str().unwrap(),
                archive.to_str().unwrap(),
            ]);
            assert_eq!(o.status, FIXED_WITH_PR002_LEFT, "{label}: {}", o.stdout);
            assert_eq!(
                std::fs::read(&archive).unwrap(),
                input_bytes,
                "{label}: -o changed the input"
            );
            let fixed = run(&["fix", archive.to_str().unwrap()]);
            assert_eq!(
                fixed.status, FIXED_WITH_PR002_LEFT,
                "{label}: {}",
                fixed.stdout
            );
            assert_eq!(
                decompress(&copy),
                decompress(&archive),
                "{label}: -o and in place differ"
            );
            assert_eq!(
                finding_lines(
                    &run(&["scan", "--format", "json", archive.to_str().unwrap()]).stdout
                ),
                [
                    "PR002 etc/systemd/system/kubelet.service.d/10-kubeadm.conf:7",
                    // A note without an automatic fix: left by `fix`.
                    "PR021 etc/systemd/system/kubelet.service.d/10-kubeadm.conf:10"
                ],
                "{label}"
            );

            // Only the patched entry's size changes in the listing…
            let after_list = listing(&archive, dir.path());
            assert_eq!(before_list.len(), after_list.len());
            for (b, a) in before_list.iter().zip(&after_list) {
                if b != a {
                    assert!(
                        patched.iter().any(|p| b.ends_with(p)),
                        "{label}: unexpected change\n{b}\n{a}"
                    );
                }
            }
            // …and every other entry's content is byte-identical.
            for ((bn, bd), (an, ad)) in before.iter().zip(&contents(&archive)) {
                assert_eq!(bn, an);
                if !patched
                    .iter()
                    .any(|p| p.trim_start_matches("./") == bn.trim_start_matches("./"))
                {
                    assert_eq!(bd, ad, "{label}: {bn} changed");
                }
            }
            // Fixing twice is fixing once.
            let once = std::fs::read(&archive).unwrap();
            let again = run(&["fix", archive.to_str().unwrap()]);
            assert!(
                again.stdout.contains("fixed 0 findings"),
                "{label}: {}",
                again.stdout
            );
            assert_eq!(
                std::fs::read(&archive).unwrap(),
                once,
                "{label}: second fix rewrote the archive"
            );
        }
    }
}

#[test]
fn plain_tar_rewrites_touch_only_the_patched_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let root = rich_tree(dir.path());
    let archive = dir.path().join("r.tar");
    tar(&root, &archive, "gnu");
    let before = std::fs::read(&archive).unwrap();
    assert_eq!(
        run(&["fix", archive.to_str().unwrap()]).status,
        FIXED_WITH_PR002_LEFT
    );
    let after = std::fs::read(&archive).unwrap();
    assert_eq!(
        before.len(),
        after.len(),
        "same blocks (the edit fits the padding)"
    );
    let changed: Vec<usize> = (0..before.len() / 512)
        .filter(|i| before[i * 512..(i + 1) * 512] != after[i * 512..(i + 1) * 512])
        .collect();
    assert!(
        changed.len() <= 3,
        "only the header and data of one entry: {changed:?}"
    );
}

#[test]
fn entries_named_outside_the_root_stay_inside() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("evil.tar");
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &[u8], data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, data).unwrap();
    };
    add(b"./etc/os-release", b"ID=debian\n");
    add(b"usr/bin/kubelet", b"#!/bin/sh\n");
    add(
        b"../../lib/systemd/system/kubelet.service",
        b"[Service]\nExecStart=/usr/bin/kubelet --address=127.0.0.1\n",
    );
    add(
        b"/etc/default/kubelet",
        b"KUBELET_EXTRA_ARGS=--read-only-port=0\n",
    );
    // A later entry replaces an earlier one, as when unpacking.
    add(b"etc/default/kubelet", b"KUBELET_EXTRA_ARGS=\n");
    std::fs::write(&archive, b.into_inner().unwrap()).unwrap();
    let out = run(&["scan", "--format", "json", archive.to_str().unwrap()]);
    let lines = finding_lines(&out.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l == "PR007 lib/systemd/system/kubelet.service:2"),
        "{lines:?}"
    );
}

#[test]
fn truncated_and_corrupt_archives_are_clear_errors_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let root = rich_tree(dir.path());
    let plain = dir.path().join("good.tar");
    tar(&root, &plain, "gnu");
    let good = std::fs::read(&plain).unwrap();
    let gz = compress(&plain, "gz");
    let gz_bytes = std::fs::read(&gz).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated.tar", good[..good.len() / 2 + 100].to_vec()),
        ("cut-in-data.tar", good[..9000].to_vec()),
        ("truncated.tar.gz", gz_bytes[..gz_bytes.len() / 2].to_vec()),
        ("badsum.tar", {
            let mut b = good.clone();
            b[600] ^= 0xff; // inside the second header block
            b[148] ^= 0x01; // the first header's checksum
            b
        }),
        ("garbage.tar.gz", {
            let mut b = vec![0x1f, 0x8b, 8, 0];
            b.extend(std::iter::repeat_n(0xAB, 4096));
            b
        }),
    ];
    for (name, bytes) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        for cmd in ["scan", "fix"] {
            let out = run(&[cmd, path.to_str().unwrap()]);
            assert_eq!(out.status, 2, "{name} {cmd}: {}{}", out.stdout, out.stderr);
            assert!(
                out.stderr
                    .contains(&format!("cannot read {}", path.display())),
                "{name}: {}",
                out.stderr
            );
            assert!(
                out.stderr.contains("nothing was changed"),
                "{name}: {}",
                out.stderr
            );
            assert!(!out.stderr.contains("panicked"));
        }
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} was modified");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".promready-"))
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }
}

/// The demo image as a plain tar, and that tar gzipped and zstd-compressed
/// (with a content checksum).
fn demo_archives(dir: &Path) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let plain = dir.join("demo.tar");
    tar(Path::new("testdata/demo"), &plain, "gnu");
    let plain = std::fs::read(&plain).unwrap();
    (plain.clone(), gzip(&plain), zstd_checked(&plain))
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd_checked(data: &[u8]) -> Vec<u8> {
    let mut e = zstd::Encoder::new(Vec::new(), 3).unwrap();
    e.include_checksum(true).unwrap();
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// `bytes` with `f` applied.
fn with(bytes: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut b = bytes.to_vec();
    f(&mut b);
    b
}

/// The commands that read an archive: every one must verify it to the end.
const READING: [&[&str]; 4] = [
    &["scan"],
    &["scan", "--format", "json"],
    &["fix", "--diff"],
    &["fix"],
];

#[test]
fn compressed_archives_are_verified_to_the_end_of_the_stream_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let (_, gz, zst) = demo_archives(dir.path());
    let n = gz.len();
    // The gzip trailer is the CRC32 (4 bytes) then the length mod 2^32.
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("crc.tar.gz", with(&gz, |b| b[n - 8] ^= 0x01), "CRC32"),
        ("isize.tar.gz", with(&gz, |b| b[n - 1] ^= 0x01), "length"),
        ("no-trailer.tar.gz", gz[..n - 8].to_vec(), "trailer"),
        ("half-trailer.tar.gz", gz[..n - 3].to_vec(), "trailer"),
        (
            "garbage.tar.gz",
            with(&gz, |b| b.extend_from_slice(b"garbage")),
            "trailing data",
        ),
        (
            "zeros-then-garbage.tar.gz",
            with(&gz, |b| b.extend_from_slice(b"\0\0\0\0\0\0\0\0\0\0x")),
            "trailing data",
        ),
        (
            "second-member-crc.tar.gz",
            [gz.clone(), with(&gz, |b| b[n - 8] ^= 0x01)].concat(),
            "CRC32",
        ),
        (
            "checksum.tar.zst",
            with(&zst, |b| *b.last_mut().unwrap() ^= 0x40),
            "checksum",
        ),
        (
            "no-checksum.tar.zst",
            zst[..zst.len() - 4].to_vec(),
            "ends inside a frame",
        ),
        (
            "garbage.tar.zst",
            with(&zst, |b| b.extend_from_slice(b"garbage")),
            "trailing data",
        ),
        (
            // As `zstd -t`: zstd accepts nothing after its frames.
            "zero-padded.tar.zst",
            with(&zst, |b| b.extend_from_slice(&[0; 512])),
            "trailing data",
        ),
    ];
    for (name, bytes, problem) in &cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        for cmd in READING {
            let what = format!("{} {name}", cmd.join(" "));
            let mut args: Vec<&OsStr> = cmd.iter().map(OsStr::new).collect();
            args.push(path.as_os_str());
            let out = support::run_bin(&args, &[]);
            out.sane(&what, &[2]);
            assert!(
                out.stderr
                    .contains(&format!("cannot read {}: ", path.display())),
                "{what}: {}",
                out.stderr
            );
            assert!(out.stderr.contains(problem), "{what}: {}", out.stderr);
            assert!(
                out.stderr.contains("nothing was changed"),
                "{what}: {}",
                out.stderr
            );
            // A JSON report still says what went wrong (its `errors`), but
            // holds no finding from the damaged stream.
            let no_findings = out.stdout.is_empty()
                || serde_json::from_str::<serde_json::Value>(&out.stdout).is_ok_and(|v| {
                    v["findings"].as_array().is_some_and(Vec::is_empty)
                        && v["errors"].as_array().is_some_and(|e| !e.is_empty())
                });
            assert!(
                no_findings,
                "{what}: findings from a damaged stream:\n{}",
                out.stdout
            );
            assert_eq!(
                &std::fs::read(&path).unwrap(),
                bytes,
                "{what}: the archive was modified"
            );
            let left = support::temp_files(dir.path());
            assert!(left.is_empty(), "{what}: temp files left: {left:?}");
        }
    }
}

/// The bytes after the first gzip member of `bytes`.
fn after_first_member(bytes: &[u8]) -> Vec<u8> {
    let mut d = flate2::bufread::GzDecoder::new(bytes);
    std::io::copy(&mut d, &mut std::io::sink()).unwrap();
    d.into_inner().to_vec()
}

#[test]
fn zero_padding_after_the_gzip_stream_is_accepted_and_kept_by_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (_, gz, _) = demo_archives(dir.path());
    let clean = dir.path().join("clean.tar.gz");
    std::fs::write(&clean, &gz).unwrap();
    let want_scan =
        finding_lines(&run(&["scan", "--format", "json", clean.to_str().unwrap()]).stdout);
    assert_eq!(want_scan.len(), 5, "{want_scan:?}");
    let want_diff = run(&["fix", "--diff", clean.to_str().unwrap()]);
    assert!(!want_diff.stdout.is_empty());
    assert_eq!(
        run(&["fix", clean.to_str().unwrap()]).status,
        FIXED_WITH_PR002_LEFT
    );
    let want_fixed = decompress(&clean);

    for pad in [1, 512, 10_000] {
        let padded = with(&gz, |b| b.resize(b.len() + pad, 0));
        let path = dir.path().join(format!("padded-{pad}.tar.gz"));
        std::fs::write(&path, &padded).unwrap();
        let p = path.to_str().unwrap();
        let scan = run(&["scan", "--format", "json", p]);
        assert_eq!(scan.status, 1, "{pad}: {}", scan.stderr);
        assert_eq!(finding_lines(&scan.stdout), want_scan, "{pad}");
        let diff = run(&["fix", "--diff", p]);
        assert_eq!(diff.status, want_diff.status, "{pad}: {}", diff.stderr);
        assert_eq!(diff.stdout, want_diff.stdout, "{pad}");
        assert_eq!(std::fs::read(&path).unwrap(), padded, "{pad}: --diff wrote");

        let fixed = run(&["fix", p]);
        assert_eq!(
            fixed.status, FIXED_WITH_PR002_LEFT,
            "{pad}: {}{}",
            fixed.stdout, fixed.stderr
        );
        assert!(fixed.stderr.is_empty(), "{pad}: {}", fixed.stderr);
        let after = std::fs::read(&path).unwrap();
        assert_eq!(
            after_first_member(&after),
            vec![0; pad],
            "{pad}: the padding"
        );
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&after[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, want_fixed, "{pad}");
        // And the fixed archive reads again, padding and all.
        let again = run(&["fix", p]);
        assert!(
            again.stdout.contains("fixed 0 findings"),
            "{pad}: {}{}",
            again.stdout,
            again.stderr
        );
        assert!(support::temp_files(dir.path()).is_empty());
    }
}

#[test]
fn a_gzip_archive_of_several_members_scans_and_fixes_like_one() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, gz, _) = demo_archives(dir.path());
    let single = dir.path().join("single.tar.gz");
    std::fs::write(&single, &gz).unwrap();
    let want = finding_lines(&run(&["scan", "--format", "json", single.to_str().unwrap()]).stdout);
    assert_eq!(
        run(&["fix", single.to_str().unwrap()]).status,
        FIXED_WITH_PR002_LEFT
    );
    let want_fixed = decompress(&single);
    // Members split inside a header, inside data, and an empty member, as
    // `cat a.gz b.gz` and parallel compressors make them.
    let cut = [700, 5000];
    let members = [
        gzip(&plain[..cut[0]]),
        gzip(&plain[cut[0]..cut[1]]),
        gzip(b""),
        gzip(&plain[cut[1]..]),
    ]
    .concat();
    for pad in [0, 100] {
        let path = dir.path().join(format!("members-{pad}.tar.gz"));
        std::fs::write(&path, with(&members, |b| b.resize(b.len() + pad, 0))).unwrap();
        let p = path.to_str().unwrap();
        let scan = run(&["scan", "--format", "json", p]);
        assert_eq!(scan.status, 1, "{}", scan.stderr);
        assert_eq!(finding_lines(&scan.stdout), want);
        let fixed = run(&["fix", p]);
        assert_eq!(
            fixed.status, FIXED_WITH_PR002_LEFT,
            "{}{}",
            fixed.stdout, fixed.stderr
        );
        assert_eq!(decompress(&path), want_fixed);
        assert_eq!(
            after_first_member(&std::fs::read(&path).unwrap()),
            vec![0; pad]
        );
    }
}

#[test]
fn sarif_for_an_archive_names_the_entry_nested_in_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("image.tar");
    tar(Path::new("testdata/demo"), &plain, "gnu");
    let gz = compress(&plain, "gz");
    let out = run(&["scan", "--format", "sarif", gz.to_str().unwrap()]);
    assert_eq!(out.status, 1, "{}", out.stderr);
    let log: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let run0 = &log["runs"][0];
    let artifacts = run0["artifacts"].as_array().unwrap();
    // The archive: outside the working directory, an absolute URI.
    assert_eq!(
        artifacts[0]["location"],
        serde_json::json!({"uri": format!("file://{}", gz.display())})
    );
    assert_eq!(artifacts[0]["roles"], serde_json::json!(["analysisTarget"]));
    let results = run0["results"].as_array().unwrap();
    assert!(!results.is_empty());
    let demo = run(&["scan", "--format", "json", "testdata/demo"]);
    let demo: serde_json::Value = serde_json::from_str(&demo.stdout).unwrap();
    for (r, unpacked) in results.iter().zip(demo["findings"].as_array().unwrap()) {
        let physical = &r["locations"][0]["physicalLocation"];
        let artifact = &physical["artifactLocation"];
        // The in-image path, and the artifact nested in the archive.
        let path = unpacked["location"]["path"].as_str().unwrap();
        assert_eq!(artifact["uri"], path, "{r}");
        let index = usize::try_from(artifact["index"].as_u64().unwrap()).unwrap();
        assert_eq!(artifacts[index]["location"]["uri"], path);
        assert_eq!(artifacts[index]["parentIndex"], 0);
        // The real region, as for the unpacked tree.
        let region = &physical["region"];
        let at = &unpacked["location"];
        assert_eq!(region["startLine"], at["line"]);
        assert_eq!(region["startColumn"], at["column"]);
        assert_eq!(region["endLine"], at["end_line"]);
        assert_eq!(region["byteOffset"], at["byte_range"][0]);
        // The message starts with ARCHIVE:path:line.
        let message = r["message"]["text"].as_str().unwrap();
        let prefix = format!("{}:{path}:{}: ", gz.display(), at["line"]);
        assert!(message.starts_with(&prefix), "{message}");
        assert!(r.get("fixes").is_none(), "{r}");
    }
}

/// The Kubernetes version of the JSON report of `input`.
fn kubernetes_version(input: &Path) -> serde_json::Value {
    let out = run(&["scan", "--format", "json", input.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    report["targets"][0]["kubernetes_version"]["version"].clone()
}

/// A k3s binary's version is read from its bytes whatever its size (a real
/// one is about 70 MB, over the limit for configuration files) and however
/// the image comes: unpacked, or in a tar, gzip or zstd archive, whether the
/// binary is at an install script's path (read as the walk passes it) or at
/// one only its unit names (read again, in a stream).
#[test]
fn a_k3s_binary_gives_its_version_in_every_form_of_image() {
    let dir = tempfile::tempdir().unwrap();
    let small = common::scratch("testdata/rootfs/k3s-binary-version", dir.path());
    let large = common::scratch_as(&small, &dir.path().join("large"));
    let mut binary = vec![0u8; 6 << 20];
    let stamp = b"k3s version v1.30.4+k3s1 (b4f2a9c1)";
    let at = binary.len() - 4096;
    binary[at..at + stamp.len()].copy_from_slice(stamp);
    std::fs::create_dir_all(large.join("opt/k3s")).unwrap();
    std::fs::remove_file(large.join("usr/local/bin/k3s")).unwrap();
    std::fs::write(large.join("opt/k3s/k3s"), &binary).unwrap();
    let unit = large.join("etc/systemd/system/k3s.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    std::fs::write(
        &unit,
        text.replace("ExecStart=/usr/local/bin/k3s", "ExecStart=/opt/k3s/k3s"),
    )
    .unwrap();
    for root in [&small, &large] {
        assert_eq!(kubernetes_version(root), "1.30.4", "{}", root.display());
        let plain = dir.path().join(format!(
            "{}.tar",
            root.file_name().unwrap().to_str().unwrap()
        ));
        tar(root, &plain, "gnu");
        for how in ["tar", "gz", "zst"] {
            let archive = compress(&plain, how);
            assert_eq!(
                kubernetes_version(&archive),
                "1.30.4",
                "{}",
                archive.display()
            );
        }
    }
    // Without the stamp, the version is unknown, not guessed.
    std::fs::write(large.join("opt/k3s/k3s"), vec![0u8; 1 << 20]).unwrap();
    assert!(kubernetes_version(&large).is_null());
}

/// A serving certificate shipped in an archived image is read from the
/// archive as from the tree, through the link the kubelet follows.
#[test]
fn a_shipped_serving_certificate_is_found_in_an_archive_as_in_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    for case in ["kubelet-pki-in-image", "kubelet-pki-rotated"] {
        let root = PathBuf::from(format!("testdata/rootfs/{case}"));
        let want =
            finding_lines(&run(&["scan", "--format", "json", root.to_str().unwrap()]).stdout);
        assert!(
            want.iter().any(|l| l.starts_with("PR023 ")),
            "{case}: {want:?}"
        );
        let plain = dir.path().join(format!("{case}.tar"));
        tar(&root, &plain, "gnu");
        let archive = compress(&plain, "gz");
        let out = run(&["scan", "--format", "json", archive.to_str().unwrap()]);
        assert_eq!(finding_lines(&out.stdout), want, "{case}");
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let pr023 = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "PR023")
            .unwrap();
        let message = pr023["message"].as_str().unwrap();
        assert!(
            message.contains("ami-build-7f3a") && message.contains("valid until 2027-12-08"),
            "{case}: {message}"
        );
        if case == "kubelet-pki-rotated" {
            assert_eq!(
                pr023["location"]["via"], "var/lib/kubelet/pki/kubelet-server-current.pem",
                "{pr023}"
            );
        }
    }
}
