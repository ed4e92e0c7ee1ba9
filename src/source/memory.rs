//! A rootfs held in memory: a map of in-image paths to files, directories
//! and symlinks.
//!
//! It resolves exactly as a directory or an archive does (the same
//! [`resolve`](super::resolve) walks it), without touching the disk, so a
//! fuzzer or a test can scan an image built from bytes in a few
//! microseconds. Parent directories of every entry exist implicitly.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Node, Overlay, Tree, normalize};

/// One entry of a [`MemTree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MemEntry {
    File(Vec<u8>),
    Dir,
    Symlink(String),
}

/// An image in memory. Host paths (for messages and the fix overlay) are
/// the in-image path below `root`, which need not exist.
pub(crate) struct MemTree {
    root: PathBuf,
    /// Keyed by normalised in-image path. A hash map: lookups are most of
    /// what a scan does, and a fuzzer intercepts every string comparison.
    entries: HashMap<String, MemEntry, foldhash::fast::RandomState>,
    overlay: Arc<Overlay>,
}

impl MemTree {
    /// An image whose host paths are below `root`: the root directory alone.
    pub(crate) fn new(root: impl Into<PathBuf>) -> Self {
        let mut entries = HashMap::default();
        entries.insert("/".to_owned(), MemEntry::Dir);
        Self {
            root: root.into(),
            entries,
            overlay: Arc::default(),
        }
    }

    /// Files in `overlay` (keyed by host path) are read from it instead, as
    /// [`DirTree`](super::DirTree) does, so `fix` can check its edits.
    pub(crate) fn with_overlay(mut self, overlay: Arc<Overlay>) -> Self {
        self.overlay = overlay;
        self
    }

