//! Files of a scanned directory that are not image files: the
//! configuration file found in it and the rule directories that file names.
//!
//! They are read exactly as image files are: resolved inside their root
//! (the directory the configuration file was found in) by [`resolve`], with
//! absolute symlinks re-rooted and `..` stopped at the root, then opened
//! with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS)` by the same
//! [`DirTree`] that reads a rootfs. A link to `/proc/self/environ` or
//! `/etc/shadow` so names a file inside the root (which does not exist).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{DirTree, Node, Tree, resolve};

/// A directory whose files are read without ever leaving it.
pub(crate) struct Root {
    tree: DirTree,
}

/// Why a file inside a root could not be read.
#[derive(Debug)]
pub(crate) enum InRootError {
    /// Nothing at that path once resolved inside the root (a link that
    /// leads out of it lands here).
    Missing {
        resolved: String,
    },
    /// A directory, device, FIFO or socket.
    NotRegular {
        resolved: String,
    },
    /// Larger than the limit (checked before reading).
    TooLarge {
        size: u64,
        max: u64,
    },
    /// More than 40 symbolic links.
    Loop,
    Io(io::Error),
}

impl std::fmt::Display for InRootError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |p: &str| crate::escape::escape(p, crate::escape::Shown::Inline).into_owned();
        match self {
            InRootError::Missing { resolved } => write!(
                f,
                "it resolves to {} inside its directory (symlinks are followed only inside it), which does not exist",
                shown(resolved)
            ),
            InRootError::NotRegular { resolved } => {
                write!(f, "{} is not a regular file", shown(resolved))
            }
            InRootError::TooLarge { size, max } => {
                write!(f, "{size} bytes is over the {max}-byte limit")
            }
            InRootError::Loop => write!(f, "too many levels of symbolic links (more than 40)"),
            InRootError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl Root {
    pub(crate) fn open(dir: &Path) -> io::Result<Root> {
        Ok(Root {
            tree: DirTree::open(dir, Arc::default())?,
        })
    }

    /// The in-root path (`/a/b`) of a relative path, or `None` when it is
    /// absolute or climbs above the root with `..`.
    pub(crate) fn inside(rel: &Path) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        for c in rel.components() {
            match c {
                std::path::Component::Normal(n) => parts.push(n.to_string_lossy().into_owned()),
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    parts.pop()?;
                }
                std::path::Component::RootDir | std::path::Component::Prefix(_) => return None,
            }
        }
        Some(format!("/{}", parts.join("/")))
    }

    fn resolved(&self, path: &str) -> Result<super::Resolved, InRootError> {
        match resolve(&self.tree, path) {
            Ok(r) => Ok(r),
            Err(super::resolve::ResolveError::Loop { .. }) => Err(InRootError::Loop),
            Err(super::resolve::ResolveError::Io { source, .. }) => Err(InRootError::Io(source)),
        }
    }

    /// Reads the regular file at in-root `path` (symlinks followed inside
    /// the root), refusing it before reading when it is over `max` bytes.
    pub(crate) fn read(&self, path: &str, max: u64) -> Result<Vec<u8>, InRootError> {
        let r = self.resolved(path)?;
        let resolved = super::display_path(&r.path);
        match r.node {
            Node::File { size } if size > max => Err(InRootError::TooLarge { size, max }),
            Node::File { .. } => {
                let bytes = self.tree.read(&r.path).map_err(|e| match e.kind() {
                    io::ErrorKind::InvalidData => InRootError::NotRegular {
                        resolved: resolved.clone(),
                    },
                    _ => InRootError::Io(e),
                })?;
                if bytes.len() as u64 > max {
                    return Err(InRootError::TooLarge {
                        size: bytes.len() as u64,
                        max,
                    });
                }
                Ok(bytes)
            }
            Node::Missing | Node::Symlink(_) => Err(InRootError::Missing { resolved }),
            Node::Dir | Node::Other => Err(InRootError::NotRegular { resolved }),
        }
    }

    /// The names in the directory at in-root `path` whose resolved node is
    /// a regular file, sorted; `None` when it is not a directory.
    pub(crate) fn files(&self, path: &str) -> Result<Option<Vec<String>>, InRootError> {
        let r = self.resolved(path)?;
        if r.node != Node::Dir {
            return Ok(None);
        }
        let mut names = self.tree.read_dir(&r.path).map_err(InRootError::Io)?;
        names.sort();
        let mut out = Vec::new();
        for n in names {
            let p = format!("{}/{n}", r.path.trim_end_matches('/'));
            if matches!(self.resolved(&p)?.node, Node::File { .. }) {
                out.push(n);
            }
        }
        Ok(Some(out))
    }
}

