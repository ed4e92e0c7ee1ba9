//! Path resolution inside an image root, with chroot semantics.
//!
//! Absolute symlinks restart at the image root, `..` stops at the root, and
//! nothing outside the root is ever looked at: this is what the image itself
//! sees once booted (and what `openat2(RESOLVE_IN_ROOT)` does). The same
//! algorithm serves every kind of [`Tree`], so a directory and an archive
//! resolve alike.

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;

/// Linux's limit on symlinks followed while resolving one path.
pub(crate) const MAX_LINK_HOPS: usize = 40;

/// What an in-image path names, without following a final symlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Missing,
    File {
        size: u64,
    },
    Dir,
    Symlink(String),
    /// A device, FIFO or socket.
    Other,
}

/// A tree of in-image paths. Paths given to it are normalised, absolute and
/// free of symlinks except possibly in the last component.
pub(crate) trait Tree {
    fn lstat(&self, path: &str) -> io::Result<Node>;
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
    fn read_dir(&self, path: &str) -> io::Result<Vec<String>>;
    /// The path to name in an error message.
    fn host_path(&self, path: &str) -> PathBuf;
    /// The build stamps of a binary ([`super::stamp`]), read in a stream
    /// whatever its size: unlike [`Tree::read`], no size limit applies.
    fn stamps(&self, path: &str) -> io::Result<Vec<String>> {
        Ok(super::stamp::of(&self.read(path)?))
    }
}

/// A path resolved inside the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The in-image path that holds the bytes (no symlinks left).
    pub(crate) path: String,
    pub(crate) node: Node,
    /// Whether a symlink was followed on the way.
    pub(crate) via_link: bool,
    /// A symlink whose target climbed above the root (and was clamped there).
    pub(crate) clamped_link: Option<String>,
}

#[derive(Debug)]
pub(crate) enum ResolveError {
    Loop { link: String },
    Io { path: String, source: io::Error },
}

/// Resolves `path` inside `tree`.
pub(crate) fn resolve(tree: &dyn Tree, path: &str) -> Result<Resolved, ResolveError> {
    // Each pending component remembers the symlink it came from, so that a
    // `..` climbing above the root can be blamed on that link.
    let mut queue: VecDeque<(String, Option<String>)> =
        components(path).map(|c| (c, None)).collect();
    let mut cur: Vec<String> = Vec::new();
    let mut hops = 0;
    let mut via_link = false;
    let mut clamped_link = None;
    let mut node = Node::Dir;
    while let Some((comp, from_link)) = queue.pop_front() {
        if comp == ".." {
            if cur.pop().is_none() && from_link.is_some() {
                clamped_link.clone_from(&from_link);
            }
            node = Node::Dir;
            continue;
        }
        cur.push(comp);
        let here = join(&cur);
        if here == "/dev/null" && queue.is_empty() {
            node = Node::Other;
            break;
        }
        node = match tree.lstat(&here) {
            Ok(n) => n,
            Err(e) if is_absent(&e) => Node::Missing,
            Err(source) => return Err(ResolveError::Io { path: here, source }),
        };
        match &node {
            Node::Symlink(target) => {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(ResolveError::Loop { link: here });
                }
                via_link = true;
                cur.pop();
                if target.starts_with('/') {
                    cur.clear();
                }
                let target: Vec<String> = components(target).collect();
                for c in target.into_iter().rev() {
                    queue.push_front((c, Some(here.clone())));
                }
                node = Node::Dir;
            }
            Node::Dir => {}
            Node::Missing | Node::File { .. } | Node::Other => {
                if !queue.is_empty() {
                    // A missing directory, or a file used as one: the rest
                    // of the path cannot exist.
                    cur.extend(queue.into_iter().map(|(c, _)| c));
                    return Ok(Resolved {
                        path: join(&cur),
                        node: Node::Missing,
                        via_link,
                        clamped_link,
                    });
                }
            }
        }
    }
    Ok(Resolved {
        path: join(&cur),
        node,
        via_link,
        clamped_link,
    })
}

fn components(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_owned)
}

fn join(cur: &[String]) -> String {
    if cur.is_empty() {
        "/".to_owned()
    } else {
        cur.iter().fold(String::new(), |mut s, c| {
            s.push('/');
            s.push_str(c);
            s
        })
    }
}

pub(crate) fn is_absent(e: &io::Error) -> bool {
    // Also names no system call accepts (a NUL byte, a component over 255
    // bytes): no such file can exist in the image either.
    matches!(
        e.kind(),
        io::ErrorKind::NotFound
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::InvalidFilename
    ) || e.raw_os_error() == Some(rustix::io::Errno::NAMETOOLONG.raw_os_error())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Fake(HashMap<&'static str, Node>);

    impl Tree for Fake {
        fn lstat(&self, path: &str) -> io::Result<Node> {
            Ok(self.0.get(path).cloned().unwrap_or(Node::Missing))
        }
        fn read(&self, _: &str) -> io::Result<Vec<u8>> {
            Ok(Vec::new())
        }
        fn read_dir(&self, _: &str) -> io::Result<Vec<String>> {
            Ok(Vec::new())
        }
        fn host_path(&self, path: &str) -> PathBuf {
            PathBuf::from(path)
        }
    }

    fn fake() -> Fake {
        let link = |t: &str| Node::Symlink(t.to_owned());
        Fake(HashMap::from([
            ("/lib", link("usr/lib")),
            ("/usr", Node::Dir),
            ("/usr/lib", Node::Dir),
            ("/usr/lib/k", Node::File { size: 3 }),
            ("/etc", Node::Dir),
            ("/etc/abs", link("/usr/lib/k")),
            ("/etc/up", link("../../../../usr/lib/k")),
            ("/etc/loop", link("/etc/loop")),
            ("/etc/masked", link("/dev/null")),
            ("/etc/file", Node::File { size: 1 }),
        ]))
    }

    #[test]
    fn relative_and_absolute_links_stay_inside() {
        let t = fake();
        let r = resolve(&t, "/lib/k").unwrap();
        assert_eq!((r.path.as_str(), r.via_link), ("/usr/lib/k", true));
        assert_eq!(r.node, Node::File { size: 3 });
        let r = resolve(&t, "/etc/abs").unwrap();
        assert_eq!(r.path, "/usr/lib/k");
        assert_eq!(r.clamped_link, None);
    }

    #[test]
    fn dotdot_is_clamped_and_blamed_on_the_link() {
        let t = fake();
        let r = resolve(&t, "/etc/up").unwrap();
        assert_eq!(r.path, "/usr/lib/k");
        assert_eq!(r.clamped_link.as_deref(), Some("/etc/up"));
        let r = resolve(&t, "/../../etc/file").unwrap();
        assert_eq!((r.path.as_str(), r.clamped_link), ("/etc/file", None));
    }

    #[test]
    fn loops_are_errors_and_dev_null_is_recognised() {
        let t = fake();
        assert!(matches!(
            resolve(&t, "/etc/loop"),
            Err(ResolveError::Loop { .. })
        ));
        assert_eq!(resolve(&t, "/etc/masked").unwrap().path, "/dev/null");
    }

    #[test]
    fn a_file_used_as_a_directory_is_missing() {
        let t = fake();
        let r = resolve(&t, "/etc/file/x").unwrap();
        assert_eq!((r.path.as_str(), r.node), ("/etc/file/x", Node::Missing));
    }
}
