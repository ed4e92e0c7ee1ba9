//! An archive seen as an in-image tree ([`Tree`]): entry names normalised
//! (`./`, leading `/`, `..` clamped at the root), later entries replacing
//! earlier ones as when unpacking, whiteouts ignored, hard links as aliases
//! of their target, symlinks left to the shared resolver.

use std::hash::BuildHasher;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use super::input::{Compression, Input, open};
use super::paths::{Named, PathHasher, Paths, TNode};
use super::walk::{Entry, Walker, over_budget};
use crate::source::{MAX_FILE_SIZE, Node, Overlay, Tree, stamp};

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

/// Paths in the index at most (those the entries name and the directories
/// they imply): about 10 times a large distribution image's. Each costs
/// the index about 100 bytes and its last component.
pub(crate) const MAX_PATHS: usize = 1 << 20;

/// The index of an archive, built in one pass and shared across the scans
/// that `fix` makes.
pub(crate) struct TarIndex {
    archive: PathBuf,
    compression: Compression,
    hasher: PathHasher,
    paths: Paths,
    /// The build stamps of the binaries in [`stamp::STAMPED`], read during
    /// the walk, with the ordinal of the entry they were read from.
    stamps: Stamps,
}

/// Build stamps by in-image path, with the entry they were read from.
type Stamps = std::collections::HashMap<String, (usize, Vec<String>)>;

