//! An archive seen as an in-image tree ([`Tree`]): entry names normalised
//! (`./`, leading `/`, `..` clamped at the root), later entries replacing
//! earlier ones as when unpacking, whiteouts ignored, hard links as aliases
//! of their target, symlinks left to the shared resolver.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::SyncSender;

use super::walk::Walker;
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
/// Maps keyed by in-image paths. Entry names come from the archive, so the
/// hasher is seeded per run (no fixed collisions to craft); foldhash is
/// several times faster than the standard `SipHash` on short paths.
type PathMap<V> = foldhash::HashMap<String, V>;

/// Bytes of candidate files kept in memory at most.
const MEMORY_BUDGET: u64 = 32 << 20;

#[derive(Debug, Clone)]
enum TNode {
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
    nodes: PathMap<TNode>,
    /// The names in each directory, sorted once the walk is done.
    children: PathMap<Vec<String>>,
}

impl Drop for TarIndex {
    /// Freeing the paths of a large archive one by one takes milliseconds;
    /// it happens on a thread of its own, which a process that is about to
    /// exit does not wait for.
    fn drop(&mut self) {
        if self.nodes.len() > 4096 {
            let nodes = std::mem::take(&mut self.nodes);
            let children = std::mem::take(&mut self.children);
            std::thread::spawn(move || drop((nodes, children)));
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

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

impl TarIndex {
    /// Indexes the archive in one pass.
    pub(crate) fn open(archive: &Path, compression: Compression) -> io::Result<Self> {
        let mut tree = TarIndex {
            archive: archive.to_path_buf(),
            compression,
            nodes: PathMap::default(),
            children: PathMap::default(),
        };
        tree.nodes.insert("/".to_owned(), TNode::Dir);
        let walker = Walker::new(open(archive, compression)?);
        // Reading the entries and indexing them overlap: the walk runs on a
        // thread of its own and hands over batches of entries in order.
        let (tx, rx) = std::sync::mpsc::sync_channel(16);
        let walking = std::thread::spawn(move || walk(walker, &tx));
        for batch in rx {
            for (path, node) in batch {
                tree.insert(path, node);
            }
        }
        walking
            .join()
            .map_err(|_| io::Error::other("the archive walk stopped"))??;
        for names in tree.children.values_mut() {
            names.sort_unstable();
        }
        Ok(tree)
    }

    fn insert(&mut self, path: String, node: TNode) {
        if let Some(old) = self.nodes.get_mut(&path) {
            // A later entry replaces an earlier one, as when unpacking.
            *old = node;
            return;
        }
        // A new path: list it in its parent, and register each missing
        // ancestor as a directory the same way. A path is in `nodes` exactly
        // when its parent lists it, so no directory lists a name twice.
        let mut p = path.as_str();
        while p != "/" {
            let up = parent(p);
            let name = &p[up.len() + usize::from(up != "/")..];
            match self.children.get_mut(up) {
                Some(names) => names.push(name.to_owned()),
                None => {
                    self.children.insert(up.to_owned(), vec![name.to_owned()]);
                }
            }
            if self.nodes.contains_key(up) {
                break;
            }
            self.nodes.insert(up.to_owned(), TNode::Dir);
            p = up;
        }
        self.nodes.insert(path, node);
    }

    /// The host-side name of an in-image path (for the overlay and messages).
    pub(crate) fn host(&self, path: &str) -> PathBuf {
        host_name(&self.archive, path)
    }

    /// The ordinal of the entry holding `path`'s bytes.
    pub(crate) fn ordinal(&self, path: &str) -> Option<usize> {
        match self.nodes.get(path)? {
            TNode::File { ordinal, .. } => Some(*ordinal),
            _ => None,
        }
    }

    /// Reads a file the index did not keep, by walking to its entry again.
    fn reread(&self, offset: u64, size: u64) -> io::Result<Vec<u8>> {
        let mut input = open(&self.archive, self.compression)?;
        match &mut input {
            super::walk::Input::File(f) => f.seek_to(offset),
            super::walk::Input::Stream(r) => {
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

/// Walks the archive, keeping candidate files' bytes, and sends its
/// entries in order.
fn walk(mut walker: Walker, tx: &SyncSender<Vec<(String, TNode)>>) -> io::Result<()> {
    let mut kept = 0u64;
    let mut ordinal = 0;
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(e) = walker.next()? {
        ordinal += 1;
        let Some(path) = normalize_name(&e.path) else {
            walker.skip_data(&e)?;
            continue;
        };
        let base = path.rsplit('/').next().unwrap_or("");
        if base.starts_with(".wh.") {
            walker.skip_data(&e)?;
            continue;
        }
        let node = match e.kind {
            b'0' | b'\0' | b'7' | b'S' => {
                let candidate = e.size <= MAX_FILE_SIZE
                    && kept + e.size <= MEMORY_BUDGET
                    && is_candidate(&path)
                    && e.kind != b'S';
                let data = if candidate {
                    kept += e.size;
                    Some(Arc::new(walker.read_data(&e)?))
                } else {
                    walker.skip_data(&e)?;
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
                walker.skip_data(&e)?;
                TNode::Dir
            }
            b'2' => {
                walker.skip_data(&e)?;
                TNode::Symlink(
                    String::from_utf8_lossy(e.link.as_deref().unwrap_or_default()).into_owned(),
                )
            }
            b'1' => {
                walker.skip_data(&e)?;
                // A hard link names another entry from the archive root.
                match e.link.as_deref().and_then(normalize_name) {
                    Some(target) => TNode::Symlink(target),
                    None => TNode::Other,
                }
            }
            _ => {
                walker.skip_data(&e)?;
                TNode::Other
            }
        };
        batch.push((path, node));
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.send(full).is_err() {
                // Nobody is listening any more.
                return Ok(());
            }
        }
    }
    let _ = tx.send(batch);
    Ok(())
}

/// `ARCHIVE!/in/image/path`: how files inside an archive are named on the host.
pub(crate) fn host_name(archive: &Path, path: &str) -> PathBuf {
    PathBuf::from(format!("{}!{path}", archive.display()))
}

/// Whether a path may be configuration discovery reads.
fn is_candidate(path: &str) -> bool {
    CANDIDATE_DIRS
        .iter()
        .any(|d| path.starts_with(d) || path == d.trim_end_matches('/'))
}

impl Tree for TarTree {
    fn lstat(&self, path: &str) -> io::Result<Node> {
        if let Some(b) = self.overlay.get(&self.index.host(path)) {
            return Ok(Node::File {
                size: b.len() as u64,
            });
        }
        Ok(match self.index.nodes.get(path) {
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
        match self.index.nodes.get(path) {
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
        Ok(self.index.children.get(path).cloned().unwrap_or_default())
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
}
