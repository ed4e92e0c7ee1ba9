//! Sources: where the bytes of in-image paths come from.
//!
//! An [`Image`] answers "give me the bytes of in-image path P" and "list
//! directory D" for a rootfs, resolving every path *inside* the image (see
//! [`resolve`]). Files that discovery reads are registered once in the
//! [`FileDb`], keyed by the path that holds the bytes, so two routes to one
//! file (`/lib` → `usr/lib` on merged-/usr images) yield one file and one
//! finding.

mod config;
mod dir;
mod inroot;
mod memory;
mod resolve;
pub(crate) mod stamp;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub(crate) use config::{ConfigFiles, read_directory, read_named};
pub(crate) use dir::DirTree;
pub(crate) use inroot::{InRootError, Root, RuleDir, rule_files};
#[allow(unused_imports)] // MemEntry: for tests and the fuzz entry points
pub(crate) use memory::{MemEntry, MemTree};
pub(crate) use resolve::{Node, Resolved, Tree, resolve};

use crate::span::FileId;
use crate::span::LineIndex;

/// New contents for files, keyed by host path: what `fix` would write.
pub(crate) type Overlay = HashMap<PathBuf, Vec<u8>>;

/// Files larger than this are not configuration files; they are skipped with
/// a notice instead of being read into memory.
pub(crate) const MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

/// A file that was read, with its text as reports show it.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// Path as reports show it: in-image path without the leading `/`, or a
    /// path as given on the command line.
    pub(crate) path: String,
    /// The path it was reached through, when that differs (a symlink).
    pub(crate) via: Option<String>,
    /// The file's text; invalid UTF-8 is replaced by U+FFFD.
    pub(crate) text: String,
    /// Whether the text is the file's bytes (valid UTF-8); fixes refuse to
    /// rewrite a file that is not.
    pub(crate) exact: bool,
    /// Where the bytes live on this machine (for `fix`).
    pub(crate) host: PathBuf,
    pub(crate) lines: LineIndex,
}

impl SourceFile {
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        self.lines.line_col(&self.text, offset)
    }
}

/// Every file read during a scan.
#[derive(Debug, Default)]
pub(crate) struct FileDb {
    files: Vec<SourceFile>,
    by_path: HashMap<String, FileId>,
}

impl FileDb {
    pub(crate) fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.index()]
    }

    pub(crate) fn lookup(&self, path: &str) -> Option<FileId> {
        self.by_path.get(path).copied()
    }

    /// Every file, in the order read.
    pub(crate) fn ids(&self) -> impl Iterator<Item = FileId> {
        (0..self.files.len()).map(FileId::from_index)
    }

    /// The file read from a host path.
    pub(crate) fn lookup_host(&self, host: &Path) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.host == host)
            .map(FileId::from_index)
    }

    /// Registers a file, or returns the id it already has.
    pub(crate) fn add(
        &mut self,
        path: String,
        via: Option<String>,
        bytes: &[u8],
        host: PathBuf,
    ) -> FileId {
        if let Some(&id) = self.by_path.get(&path) {
            return id;
        }
        // What the file costs held: its text and a line start per line.
        let lines = bytes.split(|&b| b == b'\n').count() as u64 - 1;
        let held = bytes.len() as u64 + 8 * lines;
        // Over the run's budget the file is kept empty: the scan fails
        // with the reason (see `budget`), without holding more.
        let bytes = if crate::budget::hold_bytes(held, &path) {
            bytes
        } else {
            &[]
        };
        let exact = std::str::from_utf8(bytes).is_ok();
        let text = String::from_utf8_lossy(bytes).into_owned();
        let id = FileId::from_index(self.files.len());
        self.by_path.insert(path.clone(), id);
        self.files.push(SourceFile {
            lines: LineIndex::new(&text),
            path,
            via,
            text,
            exact,
            host,
        });
        id
    }
}

/// Something noteworthy that is not a finding: a link that was not followed,
/// a file that was skipped, an assumption that was made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Notice {
    /// The in-image path (or path as given) the notice is about.
    pub(crate) path: String,
    pub(crate) message: String,
}

impl Notice {
    /// The line (and column) a notice is about, from the way its message
    /// starts: `line 7: …`, or `invalid YAML at 7:3: …`.
    pub(crate) fn position(&self) -> Option<(usize, Option<usize>)> {
        let digits = |s: &str| -> Option<(usize, usize)> {
            let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            Some((s[..end].parse().ok().filter(|&n| n > 0)?, end))
        };
        if let Some(rest) = self.message.strip_prefix("line ") {
            let (line, end) = digits(rest)?;
            return rest[end..].starts_with(':').then_some((line, None));
        }
        let rest = self.message.strip_prefix("invalid YAML at ")?;
        let (line, end) = digits(rest)?;
        let rest = rest[end..].strip_prefix(':')?;
        let (col, end) = digits(rest)?;
        rest[end..].starts_with(':').then_some((line, Some(col)))
    }
}

