//! Rootfs tarballs: every tar format and compression scans like the
//! unpacked tree, and `fix` patches exactly the expected entries while every
//! other entry stays byte-identical.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{finding_lines, run};

/// A fixture image plus the awkward entries real images have: a long
/// name, a hard link, absolute and relative symlinks, an xattr, a FIFO and
/// (as root) a device node.
fn rich_tree(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    let ok = Command::new("cp")
        .args([
            "-a",
            "testdata/fix/kubelet-1.10-dropin",
            root.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(ok.success());
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
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
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
    assert_eq!(want.len(), 3, "{want:?}");
    let patched = ["./etc/systemd/system/kubelet.service.d/10-kubeadm.conf"];
    for format in ["gnu", "posix", "ustar"] {
        let plain = dir.path().join(format!("{format}.tar"));
        if format == "ustar" {
            // ustar cannot hold the long name; drop it for this format.
            let short = dir.path().join("short");
            let _ = std::fs::remove_dir_all(&short);
            Command::new("cp")
                .args(["-a", root.to_str().unwrap(), short.to_str().unwrap()])
                .status()
                .unwrap();
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
            assert_eq!(o.status, 0, "{label}: {}", o.stdout);
            assert_eq!(
                std::fs::read(&archive).unwrap(),
                input_bytes,
                "{label}: -o changed the input"
            );
            let fixed = run(&["fix", archive.to_str().unwrap()]);
            assert_eq!(fixed.status, 0, "{label}: {}", fixed.stdout);
            assert_eq!(
                decompress(&copy),
                decompress(&archive),
                "{label}: -o and in place differ"
            );
            assert!(
                finding_lines(
                    &run(&["scan", "--format", "json", archive.to_str().unwrap()]).stdout
                )
                .is_empty(),
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
    assert_eq!(run(&["fix", archive.to_str().unwrap()]).status, 0);
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

#[test]
fn a_wrong_zstd_checksum_stops_the_fix_and_its_findings_remain() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("image.tar");
    tar(Path::new("testdata/demo"), &plain, "gnu");
    let mut e = zstd::Encoder::new(Vec::new(), 3).unwrap();
    e.include_checksum(true).unwrap();
    e.write_all(&std::fs::read(&plain).unwrap()).unwrap();
    let mut bytes = e.finish().unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40; // the frame's checksum
    let path = dir.path().join("image.tar.zst");
    std::fs::write(&path, &bytes).unwrap();

    let out = run(&["fix", path.to_str().unwrap()]);
    assert_eq!(out.status, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "not written: zstd: the content does not match the frame's checksum; {} is unchanged",
            path.display()
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("promready: fixed 0 findings in 0 files; 4 findings remain"),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the archive was modified"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.contains(".promready-")),
        "{names:?}"
    );
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
