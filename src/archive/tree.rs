//! An archive seen as an in-image tree ([`Tree`]): entry names normalised
//! (`./`, leading `/`, `..` clamped at the root), later entries replacing
//! earlier ones as when unpacking, whiteouts ignored, hard links as aliases
//! of their target, symlinks left to the shared resolver.

use std::hash::BuildHasher;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use super::ahead::{Ahead, Meet};
use super::part::{Named, Part, PathHasher};
use super::walk::{Entry, Input, Walker};
use super::{Compression, open};
use crate::source::{MAX_FILE_SIZE, Node, Overlay, Tree};

/// Files kept in memory during the scan: configuration lives there.
const CANDIDATE_DIRS: &[&str] = &[
    "/etc/",
    "/run/",
    "/usr/lib/systemd/",
    "/lib/systemd/",
    "/usr/local/lib/systemd/",
    "/var/lib/kubelet/",
    "/var/lib/dpkg/status",
    "/kind/",
    "/opt/",
];
/// Plain archives this large are walked from the start and the middle at once.
const SPLIT_AT_LEAST: u64 = 64 << 20;

/// How many paths a plain archive of `len` bytes is expected to hold, to
/// size the index once instead of growing it: a rootfs averages 8 KiB or
/// more per entry. Capped, so that a guess wrong by far costs little.
fn expected_paths(len: u64) -> usize {
    usize::try_from(len / 8192)
        .unwrap_or(usize::MAX)
        .min(1 << 18)
}

/// Bytes of candidate files kept in memory at most.
const MEMORY_BUDGET: u64 = 32 << 20;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum TNode {
    File {
        size: u64,
        data: Option<Arc<Vec<u8>>>,
        offset: u64,
        ordinal: usize,
    },
    Dir,
    Symlink(String),
    Other,
}

/// The index of an archive, built in one pass and shared across the scans
/// that `fix` makes.
pub(crate) struct TarIndex {
    archive: PathBuf,
    compression: Compression,
    hasher: PathHasher,
    /// The paths of the entries read from the start of the archive.
    first: Part,
    /// The paths of the entries that the walker started in the middle read,
    /// which all come after `first`'s in the archive.
    second: Option<Part>,
}

impl Drop for TarIndex {
    /// Freeing the paths of a large archive one by one takes milliseconds;
    /// it happens on a thread of its own, which a process that is about to
    /// exit does not wait for.
    fn drop(&mut self) {
        if self.first.len() + self.second.as_ref().map_or(0, Part::len) > 4096 {
            let first = std::mem::replace(&mut self.first, Part::new(&self.hasher));
            let second = self.second.take();
            std::thread::spawn(move || drop((first, second)));
        }
    }
}

/// An archive's index seen through an overlay of new file contents.
pub(crate) struct TarTree {
    pub(crate) index: Arc<TarIndex>,
    pub(crate) overlay: Arc<Overlay>,
}

/// Normalises an entry name to an in-image path: `/a/b`, `..` clamped.
pub(crate) fn normalize_name(raw: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len() + 1);
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => out.truncate(out.iter().rposition(|&b| b == b'/').unwrap_or(0)),
            c => {
                out.push(b'/');
                out.extend_from_slice(c);
            }
        }
    }
    if out.is_empty() {
        return None;
    }
    // '/' is never part of a multi-byte sequence, so replacing invalid
    // UTF-8 after the split gives what replacing it before would.
    Some(
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    )
}

impl TarIndex {
    /// Indexes the archive in one pass.
    pub(crate) fn open(archive: &Path, compression: Compression) -> io::Result<Self> {
        Self::build(archive, compression, SPLIT_AT_LEAST, MEMORY_BUDGET)
    }