/// An error that stops the scan: the input cannot be read as asked.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum InputError {
    #[error("{}: no such file or directory", crate::escape::path(.path))]
    #[diagnostic(help(
        "check the path; promready scans rootfs directories, configuration directories and configuration files"
    ))]
    Missing { path: PathBuf },
    #[error("{}: not a directory or a regular file", crate::escape::path(.path))]
    #[diagnostic(help(
        "pass an unpacked rootfs directory, a directory of configuration files, or configuration files"
    ))]
    NotScannable { path: PathBuf },
    #[error(
        "cannot read {}: {}",
        crate::escape::path(.path),
        crate::escape::escape(.message, crate::escape::Shown::Inline)
    )]
    #[diagnostic(help("nothing was changed; re-create the archive and run again"))]
    Archive { path: PathBuf, message: String },
    #[error("{}: {format}, which promready does not read", crate::escape::path(.path))]
    #[diagnostic(help("{help}"))]
    Unsupported {
        path: PathBuf,
        format: &'static str,
        help: String,
    },
    #[error("{}: not a tar archive: {reason}", crate::escape::path(.path))]
    #[diagnostic(help(
        "promready reads rootfs archives as .tar, .tar.gz or .tar.zst (recognised by their content); re-create it with `tar -C ROOTFS -cf IMAGE.tar .` and run again"
    ))]
    NotTar { path: PathBuf, reason: &'static str },
    #[error(
        "{}: no kubelet and no control-plane component: is this a node image?",
        crate::escape::path(.path)
    )]
    #[diagnostic(help("{hint}"))]
    NotANodeImage { path: PathBuf, hint: &'static str },
    #[error(
        "{}: no configuration promready reads, and not a root filesystem (no etc/ beside usr/ or var/)",
        crate::escape::path(.path)
    )]
    #[diagnostic(help(
        "promready reads kubeadm, kubelet and kube-proxy configuration, static pod manifests, systemd units and kubelet environment files (recognised by their content); check the path, or point it at the root filesystem of a node image"
    ))]
    NothingRecognised { path: PathBuf },
    #[error("{}: {message}", crate::escape::path(.path))]
    #[diagnostic(help(
        "nothing was changed; promready refuses inputs this large (its limits, far above real node images, are listed in docs/security.md)"
    ))]
    Budget { path: PathBuf, message: String },
    #[error("cannot read {}: {source}", crate::escape::path(.path))]
    #[diagnostic(help(
        "nothing was changed; make the file readable (e.g. run as root) and run again"
    ))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl InputError {
    /// The path the error is about.
    pub(crate) fn path(&self) -> &Path {
        match self {
            InputError::Missing { path }
            | InputError::NotScannable { path }
            | InputError::Archive { path, .. }
            | InputError::Unsupported { path, .. }
            | InputError::NotTar { path, .. }
            | InputError::NotANodeImage { path, .. }
            | InputError::NothingRecognised { path }
            | InputError::Budget { path, .. }
            | InputError::Io { path, .. } => path,
        }
    }
}

/// A rootfs seen through a [`Tree`], with the files read so far.
pub(crate) struct Image {
    tree: Box<dyn Tree>,
    pub(crate) files: FileDb,
    pub(crate) notices: Vec<Notice>,
    /// What layers above made of a file, kept so each file is parsed once
    /// per scan however many invocations name it (see [`Image::memo`]).
    memos: HashMap<(FileId, std::any::TypeId), Box<dyn std::any::Any>>,
}

/// The result of loading an in-image path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loaded {
    File(FileId),
    /// The path does not exist in the image.
    Missing,
    /// The path resolves to `/dev/null` (a masked unit or drop-in).
    DevNull,
    /// The path exists but was skipped; a notice says why.
    Skipped,
}

impl Image {
    pub(crate) fn new(tree: Box<dyn Tree>) -> Self {
        Self {
            tree,
            files: FileDb::default(),
            notices: Vec::new(),
            memos: HashMap::new(),
        }
    }

