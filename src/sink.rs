//! Where bytes go: replacing a file atomically, keeping what makes it the same file to the
//! system: mode, owner, extended attributes (`security.selinux`, ACLs).
//!
//! temp file beside it (`O_EXCL`) → write → owner, then mode (chown clears
//! setuid bits) → xattrs → fsync → rename over the original → fsync the
//! directory. On any error, and when a signal stops `fix` before the rename
//! ([`crate::interrupt`]), the temp file is removed and the original is
//! untouched. Inside a rootfs the directory is opened with
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS)`, so no symlink can lead
//! the write outside the image. A file named on the command line through a
//! symlink is replaced at its target, and the link stays a link.
//!
//! The temp file of `NAME` is `.NAME.promready-PID`, PID being the writing
//! process's. Before writing, the temp files of `NAME` left by processes
//! that no longer run (killed with SIGKILL, or by a crash) are removed;
//! those of running processes are left alone, so that two runs at once do
//! not remove each other's. The same holds for archives
//! ([`crate::archive::rewrite`]) and for report files ([`write_report`]).

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt, fchown};
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags, XattrFlags};

/// Where a file lives: below an image root (resolved inside it) or on the host.
pub(crate) enum Place<'a> {
    InRoot { root: &'a Path, rel: &'a Path },
    Host(&'a Path),
}

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    #[error("it has {0} hard links; replacing it would break them, so it was left alone")]
    HardLinked(u64),
    #[error("it is not a regular file")]
    NotRegular,
    #[error("{0}")]
    Interrupted(#[from] crate::interrupt::Interrupted),
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl From<rustix::io::Errno> for WriteError {
    fn from(e: rustix::io::Errno) -> Self {
        WriteError::Io(e.into())
    }
}

fn open_dir(place: &Place<'_>) -> Result<(OwnedFd, String), WriteError> {
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let (dir, name) = match place {
        Place::InRoot { root, rel } => {
            let root_fd = rustix::fs::open(*root, dir_flags, Mode::empty())?;
            let parent = rel
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let fd = match rustix::fs::openat2(
                &root_fd,
                parent,
                dir_flags,
                Mode::empty(),
                ResolveFlags::IN_ROOT | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
            ) {
                Ok(fd) => fd,
                Err(rustix::io::Errno::NOSYS | rustix::io::Errno::PERM) => rustix::fs::openat(
                    &root_fd,
                    parent,
                    dir_flags | OFlags::NOFOLLOW,
                    Mode::empty(),
                )?,
                Err(e) => return Err(e.into()),
            };
            (fd, rel.file_name())
        }
        Place::Host(path) => {
            // Through a symlink, the file is its target.
            let target = if path.is_symlink() {
                std::fs::canonicalize(path)?
            } else {
                path.to_path_buf()
            };
            let parent = target
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let dir = rustix::fs::open(parent, dir_flags, Mode::empty())?;
            let name = target
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or(WriteError::NotRegular)?
                .to_owned();
            return Ok((dir, name));
        }
    };
    let name = name
        .and_then(|n| n.to_str())
        .ok_or(WriteError::NotRegular)?
        .to_owned();
    Ok((dir, name))
}

/// Checks that the file can be replaced without losing anything.
pub(crate) fn check(place: &Place<'_>) -> Result<(), WriteError> {
    let (dir, name) = open_dir(place)?;
    let st = rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(WriteError::NotRegular);
    }
    if st.st_nlink > 1 {
        return Err(WriteError::HardLinked(st.st_nlink as u64));
    }
    Ok(())
}

/// Replaces the file's content atomically.
pub(crate) fn replace(place: &Place<'_>, bytes: &[u8]) -> Result<(), WriteError> {
    crate::interrupt::check()?;
    check(place)?;
    let (dir, name) = open_dir(place)?;
    let original = File::from(rustix::fs::openat(
        &dir,
        name.as_str(),
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?);
    let tmp_name = temp_name(&name);
    remove_stale(&dir, &name);
    let tmp = rustix::fs::openat(
        &dir,
        tmp_name.as_str(),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    let result = (|| -> Result<(), WriteError> {
        let mut file = File::from(tmp);
        file.write_all(bytes)?;
        keep_identity(&original, &file)?;
        crate::interrupt::check()?;
        file.sync_all()?;
        fault_delay();
        // The last moment to stop: after the rename the file is written.
        crate::interrupt::check()?;
        rustix::fs::renameat(&dir, tmp_name.as_str(), &dir, name.as_str())?;
        rustix::fs::fsync(&dir)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = rustix::fs::unlinkat(&dir, tmp_name.as_str(), AtFlags::empty());
    }
    result
}

/// The name of this process's temp file for replacing `name`.
pub(crate) fn temp_name(name: &str) -> String {
    format!(".{name}.promready-{}", std::process::id())
}

/// Removes the temp files of `name` (`.NAME.promready-PID`) in `dir` that
/// processes which no longer run left behind. One of a running process is
/// its write in progress, and stays. This process has none yet, so one
/// carrying its PID is a dead process's.
pub(crate) fn remove_stale(dir: &impl AsFd, name: &str) {
    let prefix = format!(".{name}.promready-");
    let Ok(dup) = rustix::io::dup(dir) else {
        return;
    };
    let Ok(entries) = rustix::fs::Dir::new(dup) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let pid = file
            .strip_prefix(&prefix)
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && !runs(pid)
        {
            let _ = rustix::fs::unlinkat(dir, file.as_str(), AtFlags::empty());
        }
    }
}

/// Whether process `pid` runs (in this PID namespace), other than this
/// one. Without `/proc` nothing can be told, and every process counts as
/// running.
fn runs(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    !Path::new("/proc/self").exists() || Path::new(&format!("/proc/{pid}")).exists()
}

/// Gives `to` the owner, mode and extended attributes of `original`:
/// owner first, as chown clears setuid bits.
pub(crate) fn keep_identity(original: &File, to: &File) -> Result<(), WriteError> {
    let meta = original.metadata()?;
    fchown(to, Some(meta.uid()), Some(meta.gid()))?;
    to.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    copy_xattrs(original, to)
}

/// A pause between writing the temp file and renaming it, for tests that
/// kill or interrupt `fix` mid-write (`PROMREADY_TEST_WRITE_DELAY_MS`); a
/// signal cuts it short.
fn fault_delay() {
    if let Some(ms) = std::env::var("PROMREADY_TEST_WRITE_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        crate::interrupt::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Copies every extended attribute (`security.selinux` labels, ACLs, file
/// capabilities).
fn copy_xattrs(from: &File, to: &File) -> Result<(), WriteError> {
    let size = match rustix::fs::flistxattr_query(from.as_fd()) {
        Ok(n) => n,
        Err(rustix::io::Errno::NOTSUP) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if size == 0 {
        return Ok(());
    }
    let mut list = vec![0u8; size];
    let n = rustix::fs::flistxattr(from.as_fd(), &mut list[..])?;
    for name in list[..n].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = std::ffi::CString::new(name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let len = rustix::fs::fgetxattr_query(from.as_fd(), name.as_c_str())?;
        let mut value = vec![0u8; len];
        let got = rustix::fs::fgetxattr(from.as_fd(), name.as_c_str(), &mut value[..])?;
        rustix::fs::fsetxattr(
            to.as_fd(),
            name.as_c_str(),
            &value[..got],
            XattrFlags::empty(),
        )?;
    }
    Ok(())
}

/// Writes a report to `path` (`scan -o FILE`, `--sarif-file FILE`) through
/// a temporary file in the same directory, renamed over it: a reader never
/// sees half a report, and a symbolic link or a special file (a FIFO, a
/// device) at `path` is refused rather than written through.
pub(crate) fn write_report(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let refuse = |why: &str| Err(std::io::Error::other(why.to_owned()));
    let mode = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            return refuse("it is a symbolic link; promready does not write through links");
        }
        Ok(m) if !m.is_file() => {
            return refuse("it is not a regular file; promready writes reports only to files");
        }
        Ok(m) => Some(m.permissions().mode() & 0o7777),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let temp = dir.join(temp_name(&name.to_string_lossy()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits().cast_signed())
            .mode(mode.unwrap_or(0o666))
            .open(&temp)?;
        if let Some(mode) = mode {
            f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.conf");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        replace(&Place::Host(&path), b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o640);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temp file left: {names:?}");
    }

    #[test]
    fn refuses_hard_links_and_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, "x").unwrap();
        std::fs::hard_link(&path, dir.path().join("b")).unwrap();
        assert!(matches!(
            replace(&Place::Host(&path), b"y"),
            Err(WriteError::HardLinked(2))
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
        // A symlinked directory inside a root is not followed.
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::os::unix::fs::symlink("/tmp", root.join("link")).unwrap();
        let rel = Path::new("link/x");
        assert!(replace(&Place::InRoot { root: &root, rel }, b"y").is_err());
    }
}