    /// Indexes the archive, keeping `budget` bytes of candidate files at
    /// most; a plain archive of `split_at_least` bytes or more is walked
    /// from its start and its middle at once.
    fn build(
        archive: &Path,
        compression: Compression,
        split_at_least: u64,
        budget: u64,
    ) -> io::Result<Self> {
        let hasher = PathHasher::default();
        let input = open(archive, compression)?;
        let (ahead, paths) = match &input {
            Input::File(f) => {
                let (file, len) = f.share()?;
                let split = len >= split_at_least;
                let paths = expected_paths(len) / if split { 2 } else { 1 };
                let ahead = split
                    .then(|| Ahead::spawn(file, len, hasher.clone(), budget, paths))
                    .transpose()?;
                (ahead, paths)
            }
            Input::Stream(_) => (None, 0),
        };
        let mut first = Part::with_capacity(&hasher, paths);
        let walker = Walker::new(input);
        // Reading the entries and indexing them overlap: the walk runs on a
        // thread of its own and hands over batches of entries in order.
        let (tx, rx) = std::sync::mpsc::sync_channel(16);
        let walking = {
            let hasher = hasher.clone();
            std::thread::spawn(move || walk(walker, &tx, ahead, &hasher, budget))
        };
        for batch in rx {
            for named in batch {
                first.insert(named, &hasher);
            }
        }
        let second = walking
            .join()
            .map_err(|_| io::Error::other("the archive walk stopped"))??;
        Ok(TarIndex {
            archive: archive.to_path_buf(),
            compression,
            hasher,
            first,
            second,
        })
    }

    /// The node of `path`: that of the last entry naming it, else a
    /// directory if entries name paths below it.
    fn find(&self, path: &str) -> Option<&TNode> {
        let hash = self.hasher.hash_one(path);
        let first = self.first.get(hash, path);
        let second = self.second.as_ref().and_then(|s| s.get(hash, path));
        match (first, second) {
            (_, Some((node, true))) | (Some((node, _)), _) | (None, Some((node, false))) => {
                Some(node)
            }
            (None, None) => None,
        }
    }