/// A rule directory: named on the command line (`--rules`, or by a
/// configuration file given with `--config`), read as it is; or named by a
/// configuration file found in a scanned directory, read inside that
/// directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RuleDir {
    Trusted(PathBuf),
    InRoot {
        /// The directory the configuration file was found in.
        root: PathBuf,
        /// The in-root path of the rule directory (`/rules`).
        dir: String,
    },
}

impl RuleDir {
    /// The directory as messages name it.
    pub(crate) fn shown(&self) -> PathBuf {
        match self {
            RuleDir::Trusted(p) => p.clone(),
            RuleDir::InRoot { root, dir } => root.join(dir.trim_start_matches('/')),
        }
    }
}

/// Rule files are data promready reads like a configuration file.
pub(crate) const MAX_RULE_FILE: u64 = super::MAX_FILE_SIZE;

/// The `*.yaml` and `*.yml` files of a rule directory, sorted, as (name
/// for messages, text).
pub(crate) fn rule_files(dir: &RuleDir) -> Result<Vec<(String, String)>, super::InputError> {
    let io_err = |path: PathBuf, source: io::Error| super::InputError::Io { path, source };
    let yaml = |p: &str| {
        Path::new(p)
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml")
    };
    match dir {
        RuleDir::Trusted(dir) => {
            let entries = std::fs::read_dir(dir).map_err(|e| io_err(dir.clone(), e))?;
            let mut paths: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| yaml(&p.to_string_lossy()) && p.is_file())
                .collect();
            paths.sort();
            let mut out = Vec::new();
            for p in paths {
                let text = std::fs::read_to_string(&p).map_err(|e| io_err(p.clone(), e))?;
                out.push((p.display().to_string(), text));
            }
            Ok(out)
        }
        RuleDir::InRoot { root, dir: sub } => {
            let shown = dir.shown();
            let fail = |path: PathBuf, e: InRootError| match e {
                InRootError::Io(source) => io_err(path, source),
                e => io_err(path, io::Error::other(e.to_string())),
            };
            let r = Root::open(root).map_err(|e| io_err(root.clone(), e))?;
            let names = r
                .files(sub)
                .map_err(|e| fail(shown.clone(), e))?
                .ok_or_else(|| {
                    io_err(
                        shown.clone(),
                        io::Error::other(
                            "not a directory inside the directory of the configuration file",
                        ),
                    )
                })?;
            let mut out = Vec::new();
            for n in names.into_iter().filter(|n| yaml(n)) {
                let path = shown.join(&n);
                let bytes = r
                    .read(&format!("{}/{n}", sub.trim_end_matches('/')), MAX_RULE_FILE)
                    .map_err(|e| fail(path.clone(), e))?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    io_err(
                        path.clone(),
                        io::Error::new(io::ErrorKind::InvalidData, "not valid UTF-8"),
                    )
                })?;
                out.push((path.display().to_string(), text));
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Root;
    use std::path::Path;

    #[test]
    fn inside_refuses_absolute_and_climbing_paths() {
        assert_eq!(Root::inside(Path::new("rules")).as_deref(), Some("/rules"));
        assert_eq!(Root::inside(Path::new("./a/../b")).as_deref(), Some("/b"));
        assert_eq!(Root::inside(Path::new("../host/rules")), None);
        assert_eq!(Root::inside(Path::new("a/../../b")), None);
        assert_eq!(Root::inside(Path::new("/etc")), None);
    }
}