    /// Adds (or replaces) the entry at `path` and the directories above it.
    /// A directory above it that was a file or a symlink becomes a
    /// directory. `..` components are dropped, as a tar entry's are.
    pub(crate) fn insert(&mut self, path: &str, entry: MemEntry) {
        let clean: Vec<&str> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != "." && *c != "..")
            .collect();
        let mut cur = String::new();
        for (i, comp) in clean.iter().enumerate() {
            cur.push('/');
            cur.push_str(comp);
            if i + 1 < clean.len() {
                self.entries.insert(cur.clone(), MemEntry::Dir);
            }
        }
        if cur.is_empty() {
            return; // the root stays a directory
        }
        self.entries.insert(cur, entry);
    }

    /// Adds a regular file.
    pub(crate) fn file(mut self, path: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.insert(path, MemEntry::File(bytes.into()));
        self
    }

    /// Adds a symlink to `target`.
    pub(crate) fn symlink(mut self, path: &str, target: &str) -> Self {
        self.insert(path, MemEntry::Symlink(target.to_owned()));
        self
    }

    fn host(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    fn entry(&self, path: &str) -> io::Result<&MemEntry> {
        // Paths from `resolve` are normalised already; others are made so.
        self.entries
            .get(path)
            .or_else(|| self.entries.get(&normalize(path)))
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}

impl Tree for MemTree {
    fn lstat(&self, path: &str) -> io::Result<Node> {
        Ok(match self.entry(path)? {
            MemEntry::File(bytes) => Node::File {
                size: self
                    .overlay
                    .get(&self.host(path))
                    .map_or(bytes.len(), Vec::len) as u64,
            },
            MemEntry::Dir => Node::Dir,
            MemEntry::Symlink(target) => Node::Symlink(target.clone()),
        })
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        match self.entry(path)? {
            MemEntry::File(bytes) => {
                Ok(self.overlay.get(&self.host(path)).unwrap_or(bytes).clone())
            }
            MemEntry::Dir => Err(io::Error::from(io::ErrorKind::IsADirectory)),
            MemEntry::Symlink(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a regular file",
            )),
        }
    }

    fn read_dir(&self, path: &str) -> io::Result<Vec<String>> {
        let dir = normalize(path);
        match self.entry(&dir)? {
            MemEntry::Dir => {}
            _ => return Err(io::Error::from(io::ErrorKind::NotADirectory)),
        }
        let prefix = if dir == "/" { dir } else { format!("{dir}/") };
        let mut names: Vec<String> = self
            .entries
            .keys()
            .filter_map(|p| {
                let name = p.strip_prefix(&prefix)?;
                (!name.is_empty() && !name.contains('/')).then(|| name.to_owned())
            })
            .collect();
        names.sort();
        Ok(names)
    }

    fn host_path(&self, path: &str) -> PathBuf {
        self.host(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Image, Loaded, resolve};

    fn tree() -> MemTree {
        MemTree::new("/mem")
            .file("/usr/lib/systemd/system/kubelet.service", "[Service]\n")
            .symlink("/lib", "usr/lib")
            .symlink("/etc/systemd/system/kubelet.service", "/dev/null")
            .symlink("/etc/up", "../../../usr/lib/systemd/system/kubelet.service")
            .symlink("/etc/loop", "/etc/loop")
            .file("etc/default/kubelet", "A=1\n")
    }

    #[test]
    fn resolves_inside_like_a_directory() {
        let t = tree();
        let r = resolve(&t, "/lib/systemd/system/kubelet.service").unwrap();
        assert_eq!(r.path, "/usr/lib/systemd/system/kubelet.service");
        assert!(r.via_link);
        assert_eq!(r.node, Node::File { size: 10 });
        let r = resolve(&t, "/etc/up").unwrap();
        assert_eq!(r.path, "/usr/lib/systemd/system/kubelet.service");
        assert_eq!(r.clamped_link.as_deref(), Some("/etc/up"));
        assert_eq!(
            resolve(&t, "/etc/systemd/system/kubelet.service")
                .unwrap()
                .path,
            "/dev/null"
        );
        assert_eq!(resolve(&t, "/etc/nothing").unwrap().node, Node::Missing);
        assert_eq!(
            resolve(&t, "/etc/default/kubelet/x").unwrap().node,
            Node::Missing
        );
    }

    #[test]
    fn lists_directories_and_loads_files() {
        let t = tree();
        let mut names = t.read_dir("/etc").unwrap();
        names.sort();
        assert_eq!(names, ["default", "loop", "systemd", "up"]);
        assert_eq!(t.read_dir("/").unwrap(), ["etc", "lib", "usr"]);
        assert!(t.read_dir("/etc/default/kubelet").is_err());
        let mut image = Image::new(Box::new(tree()));
        let Loaded::File(id) = image.load("/etc/default/kubelet").unwrap() else {
            panic!("not loaded");
        };
        assert_eq!(image.files.get(id).text, "A=1\n");
        assert_eq!(
            image.files.get(id).host,
            PathBuf::from("/mem/etc/default/kubelet")
        );
        assert_eq!(
            image.load("/etc/systemd/system/kubelet.service").unwrap(),
            Loaded::DevNull
        );
        assert_eq!(image.load("/etc/loop").unwrap(), Loaded::Skipped);
        assert!(
            image
                .notices
                .iter()
                .any(|n| n.path == "etc/loop" && n.message.contains("40"))
        );
    }

    #[test]
    fn the_overlay_wins_and_parents_become_directories() {
        let overlay = Overlay::from([(
            PathBuf::from("/mem/etc/default/kubelet"),
            b"B=22\n".to_vec(),
        )]);
        let t = tree().with_overlay(Arc::new(overlay));
        assert_eq!(t.read("/etc/default/kubelet").unwrap(), b"B=22\n");
        assert_eq!(
            t.lstat("/etc/default/kubelet").unwrap(),
            Node::File { size: 5 }
        );
        let t = tree().file("/etc/default/kubelet/inner", "x");
        assert_eq!(t.lstat("/etc/default/kubelet").unwrap(), Node::Dir);
        let t = MemTree::new("/mem").file("../../x", "y");
        assert_eq!(t.read("/x").unwrap(), b"y");
    }
}