    /// The names listed in `dir`, sorted.
    fn names(&self, dir: &str) -> Vec<String> {
        let hash = self.hasher.hash_one(dir);
        let mut names = Vec::new();
        self.first.names(hash, dir, &mut names);
        if let Some(second) = &self.second {
            second.names(hash, dir, &mut names);
        }
        // A name may be in both parts.
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The host-side name of an in-image path (for the overlay and messages).
    pub(crate) fn host(&self, path: &str) -> PathBuf {
        host_name(&self.archive, path)
    }

    /// The ordinal of the entry holding `path`'s bytes.
    pub(crate) fn ordinal(&self, path: &str) -> Option<usize> {
        match self.find(path)? {
            TNode::File { ordinal, .. } => Some(*ordinal),
            _ => None,
        }
    }

    /// Reads a file the index did not keep, by walking to its entry again.
    fn reread(&self, offset: u64, size: u64) -> io::Result<Vec<u8>> {
        let mut input = open(&self.archive, self.compression)?;
        match &mut input {
            Input::File(f) => f.seek_to(offset),
            Input::Stream(r) => {
                r.skip(offset)?;
            }
        }
        let mut out = Vec::new();
        input.take(size).read_to_end(&mut out)?;
        Ok(out)
    }
}

/// Entries handed from the walking thread to the indexing one at a time.
const BATCH: usize = 1024;

/// An entry as the index keeps it; `None` for entries it leaves out
/// (unnamed, whiteouts).
pub(super) type Indexed = Option<Named>;

/// Reads the walker's next entry, counting it in `ordinal`, and indexes it
/// as [`index_entry`] does; `None` at the end of the archive.
pub(super) fn next_indexed(
    walker: &mut Walker,
    ordinal: &mut usize,
    kept: &mut u64,
    budget: u64,
    hasher: &PathHasher,
) -> io::Result<Option<Indexed>> {
    let Some(e) = walker.next()? else {
        return Ok(None);
    };
    *ordinal += 1;
    let item = index_entry(walker, &e, *ordinal, kept, budget, hasher);
    walker.recycle(e);
    item.map(Some)
}

/// Reads or skips the entry's data, keeping a candidate file's bytes while
/// `kept` stays within `budget`, and gives the entry's node.
fn index_entry(
    walker: &mut Walker,
    e: &Entry,
    ordinal: usize,
    kept: &mut u64,
    budget: u64,
    hasher: &PathHasher,
) -> io::Result<Indexed> {
    // PAX global headers and volume labels are not files: unpacking
    // creates nothing for them.
    if matches!(e.kind, b'g' | b'V') {
        walker.skip_data(e)?;
        return Ok(None);
    }
    let Some(path) = normalize_name(&e.path) else {
        walker.skip_data(e)?;
        return Ok(None);
    };
    // A normalised path starts with `/`.
    let slash = path.rfind('/').unwrap_or(0);
    if path[slash + 1..].starts_with(".wh.") {
        walker.skip_data(e)?;
        return Ok(None);
    }
    let mut wanted = false;
    let node = match e.kind {
        b'0' | b'\0' | b'7' | b'S' => {
            wanted = e.size <= MAX_FILE_SIZE && is_candidate(&path) && e.kind != b'S';
            let data = if wanted && *kept + e.size <= budget {
                *kept += e.size;
                Some(Arc::new(walker.read_data(e)?))
            } else {
                walker.skip_data(e)?;
                None
            };
            TNode::File {
                size: e.size,
                data,
                offset: e.data_start,
                ordinal,
            }
        }
        b'5' => {
            walker.skip_data(e)?;
            TNode::Dir
        }
        b'2' => {
            walker.skip_data(e)?;
            TNode::Symlink(
                String::from_utf8_lossy(e.link.as_deref().unwrap_or_default()).into_owned(),
            )
        }
        b'1' => {
            walker.skip_data(e)?;
            // A hard link names another entry from the archive root.
            match e.link.as_deref().and_then(normalize_name) {
                Some(target) => TNode::Symlink(target),
                None => TNode::Other,
            }
        }
        _ => {
            walker.skip_data(e)?;
            TNode::Other
        }
    };
    let mut named = Named::new(path, slash, node, hasher);
    named.wanted = wanted;
    Ok(Some(named))
}

/// Items handed to another thread [`BATCH`] at a time, in order; `send`
/// returns false once nobody is listening any more.
pub(super) struct Batches<T, S: FnMut(Vec<T>) -> bool> {
    send: S,
    batch: Vec<T>,
}

impl<T, S: FnMut(Vec<T>) -> bool> Batches<T, S> {
    pub(super) fn new(send: S) -> Self {
        Self {
            send,
            batch: Vec::with_capacity(BATCH),
        }
    }

    /// False once nobody is listening any more.
    pub(super) fn push(&mut self, item: T) -> bool {
        self.batch.push(item);
        if self.batch.len() < BATCH {
            return true;
        }
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        (self.send)(full)
    }

