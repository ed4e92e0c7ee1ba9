//! An archive seen as an in-image tree ([`Tree`]): entry names normalised
//! (`./`, leading `/`, `..` clamped at the root), later entries replacing
//! earlier ones as when unpacking, whiteouts ignored, hard links as aliases
//! of their target, symlinks left to the shared resolver.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    nodes: HashMap<String, TNode>,
    children: HashMap<String, BTreeSet<String>>,
    /// Bytes of the uncompressed archive.
    pub(crate) size: u64,
}

/// An archive's index seen through an overlay of new file contents.
pub(crate) struct TarTree {
    pub(crate) index: Arc<TarIndex>,
    pub(crate) overlay: Arc<Overlay>,
}

/// Normalises an entry name to an in-image path: `/a/b`, `..` clamped.
pub(crate) fn normalize_name(raw: &[u8]) -> Option<String> {
    let name = String::from_utf8_lossy(raw);
    let mut parts: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!("/{}", parts.join("/")))
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
            nodes: HashMap::new(),
            children: HashMap::new(),
            size: 0,
        };
        tree.nodes.insert("/".to_owned(), TNode::Dir);
        let mut walker = Walker::new(open(archive, compression)?);
        let mut kept = 0u64;
        let mut ordinal = 0;
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
            tree.insert(path, node);
        }
        tree.size = walker.pos;
        Ok(tree)
    }

    fn insert(&mut self, path: String, node: TNode) {
        // Registers `path` with its parent, and the parent with its own, up
        // to the first directory that already lists the child: everything
        // above it was registered when it was.
        let mut p = path.as_str();
        while p != "/" {
            let up = parent(p);
            let name = &p[up.len() + usize::from(up != "/")..];
            let kids = match self.children.get_mut(up) {
                Some(kids) => kids,
                None => self.children.entry(up.to_owned()).or_default(),
            };
            if kids.contains(name) {
                break;
            }
            kids.insert(name.to_owned());
            if up != "/" && !self.nodes.contains_key(up) {
                self.nodes.insert(up.to_owned(), TNode::Dir);
            }
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
        if let super::walk::Input::File(f) = &mut input {
            f.seek_to(offset);
        } else {
            io::copy(&mut (&mut input).take(offset), &mut io::sink())?;
        }
        let mut out = Vec::new();
        input.take(size).read_to_end(&mut out)?;
        Ok(out)
    }
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
        Ok(self
            .index
            .children
            .get(path)
            .map(|c| c.iter().cloned().collect())
            .unwrap_or_default())
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
    }
}