    /// What `make` makes of file `id`, made once per scan: a later call
    /// with the same file and result type gets a copy of the first result.
    pub(crate) fn memo<T: Clone + 'static>(
        &mut self,
        id: FileId,
        make: impl FnOnce(&SourceFile) -> T,
    ) -> T {
        let key = (id, std::any::TypeId::of::<T>());
        if let Some(v) = self.memos.get(&key).and_then(|b| b.downcast_ref::<T>()) {
            return v.clone();
        }
        let v = make(self.files.get(id));
        self.memos.insert(key, Box::new(v.clone()));
        v
    }

    /// The files read and the notices raised.
    pub(crate) fn into_parts(self) -> (FileDb, Vec<Notice>) {
        (self.files, self.notices)
    }

    pub(crate) fn notice(&mut self, path: &str, message: impl Into<String>) {
        let n = Notice {
            path: display_path(path),
            message: message.into(),
        };
        if !self.notices.contains(&n) {
            self.notices.push(n);
        }
    }

    /// Resolves `path` inside the image, recording a notice when resolution
    /// fails for a reason other than absence.
    pub(crate) fn resolve(&mut self, path: &str) -> Result<Option<Resolved>, InputError> {
        match resolve(self.tree.as_ref(), path) {
            Ok(r) => {
                if let Some(link) = &r.clamped_link {
                    let msg = format!(
                        "symlink {} climbs above the image root; resolved inside the image as {}",
                        display_path(link),
                        display_path(&r.path)
                    );
                    self.notice(link, msg);
                }
                Ok(Some(r))
            }
            Err(resolve::ResolveError::Loop { link }) => {
                self.notice(
                    &link,
                    "too many levels of symbolic links (more than 40); not followed",
                );
                Ok(None)
            }
            Err(resolve::ResolveError::Io { path: p, source }) => Err(InputError::Io {
                path: self.tree.host_path(&p),
                source,
            }),
        }
    }

    /// Reads an in-image file into the [`FileDb`].
    pub(crate) fn load(&mut self, path: &str) -> Result<Loaded, InputError> {
        let Some(r) = self.resolve(path)? else {
            return Ok(Loaded::Skipped);
        };
        if r.path == "/dev/null" {
            return Ok(Loaded::DevNull);
        }
        match r.node {
            Node::Missing => Ok(Loaded::Missing),
            Node::Dir | Node::Other => {
                self.notice(&r.path, "not a regular file; skipped");
                Ok(Loaded::Skipped)
            }
            Node::Symlink(_) => Ok(Loaded::Skipped),
            Node::File { size } => {
                let shown = display_path(&r.path);
                if let Some(id) = self.files.lookup(&shown) {
                    return Ok(Loaded::File(id));
                }
                if size > MAX_FILE_SIZE {
                    self.notice(
                        &r.path,
                        format!("{size} bytes is over the {MAX_FILE_SIZE}-byte limit for configuration files; skipped"),
                    );
                    return Ok(Loaded::Skipped);
                }
                let read = self.tree.read(&r.path);
                let Some(bytes) = self.skip_invalid(&r.path, read)? else {
                    return Ok(Loaded::Skipped);
                };
                let via = r.via_link.then(|| display_path(&normalize(path)));
                let host = self.tree.host_path(&r.path);
                Ok(Loaded::File(self.files.add(shown, via, &bytes, host)))
            }
        }
    }

    /// The bytes of an in-image file that is not kept as a configuration
    /// file (a package database, a private key), resolved inside the image;
    /// `None` when it is absent, not a regular file or larger than `max`
    /// bytes (a notice says so, naming the files the limit is for, `what`).
    pub(crate) fn read_raw(
        &mut self,
        path: &str,
        max: u64,
        what: &str,
    ) -> Result<Option<Vec<u8>>, InputError> {
        let Some(r) = self.resolve(path)? else {
            return Ok(None);
        };
        let Node::File { size } = r.node else {
            return Ok(None);
        };
        if size > max {
            self.notice(
                &r.path,
                format!("{size} bytes is over the {max}-byte limit for {what}; not read"),
            );
            return Ok(None);
        }
        let read = self.tree.read(&r.path);
        self.skip_invalid(&r.path, read)
    }

    /// What a read of in-image `path` gave: data the tree cannot give
    /// (`InvalidData`) is skipped with a notice, any other error is the
    /// input's.
    fn skip_invalid<T>(
        &mut self,
        path: &str,
        read: std::io::Result<T>,
    ) -> Result<Option<T>, InputError> {
        match read {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                self.notice(path, format!("{e}; skipped"));
                Ok(None)
            }
            Err(source) => Err(InputError::Io {
                path: self.tree.host_path(path),
                source,
            }),
        }
    }

    /// The build stamps of a binary ([`stamp`]) and the in-image path read,
    /// `None` when there is no such file.
    pub(crate) fn stamps(
        &mut self,
        path: &str,
    ) -> Result<Option<(String, Vec<String>)>, InputError> {
        let Some(r) = self.resolve(path)? else {
            return Ok(None);
        };
        if !matches!(r.node, Node::File { .. }) {
            return Ok(None);
        }
        let read = self.tree.stamps(&r.path);
        Ok(self
            .skip_invalid(&r.path, read)?
            .map(|found| (r.path, found)))
    }

    /// Lists the entries of an in-image directory (names only, sorted); an
    /// absent directory lists as empty.
    pub(crate) fn list_dir(&mut self, path: &str) -> Result<Vec<String>, InputError> {
        let Some(r) = self.resolve(path)? else {
            return Ok(Vec::new());
        };
        if r.node != Node::Dir {
            return Ok(Vec::new());
        }
        let mut names = self
            .tree
            .read_dir(&r.path)
            .map_err(|source| InputError::Io {
                path: self.tree.host_path(&r.path),
                source,
            })?;
        names.sort();
        Ok(names)
    }

    /// The entries of an already resolved directory, sorted.
    pub(crate) fn list_resolved(&mut self, path: &str) -> Result<Vec<String>, InputError> {
        let mut names = self.tree.read_dir(path).map_err(|source| InputError::Io {
            path: self.tree.host_path(path),
            source,
        })?;
        names.sort();
        Ok(names)
    }

    /// The node at an already resolved in-image path, without following a
    /// final symlink.
    pub(crate) fn lstat(&mut self, path: &str) -> Result<Node, InputError> {
        match self.tree.lstat(path) {
            Ok(n) => Ok(n),
            Err(e) if resolve::is_absent(&e) => Ok(Node::Missing),
            Err(source) => Err(InputError::Io {
                path: self.tree.host_path(path),
                source,
            }),
        }
    }

    /// The node at an in-image path after resolution.
    pub(crate) fn stat(&mut self, path: &str) -> Result<Option<Resolved>, InputError> {
        self.resolve(path)
    }
}