    /// Hands over the partial batch, if any; false once nobody is listening
    /// any more.
    pub(super) fn flush(&mut self) -> bool {
        let part = std::mem::take(&mut self.batch);
        part.is_empty() || (self.send)(part)
    }
}

/// Walks the archive, keeping candidate files' bytes, and sends its
/// entries in order. With `ahead`, a second walker has started in the
/// second half of a plain archive; when this walk reaches the entry that
/// one started at, it stops and gives the second walker's part of the
/// index.
fn walk(
    mut walker: Walker,
    tx: &SyncSender<Vec<Named>>,
    mut ahead: Option<Ahead>,
    hasher: &PathHasher,
    budget: u64,
) -> io::Result<Option<Part>> {
    let mut out = Batches::new(|batch| tx.send(batch).is_ok());
    let mut kept = 0u64;
    let mut ordinal = 0;
    loop {
        if let Some(a) = ahead.as_mut().filter(|a| walker.pos >= a.from) {
            match a.meet(walker.pos) {
                Meet::Behind => {}
                Meet::Never => ahead = None,
                Meet::At => {
                    // Let the index catch up while the second walker ends.
                    if !out.flush() {
                        return Ok(None);
                    }
                    if let Some(a) = ahead.take()
                        && let Some(second) = a.finish(ordinal, kept)?
                    {
                        return Ok(Some(second));
                    }
                    // It stopped at an entry it could not read: walk on
                    // alone, to that entry's error.
                }
            }
        }
        let Some(item) = next_indexed(&mut walker, &mut ordinal, &mut kept, budget, hasher)? else {
            break;
        };
        if let Some(item) = item
            && !out.push(item)
        {
            return Ok(None);
        }
    }
    out.flush();
    // The end of the archive is not the end of a compressed stream: what
    // follows is read too, so that a damaged stream is an error, not an
    // index of what it decoded to.
    walker.drain()?;
    Ok(None)
}

/// `ARCHIVE!/in/image/path`: how files inside an archive are named on the host.
pub(crate) fn host_name(archive: &Path, path: &str) -> PathBuf {
    PathBuf::from(format!("{}!{path}", archive.display()))
}

/// Whether a path may be configuration discovery reads.
fn is_candidate(path: &str) -> bool {
    CANDIDATE_DIRS
        .iter()
        .any(|d| path.starts_with(d) || d.strip_suffix('/') == Some(path))
}

impl Tree for TarTree {
    fn lstat(&self, path: &str) -> io::Result<Node> {
        if let Some(b) = self.overlay.get(&self.index.host(path)) {
            return Ok(Node::File {
                size: b.len() as u64,
            });
        }
        Ok(match self.index.find(path) {
            None => Node::Missing,
            Some(TNode::File { size, .. }) => Node::File { size: *size },
            Some(TNode::Dir) => Node::Dir,
            Some(TNode::Symlink(t)) => Node::Symlink(t.clone()),
            Some(TNode::Other) => Node::Other,
        })
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        if let Some(b) = self.overlay.get(&self.index.host(path)) {
            return Ok(b.clone());
        }
        match self.index.find(path) {
            Some(TNode::File { data: Some(d), .. }) => Ok(d.as_ref().clone()),
            Some(TNode::File { size, offset, .. }) if *size <= MAX_FILE_SIZE => {
                self.index.reread(*offset, *size)
            }
            Some(TNode::File { .. }) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "over the size limit",
            )),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a regular file",
            )),
        }
    }

    fn read_dir(&self, path: &str) -> io::Result<Vec<String>> {
        Ok(self.index.names(path))
    }

    fn host_path(&self, path: &str) -> PathBuf {
        self.index.host(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_leave_the_root() {
        assert_eq!(normalize_name(b"./etc/x").as_deref(), Some("/etc/x"));
        assert_eq!(normalize_name(b"/etc//x/").as_deref(), Some("/etc/x"));
        assert_eq!(normalize_name(b"../../etc/x").as_deref(), Some("/etc/x"));
        assert_eq!(normalize_name(b"a/../../b").as_deref(), Some("/b"));
        assert_eq!(normalize_name(b"./"), None);
        assert_eq!(normalize_name(b".."), None);
        assert_eq!(normalize_name(b"a/b/../../.."), None);
        assert_eq!(normalize_name(b"a/./b/.././c"), Some("/a/c".to_owned()));
        assert_eq!(
            normalize_name(b"./a\xff/b\xe2\x82/c").as_deref(),
            Some("/a\u{fffd}/b\u{fffd}/c")
        );
    }

    fn entry(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, name: &str, data: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        // Names as archives spell them (`./`, `..`), which `set_path` refuses.
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, data).unwrap();
    }

    #[test]
    fn the_index_lists_each_name_once_in_order_and_later_entries_win() {
        use tar::EntryType::{Directory, Regular};
        let mut b = tar::Builder::new(Vec::new());
        // No directory entries before the file: its ancestors are implied.
        entry(&mut b, Regular, "./etc/kubernetes/kubelet.conf", b"first");
        entry(&mut b, Directory, "etc/", b"");
        entry(&mut b, Regular, "etc/kubernetes/kubelet.conf", b"second");
        entry(&mut b, Regular, "../../etc/a.conf", b"clamped");
        entry(&mut b, Regular, "usr/bin/kubelet", b"elf");
        entry(&mut b, Regular, "etc/.wh.gone", b"");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        std::fs::write(&path, b.into_inner().unwrap()).unwrap();

        let index = TarIndex::open(&path, Compression::None).unwrap();
        let tree = TarTree {
            index: Arc::new(index),
            overlay: Arc::default(),
        };
        assert_eq!(tree.read_dir("/").unwrap(), ["etc", "usr"]);
        assert_eq!(tree.read_dir("/etc").unwrap(), ["a.conf", "kubernetes"]);
        assert_eq!(tree.read_dir("/etc/kubernetes").unwrap(), ["kubelet.conf"]);
        assert_eq!(tree.read_dir("/usr/bin").unwrap(), ["kubelet"]);
        assert!(matches!(tree.lstat("/usr").unwrap(), Node::Dir));
        assert!(matches!(
            tree.lstat("/etc/.wh.gone").unwrap(),
            Node::Missing
        ));
        assert_eq!(
            tree.read("/etc/kubernetes/kubelet.conf").unwrap(),
            b"second"
        );
        assert_eq!(tree.read("/etc/a.conf").unwrap(), b"clamped");
        // Not a candidate, so not kept: read again from the archive.
        assert_eq!(tree.read("/usr/bin/kubelet").unwrap(), b"elf");
    }
    #[test]
    fn a_deep_path_implies_every_ancestor_once() {
        use tar::EntryType::Regular;
        let deep: Vec<String> = (0..2000).map(|i| format!("d{i}")).collect();
        let deep = deep.join("/");
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(Regular);
        h.set_size(1);
        b.append_data(&mut h, format!("{deep}/f"), &b"x"[..])
            .unwrap();
        entry(&mut b, Regular, "d0/d1/g", b"y");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        std::fs::write(&path, b.into_inner().unwrap()).unwrap();

        let index = TarIndex::open(&path, Compression::None).unwrap();
        // The root, 2000 directories and two files.
        assert_eq!(index.first.len(), 2003);
        assert_eq!(index.names("/"), ["d0"]);
        assert_eq!(index.names("/d0/d1"), ["d2", "g"]);
        assert_eq!(index.names(&format!("/{deep}")), ["f"]);
        assert!(matches!(index.find("/d0/d1/d2"), Some(TNode::Dir)));
    }

    /// A rootfs-like archive: directories, small files (some of them
    /// configuration), GNU long names, PAX names, links and whiteouts;
    /// `inner` is stored as one file in the middle.
    fn varied_archive(files: usize, inner: Option<&[u8]>) -> Vec<u8> {
        use tar::EntryType::{Directory, Link, Regular, Symlink, XHeader};
        let mut b = tar::Builder::new(Vec::new());
        for i in 0..files {
            let dir = ["etc/kubernetes", "usr/lib", "opt/app", "var/lib/kubelet"][i % 4];
            if i % 50 == 0 {
                entry(&mut b, Directory, &format!("./{dir}/d{i}/"), b"");
            }
            let body = format!("file {i}\n").repeat(i % 7);
            match i % 10 {
                3 => {
                    // A GNU long name.
                    let long = format!("{dir}/d{}/{}", i / 50 * 50, "n".repeat(120 + i % 5));
                    let mut h = tar::Header::new_gnu();
                    h.set_size(body.len() as u64);
                    h.set_entry_type(Regular);
                    b.append_data(&mut h, long, body.as_bytes()).unwrap();
                }
                5 => {
                    // A PAX name overriding the header's.
                    let name = format!("{dir}/pax-{i}.conf");
                    let rec = format!("path={name}\n");
                    let mut len = rec.len() + 3;
                    while format!("{len} {rec}").len() != len {
                        len += 1;
                    }
                    entry(
                        &mut b,
                        XHeader,
                        "PaxHeaders/x",
                        format!("{len} {rec}").as_bytes(),
                    );
                    entry(&mut b, Regular, "short-name", body.as_bytes());
                }
                7 => entry(&mut b, Symlink, &format!("./{dir}/link{i}"), b""),
                8 => entry(&mut b, Link, &format!("{dir}/hard{i}"), b""),
                9 if i % 30 == 9 => entry(&mut b, Regular, &format!("{dir}/.wh.gone{i}"), b""),
                _ => entry(
                    &mut b,
                    Regular,
                    &format!("./{dir}/d{}/f{i}", i / 50 * 50),
                    body.as_bytes(),
                ),
            }
            if i == files / 3
                && let Some(inner) = inner
            {
                entry(&mut b, Regular, "usr/share/inner.tar", inner);
            }
        }
        b.into_inner().unwrap()
    }

    fn both_ways_within(bytes: &[u8], budget: u64) -> (io::Result<TarIndex>, io::Result<TarIndex>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        std::fs::write(&path, bytes).unwrap();
        (
            TarIndex::build(&path, Compression::None, u64::MAX, budget),
            TarIndex::build(&path, Compression::None, 0, budget),
        )
    }

    fn both_ways(bytes: &[u8]) -> (io::Result<TarIndex>, io::Result<TarIndex>) {
        both_ways_within(bytes, MEMORY_BUDGET)
    }

    /// Every path, sorted, with its node and its names.
    fn contents(index: &TarIndex) -> Vec<(&str, &TNode, Vec<String>)> {
        let mut paths: Vec<&str> = index.first.paths().collect();
        paths.extend(index.second.iter().flat_map(Part::paths));
        paths.sort_unstable();
        paths.dedup();
        paths
            .into_iter()
            .map(|p| (p, index.find(p).unwrap(), index.names(p)))
            .collect()
    }

    /// Indexes `bytes` with one walk and with two, keeping `budget` bytes,
    /// checks that both give the same index, and gives the second, with how
    /// many paths the part of the walker that started in the middle holds.
    fn split_as_one(bytes: &[u8], budget: u64) -> (TarIndex, usize) {
        let (one, split) = both_ways_within(bytes, budget);
        let (one, split) = (one.unwrap(), split.unwrap());
        assert!(one.first.len() > 100);
        assert!(one.second.is_none());
        assert_eq!(contents(&one), contents(&split));
        let second = split.second.as_ref().map_or(0, Part::len);
        (split, second)
    }

    #[test]
    fn walking_from_the_middle_too_gives_the_same_index() {
        let (_, second) = split_as_one(&varied_archive(3000, None), MEMORY_BUDGET);
        assert!(second > 1000, "{second}");
    }

    #[test]
    fn later_entries_win_across_the_middle_and_the_budget_holds_in_order() {
        use tar::EntryType::{Directory, Regular};
        // The same paths twice, the second time past the middle: each must
        // end with its later entry, and a name that a file took in the
        // first half stays a file when the second half only implies it as
        // a directory.
        let mut b = tar::Builder::new(Vec::new());
        entry(&mut b, Regular, "etc/kubernetes/implied", b"a file");
        for round in 0..2 {
            entry(&mut b, Directory, &format!("etc/kubernetes/r{round}/"), b"");
            for i in 0..400 {
                let body = format!("round {round} file {i}\n");
                entry(
                    &mut b,
                    Regular,
                    &format!("etc/kubernetes/f{i}.conf"),
                    body.as_bytes(),
                );
                entry(
                    &mut b,
                    Regular,
                    &format!("opt/r{round}/g{i}"),
                    body.as_bytes(),
                );
            }
        }
        entry(&mut b, Regular, "etc/kubernetes/implied/below", b"");
        let archive = b.into_inner().unwrap();
        // Budgets that run out in either half, and one that never does.
        for budget in [2_000, 20_000, MEMORY_BUDGET] {
            let (split, second) = split_as_one(&archive, budget);
            assert!(second > 100, "{second}");
            let Some(TNode::File { data, .. }) = split.find("/etc/kubernetes/f7.conf") else {
                panic!("not a file");
            };
            if budget == MEMORY_BUDGET {
                assert_eq!(data.as_deref().unwrap(), b"round 1 file 7\n");
            }
            assert!(matches!(
                split.find("/etc/kubernetes/implied"),
                Some(TNode::File { .. })
            ));
            assert_eq!(split.names("/etc/kubernetes/implied"), ["below"]);
            assert_eq!(split.names("/opt"), ["r0", "r1"]);
        }
    }

    #[test]
    fn the_budget_over_the_second_half_is_that_of_one_walk() {
        use tar::EntryType::Regular;
        // Configuration only past the middle. The second walker keeps bytes
        // within half the budget on its own count; one walk keeps what fits
        // the whole budget, in order, so a small file after a large one
        // that did not fit is kept and the large one is not.
        for (files, budget) in [(vec![100; 30], 4_000), (vec![600, 450, 300], 1_000)] {
            let mut b = tar::Builder::new(Vec::new());
            for i in 0..400 {
                entry(&mut b, Regular, &format!("usr/lib/f{i}"), &[b'x'; 100]);
            }
            for (i, size) in files.iter().enumerate() {
                entry(
                    &mut b,
                    Regular,
                    &format!("etc/c{i}.conf"),
                    &vec![b'y'; *size],
                );
            }
            let (_, second) = split_as_one(&b.into_inner().unwrap(), budget);
            assert!(second > 30, "{second}");
        }
    }

    #[test]
    fn pax_global_headers_are_not_paths() {
        use tar::EntryType::{Regular, XGlobalHeader};
        let mut b = tar::Builder::new(Vec::new());
        entry(
            &mut b,
            XGlobalHeader,
            "pax_global_header",
            b"19 comment=abcdef\n",
        );
        entry(&mut b, Regular, "etc/a.conf", b"a");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.tar");
        std::fs::write(&path, b.into_inner().unwrap()).unwrap();
        let index = TarIndex::open(&path, Compression::None).unwrap();
        assert_eq!(index.names("/"), ["etc"]);
        assert_eq!(index.ordinal("/etc/a.conf"), Some(2));
    }

    #[test]
    fn an_archive_stored_in_the_middle_does_not_mislead_the_second_walker() {
        // Its headers look like the archive's own, and the second walker
        // starts on one of them; the walk from the start passes over it, so
        // the second walker's work is dropped. Cut short of its end blocks,
        // the stored archive's chain runs on into the real one; that second
        // walker is never met at its start either.
        let inner = varied_archive(2000, None);
        let cut = &inner[..inner.len() - 1024];
        for stored in [inner.as_slice(), cut] {
            let (split, second) = split_as_one(&varied_archive(600, Some(stored)), MEMORY_BUDGET);
            assert_eq!(second, 0);
            assert!(split.find("/usr/share/inner.tar").is_some());
            assert!(split.find("/etc/kubernetes/pax-1995.conf").is_none());
        }
    }

    #[test]
    fn no_header_past_the_middle_leaves_the_walk_from_the_start_alone() {
        use tar::EntryType::Regular;
        // The archive ends with a file whose contents span the middle and
        // hold nothing that looks like a header.
        let mut b = tar::Builder::new(Vec::new());
        for i in 0..300 {
            entry(
                &mut b,
                Regular,
                &format!("etc/kubernetes/f{i}.conf"),
                b"x\n",
            );
        }
        entry(&mut b, Regular, "usr/lib/big", &vec![0x5a; 1 << 20]);
        let (split, second) = split_as_one(&b.into_inner().unwrap(), MEMORY_BUDGET);
        assert_eq!(second, 0);
        assert!(split.find("/usr/lib/big").is_some());
    }

    #[test]
    fn a_corrupt_header_is_the_same_error_either_way() {
        let archive = varied_archive(3000, None);
        let headers: Vec<usize> = (0..archive.len() / 512)
            .map(|b| b * 512)
            .filter(|&at| crate::archive::walk::looks_like_header(&archive[at..at + 512]))
            .collect();
        for at in [headers[headers.len() / 4], headers[headers.len() * 3 / 4]] {
            let mut bad = archive.clone();
            bad[at] ^= 0x01;
            let (one, split) = both_ways(&bad);
            let (one, split) = (one.err().unwrap(), split.err().unwrap());
            assert_eq!(one.to_string(), split.to_string());
            assert_eq!(
                one.to_string(),
                format!("header checksum mismatch at byte {at}")
            );
        }
    }
}
