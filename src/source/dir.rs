//! An unpacked rootfs directory on the host.
//!
//! Every in-image path maps below the root directory. Reads open the
//! already-resolved path with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS)`
//! relative to a descriptor of the root, so a symlink swapped in after
//! resolution cannot make promready read outside the image.

use std::fs;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{Mode, OFlags, ResolveFlags};

use super::{MAX_FILE_SIZE, Node, Overlay, Tree};

pub(crate) struct DirTree {
    root: PathBuf,
    root_fd: OwnedFd,
    overlay: Arc<Overlay>,
}

impl DirTree {
    /// Opens a rootfs; files in `overlay` (keyed by host path) are read from
    /// it instead of the disk, so `fix` can check its edits before writing.
    pub(crate) fn open(root: &Path, overlay: Arc<Overlay>) -> io::Result<Self> {
        let root_fd = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Self {
            root: root.to_path_buf(),
            root_fd,
            overlay,
        })
    }

    fn host(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    fn open_file(&self, path: &str) -> io::Result<fs::File> {
        let rel = match path.trim_start_matches('/') {
            "" => ".",
            p => p,
        };
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
        let fd = match rustix::fs::openat2(
            &self.root_fd,
            rel,
            flags,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => fd,
            // Kernels before 5.6, or sandboxes that filter openat2: the path
            // was resolved component by component already, so refusing a
            // final symlink is enough.
            Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => {
                rustix::fs::openat(&self.root_fd, rel, flags | OFlags::NOFOLLOW, Mode::empty())?
            }
            Err(e) => return Err(e.into()),
        };
        Ok(fs::File::from(fd))
    }
}

impl Tree for DirTree {
    fn lstat(&self, path: &str) -> io::Result<Node> {
        let meta = fs::symlink_metadata(self.host(path))?;
        if meta.is_file()
            && let Some(bytes) = self.overlay.get(&self.host(path))
        {
            return Ok(Node::File {
                size: bytes.len() as u64,
            });
        }
        let ft = meta.file_type();
        Ok(if ft.is_symlink() {
            let target = fs::read_link(self.host(path))?;
            Node::Symlink(target.to_string_lossy().into_owned())
        } else if ft.is_dir() {
            Node::Dir
        } else if ft.is_file() {
            Node::File { size: meta.len() }
        } else {
            // Devices, FIFOs and sockets are never read.
            Node::Other
        })
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        if let Some(bytes) = self.overlay.get(&self.host(path)) {
            return Ok(bytes.clone());
        }
        let file = self.open_file(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a regular file",
            ));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).min(1 << 20));
        file.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_FILE_SIZE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("file grew over the {MAX_FILE_SIZE}-byte limit while being read"),
            ));
        }
        Ok(bytes)
    }

    fn read_dir(&self, path: &str) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(self.host(path))? {
            let entry = entry?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    fn host_path(&self, path: &str) -> PathBuf {
        self.host(path)
    }

    fn stamps(&self, path: &str) -> io::Result<Vec<String>> {
        if let Some(bytes) = self.overlay.get(&self.host(path)) {
            return Ok(super::stamp::of(bytes));
        }
        let mut file = self.open_file(path)?;
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a regular file",
            ));
        }
        let mut scanner = super::stamp::Scanner::default();
        io::copy(&mut file, &mut scanner)?;
        Ok(scanner.finish())
    }
}