/// Normalises an in-image path: absolute, no `.`, no empty components.
/// `..` is kept; [`resolve`] interprets it.
pub(crate) fn normalize(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        out.push('/');
        out.push_str(comp);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The path as reports show it: relative to the image root.
pub(crate) fn display_path(in_image: &str) -> String {
    let p = in_image.trim_start_matches('/');
    if p.is_empty() {
        ".".to_owned()
    } else {
        p.to_owned()
    }
}

/// Joins a (possibly relative) path onto an in-image directory.
pub(crate) fn join(dir: &str, path: &str) -> String {
    if path.starts_with('/') {
        normalize(path)
    } else {
        normalize(&format!("{dir}/{path}"))
    }
}

#[cfg(test)]
mod tests {
    use super::{Image, Node, Notice, Tree};

    struct Empty;

    impl Tree for Empty {
        fn lstat(&self, _: &str) -> std::io::Result<Node> {
            Ok(Node::Missing)
        }
        fn read(&self, _: &str) -> std::io::Result<Vec<u8>> {
            Ok(Vec::new())
        }
        fn read_dir(&self, _: &str) -> std::io::Result<Vec<String>> {
            Ok(Vec::new())
        }
        fn host_path(&self, path: &str) -> std::path::PathBuf {
            std::path::PathBuf::from(path)
        }
    }

    #[test]
    fn a_file_is_made_into_a_value_once() {
        let mut image = Image::new(Box::new(Empty));
        let a = image.files.add("a".to_owned(), None, b"x: 1", "/a".into());
        let b = image.files.add("b".to_owned(), None, b"y: 2", "/b".into());
        let mut made = 0;
        let mut len = |image: &mut Image, id| {
            image.memo(id, |f| {
                made += 1;
                f.text.len()
            })
        };
        assert_eq!(len(&mut image, a), 4);
        assert_eq!(len(&mut image, a), 4);
        assert_eq!(len(&mut image, b), 4);
        assert_eq!(made, 2);
        // Another result type of the same file is made of its own.
        assert_eq!(image.memo(a, |f| f.path.clone()), "a");
    }

    #[test]
    fn notices_tell_their_line() {
        let at = |m: &str| {
            Notice {
                path: "x".to_owned(),
                message: m.to_owned(),
            }
            .position()
        };
        assert_eq!(at("line 7: a drop-in"), Some((7, None)));
        assert_eq!(
            at("invalid YAML at 3:14: tab; refused"),
            Some((3, Some(14)))
        );
        assert_eq!(at("line 0: nothing"), None);
        assert_eq!(at("line x: nothing"), None);
        assert_eq!(at("lines 2-3: nothing"), None);
        assert_eq!(at("kubelet.service is masked"), None);
    }
}
