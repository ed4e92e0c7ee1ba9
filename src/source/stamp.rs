//! Build stamps: the version a binary was built as, read from its bytes.
//!
//! k3s and RKE2 set their version with the Go linker's `-X`
//! (`-X github.com/k3s-io/k3s/pkg/version.Version=v1.30.4+k3s1`, k3s's
//! `scripts/build` and `scripts/package-cli`; RKE2 the same variable), so the
//! string `v1.30.4+k3s1` (`v1.30.4+rke2r1`) is in the binary's data, which
//! is what `k3s --version` prints. Go strings are not terminated, so what
//! follows the `+k3s` may be the next string's bytes: only the Kubernetes
//! version before it is taken.

use std::collections::BTreeSet;
use std::io;

/// Binaries whose stamps an archive walk reads as it passes them (the
/// install scripts' `BIN_DIR`s, `/opt/bin` and `/opt/rke2/bin` where
/// `/usr/local` is read-only, and the RPMs' `/usr/bin`).
pub(crate) const STAMPED: &[&str] = &[
    "/usr/local/bin/k3s",
    "/usr/bin/k3s",
    "/opt/bin/k3s",
    "/usr/local/bin/rke2",
    "/usr/bin/rke2",
    "/opt/rke2/bin/rke2",
];

/// What follows the Kubernetes version in a stamp.
const MARKERS: &[&[u8]] = &[b"+k3s", b"+rke2r"];

/// Distinct stamps kept at most (a real binary has one).
const MAX_STAMPS: usize = 16;

/// The longest stamp before its marker (`v1.300.100`), kept across chunks.
const TAIL: usize = 24;

/// Finds stamps in bytes fed to it in chunks of any size.
#[derive(Default)]
pub(crate) struct Scanner {
    tail: Vec<u8>,
    found: BTreeSet<String>,
}

impl Scanner {
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        let mut buf = std::mem::take(&mut self.tail);
        buf.extend_from_slice(chunk);
        for (i, _) in buf.iter().enumerate().filter(|(_, b)| **b == b'+') {
            if self.found.len() >= MAX_STAMPS {
                break;
            }
            if let Some(m) = MARKERS.iter().find(|m| buf[i..].starts_with(m))
                && let Some(version) = version_before(&buf[..i])
            {
                let marker = String::from_utf8_lossy(m);
                self.found.insert(format!("v{version}{marker}"));
            }
        }
        // A stamp cut by the chunk's end is whole in the next round; one
        // seen twice is kept once.
        let keep = buf.len().saturating_sub(TAIL);
        self.tail = buf.split_off(keep);
    }

    /// The distinct stamps, sorted.
    pub(crate) fn finish(self) -> Vec<String> {
        self.found.into_iter().collect()
    }
}

impl io::Write for Scanner {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.feed(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `1.30.4` when `bytes` ends with `v1.30.4`.
fn version_before(bytes: &[u8]) -> Option<String> {
    let start = bytes
        .iter()
        .rposition(|b| !(b.is_ascii_digit() || *b == b'.'))?;
    if bytes[start] != b'v' {
        return None;
    }
    let version = std::str::from_utf8(&bytes[start + 1..]).ok()?;
    let parts: Vec<&str> = version.split('.').collect();
    let well_formed = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()));
    well_formed.then(|| version.to_owned())
}

/// The stamps of a whole file's bytes.
pub(crate) fn of(bytes: &[u8]) -> Vec<String> {
    let mut s = Scanner::default();
    s.feed(bytes);
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_before_the_marker_whatever_follows() {
        let bin = b"\x7fELF\0\0gitCommit=abcdefv1.30.4+k3s12ab\0runtime.v2v1.30.4+k3s1";
        assert_eq!(of(bin), ["v1.30.4+k3s"]);
        assert_eq!(of(b"xv1.31.0+rke2r1"), ["v1.31.0+rke2r"]);
        // Not a version: no `v`, too few parts, a marker alone.
        assert!(of(b"1.30.4+k3s1 v1.30+k3s1 +k3s v.1.2+k3s x1.2.3+k3s").is_empty());
    }

    #[test]
    fn a_stamp_cut_between_chunks_is_found_once() {
        let text = b"....v1.29.7+k3s1....v1.29.7+k3s1....";
        for cut in 0..text.len() {
            let mut s = Scanner::default();
            s.feed(&text[..cut]);
            s.feed(&text[cut..]);
            assert_eq!(s.finish(), ["v1.29.7+k3s"], "cut at {cut}");
        }
    }

    #[test]
    fn distinct_stamps_are_bounded() {
        let many: Vec<u8> = (0..100)
            .flat_map(|i| format!(" v1.{i}.0+k3s1").into_bytes())
            .collect();
        assert_eq!(of(&many).len(), MAX_STAMPS);
    }
}