impl Drop for TarIndex {
    /// Freeing the paths of a large archive one by one takes milliseconds;
    /// it happens on a thread of its own, which a process that is about to
    /// exit does not wait for.
    fn drop(&mut self) {
        if self.paths.len() > 4096 {
            let paths = std::mem::replace(&mut self.paths, Paths::new(&self.hasher));
            std::thread::spawn(move || drop(paths));
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
        Self::build(archive, compression, MEMORY_BUDGET)
    }

    /// Indexes the archive, keeping `budget` bytes of candidate files at
    /// most.
    fn build(archive: &Path, compression: Compression, budget: u64) -> io::Result<Self> {
        let hasher = PathHasher::default();
        let input = open(archive, compression)?;
        let capacity = match &input {
            Input::File(f) => expected_paths(f.len()),
            Input::Stream(_) => 0,
        };
        let mut paths = Paths::with_capacity(&hasher, capacity);
        let walker = Walker::new(input);
        // Reading the entries and indexing them overlap: the walk runs on a
        // thread of its own and hands over batches of entries in order.
        let (tx, rx) = std::sync::mpsc::sync_channel(16);
        let walking = {
            let hasher = hasher.clone();
            std::thread::spawn(move || walk(walker, &tx, &hasher, budget))
        };
        for batch in rx {
            for named in batch {
                if paths.len() >= MAX_PATHS {
                    // The walk stops at its next batch.
                    return Err(over_budget(
                        named.entry,
                        named.start,
                        named.path().as_bytes(),
                        &format!(
                            "the archive names more than {MAX_PATHS} paths (with the directories its entries imply)"
                        ),
                    ));
                }
                paths.insert(named, &hasher);
            }
        }
        let stamps = walking
            .join()
            .map_err(|_| io::Error::other("the archive walk stopped"))??;
        Ok(TarIndex {
            archive: archive.to_path_buf(),
            compression,
            hasher,
            paths,
            stamps,
        })
    }

    /// The node of `path`: that of the last entry naming it, else a
    /// directory if entries name paths below it.
    fn find(&self, path: &str) -> Option<&TNode> {
        self.paths.get(self.hasher.hash_one(path), path)
    }

    /// The names listed in `dir`, sorted.
    fn names(&self, dir: &str) -> Vec<String> {
        let mut names = Vec::new();
        self.paths.names(self.hasher.hash_one(dir), dir, &mut names);
        names.sort_unstable();
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

/// Reads or skips the entry's data, keeping a candidate file's bytes while
/// `kept` stays within `budget`, and gives the entry as the index keeps it;
/// `None` for entries it leaves out (unnamed, whiteouts).
fn index_entry(
    walker: &mut Walker,
    e: &Entry,
    (ordinal, kept, budget): (usize, &mut u64, u64),
    hasher: &PathHasher,
    stamps: &mut Stamps,
) -> io::Result<Option<Named>> {
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
    let node = match e.kind {
        b'0' | b'\0' | b'7' | b'S' => {
            let wanted = e.size <= MAX_FILE_SIZE && is_candidate(&path) && e.kind != b'S';
            let data = if wanted && *kept + e.size <= budget {
                *kept += e.size;
                Some(Arc::new(walker.read_data(e)?))
            } else if stamp::STAMPED.contains(&path.as_str()) && e.kind != b'S' {
                // Read as the walk passes it: reading it again later
                // would decompress the archive up to it a second time.
                let mut scanner = stamp::Scanner::default();
                walker.copy_data(e, &mut scanner)?;
                stamps.insert(path.clone(), (ordinal, scanner.finish()));
                None
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
    Ok(Some(Named::new(
        path,
        slash,
        node,
        (ordinal, e.start),
        hasher,
    )))
}

/// Walks the archive, keeping candidate files' bytes, and sends its
/// entries in order, [`BATCH`] at a time. Entries are numbered from 1, in
/// archive order: the ordinal a rewrite patches.
fn walk(
    mut walker: Walker,
    tx: &SyncSender<Vec<Named>>,
    hasher: &PathHasher,
    budget: u64,
) -> io::Result<Stamps> {
    let mut batch = Vec::with_capacity(BATCH);
    let mut kept = 0u64;
    let mut ordinal = 0;
    let mut stamps = Stamps::new();
    while let Some(e) = walker.next()? {
        ordinal += 1;
        let item = index_entry(
            &mut walker,
            &e,
            (ordinal, &mut kept, budget),
            hasher,
            &mut stamps,
        );
        walker.recycle(e);
        if let Some(named) = item? {
            batch.push(named);
        }
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.send(full).is_err() {
                // Nobody is listening any more.
                return Ok(stamps);
            }
        }
    }
    if !batch.is_empty() && tx.send(batch).is_err() {
        return Ok(stamps);
    }
    // The end of the archive is not the end of a compressed stream: what
    // follows is read too, so that a damaged stream is an error, not an
    // index of what it decoded to.
    walker.drain()?;
    Ok(stamps)
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

    fn stamps(&self, path: &str) -> io::Result<Vec<String>> {
        if let Some(b) = self.overlay.get(&self.index.host(path)) {
            return Ok(stamp::of(b));
        }
        match self.index.find(path) {
            Some(TNode::File { ordinal, .. })
                if let Some((read, found)) = self.index.stamps.get(path)
                    && read == ordinal =>
            {
                Ok(found.clone())
            }
            Some(TNode::File { data: Some(d), .. }) => Ok(stamp::of(d)),
            Some(TNode::File { size, offset, .. }) => {
                // A binary at a path the walk does not stamp (one a unit
                // names): read again, in a stream.
                let mut input = open(&self.index.archive, self.index.compression)?;
                match &mut input {
                    Input::File(f) => f.seek_to(*offset),
                    Input::Stream(r) => {
                        r.skip(*offset)?;
                    }
                }
                let mut scanner = stamp::Scanner::default();
                io::copy(&mut input.take(*size), &mut scanner)?;
                Ok(scanner.finish())
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a regular file",
            )),
        }
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
        // As deep as an entry may go (`MAX_DEPTH`, the file included).
        let deep: Vec<String> = (0..255).map(|i| format!("d{i}")).collect();
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
        // The root, 255 directories and two files.
        assert_eq!(index.paths.len(), 258);
        assert_eq!(index.names("/"), ["d0"]);
        assert_eq!(index.names("/d0/d1"), ["d2", "g"]);
        assert_eq!(index.names(&format!("/{deep}")), ["f"]);
        assert!(matches!(index.find("/d0/d1/d2"), Some(TNode::Dir)));
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
}
