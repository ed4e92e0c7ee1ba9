//! Rewriting an archive with some entries patched, in one streaming pass:
//! every other logical entry (headers, PAX records, xattrs, long names,
//! links, devices, sparse maps, data and padding) and the end blocks are
//! copied byte for byte. A patched entry keeps its headers (names, mode,
//! owner, mtime, xattrs) with a new size and checksum; a PAX `size` record
//! is rewritten when present. The archive keeps its compression; gzip keeps
//! its header's name and mtime.
//!
//! A signal caught while rewriting ([`crate::interrupt`]) stops it at the
//! next write of output (every few KiB; the parallel gzip compressor also
//! checks between the blocks it writes): the temporary archive is removed
//! and the original stays as it was.
//!
//! The temporary archive is named and cleaned up as every file `fix`
//! writes ([`crate::sink`]): `.NAME.promready-PID` beside the output,
//! and those of processes that no longer run removed first. The archive it
//! replaces keeps its owner, mode and extended attributes; an archive named
//! through a symlink is replaced at its target. `-o` writes a new file or
//! replaces a regular one, nothing else (not a device, a FIFO, a directory
//! or a symlink).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use super::gzip::ParGzWriter;
use super::input::{Compression, detect, gzip_header, open};
use super::walk::{BLOCK, Walker, corrupt, resized_header, resized_pax};
use crate::sink as write;

/// The output stream, compressed like the input.
enum Out {
    Plain(BufWriter<File>),
    Gzip(ParGzWriter<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Out {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Out::Plain(w) => w,
            Out::Gzip(w) => w,
            Out::Zstd(w) => w,
        }
    }

    fn finish(self) -> io::Result<File> {
        let buffered = match self {
            Out::Plain(w) => w,
            Out::Gzip(w) => w.finish()?,
            Out::Zstd(w) => w.finish()?,
        };
        buffered
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
    }
}

/// Writes `input` with the entries numbered in `patches` (1-based, in
/// archive order) replaced, to `output` atomically (temp file beside it,
/// fsync, rename, fsync of the directory). `output` may be `input`. Once a
/// signal is caught it fails with [`crate::interrupt::Interrupted`] and
/// removes the temporary file, unless the rename had already happened.
pub(crate) fn rewrite(
    input: &Path,
    output: &Path,
    patches: &HashMap<usize, Vec<u8>>,
) -> io::Result<()> {
    let compression = detect(input)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not a tar archive"))?;
    let (output, replaced) = output_of(input, output)?;
    let dir = directory_of(&output);
    let name = output
        .file_name()
        .ok_or_else(|| io::Error::other("the output has no file name"))?
        .to_string_lossy()
        .into_owned();
    let dir_file = File::open(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open {}: {e}", dir.display())))?;
    write::remove_stale(&dir_file, &name);
    let tmp = dir.join(write::temp_name(&name));
    crate::interrupt::check()?;
    let result = (|| -> io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot create a temporary file in {}: {e}", dir.display()),
                )
            })?;
        let buffered = BufWriter::with_capacity(1 << 20, file);
        let mut out = match compression {
            Compression::None => Out::Plain(buffered),
            Compression::Gzip => {
                let h = gzip_header(input)?;
                Out::Gzip(ParGzWriter::new(buffered, 6, h.mtime, h.name.as_deref())?)
            }
            Compression::Zstd => {
                let mut e = zstd::stream::write::Encoder::new(buffered, 3)?;
                let threads =
                    std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
                if threads > 1 {
                    e.multithread(u32::try_from(threads).unwrap_or(1))?;
                }
                Out::Zstd(e)
            }
        };
        let mut walker = Walker::new(open(input, compression)?);
        copy_patched(&mut walker, &mut Stoppable(out.writer()), patches)?;
        let mut file = out.finish()?;
        // Zero padding after the last gzip member, as it was.
        io::copy(&mut io::repeat(0).take(walker.padding()), &mut file)?;
        // Owner, mode and xattrs last: writing clears setuid bits and
        // file capabilities.
        match &replaced {
            Some(original) => write::keep_identity(original, &file).map_err(|e| match e {
                write::WriteError::Io(e) => e,
                e => io::Error::other(e.to_string()),
            })?,
            None => {
                let perms = std::fs::metadata(input)?.permissions().mode() & 0o7777;
                file.set_permissions(std::fs::Permissions::from_mode(perms))?;
            }
        }
        crate::interrupt::check()?;
        file.sync_all()?;
        // The last moment to stop: after the rename the archive is written.
        crate::interrupt::check()?;
        std::fs::rename(&tmp, &output)?;
        dir_file.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The directory `path` is in.
fn directory_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Where the rewrite of `input` goes: `output`, or, when that is `input`
/// itself, the archive a symlink leads to. With the file it replaces, if
/// any, opened without following a symlink.
fn output_of(input: &Path, output: &Path) -> io::Result<(PathBuf, Option<File>)> {
    let output = if output == input {
        std::fs::canonicalize(input)?
    } else {
        output.to_path_buf()
    };
    let replaced = check_output(&output)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot write {}: {e}", output.display())))?;
    Ok((output, replaced))
}

/// Checks that `output` can take a fixed archive: a new name in a directory
/// that exists, or a regular file (which is given back, open). Anything
/// else is an error naming it: a device node, a FIFO, a socket, a
/// directory or a symlink is never replaced, nor a file with several hard
/// links.
pub(crate) fn check_output(output: &Path) -> io::Result<Option<File>> {
    let refuse = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is {what}, not a regular file"),
        )
    };
    let meta = match std::fs::symlink_metadata(output) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = directory_of(output);
            return match std::fs::metadata(dir) {
                Ok(m) if m.is_dir() => Ok(None),
                Ok(_) => Err(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("{} is not a directory", dir.display()),
                )),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("the directory {} does not exist", dir.display()),
                )),
                Err(e) => Err(io::Error::new(
                    e.kind(),
                    format!("cannot read the directory {}: {e}", dir.display()),
                )),
            };
        }
        Err(e) => return Err(e),
    };
    let what = |t: std::fs::FileType| {
        use std::os::unix::fs::FileTypeExt;
        if t.is_symlink() {
            "a symlink"
        } else if t.is_dir() {
            "a directory"
        } else if t.is_char_device() {
            "a character device"
        } else if t.is_block_device() {
            "a block device"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_socket() {
            "a socket"
        } else {
            "a special file"
        }
    };
    if !meta.file_type().is_file() {
        return Err(refuse(what(meta.file_type())));
    }
    // Opened without following a symlink and without waiting on a FIFO
    // swapped in meanwhile; then checked again.
    let file = File::from(
        rustix::fs::open(
            output,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io::Error::from)?,
    );
    let now = file.metadata()?;
    if !now.file_type().is_file() {
        return Err(refuse(what(now.file_type())));
    }
    // As for configuration files: a new file renamed over one of several
    // names would silently split them.
    if now.nlink() > 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "it has {} hard links; replacing it would break them, so it was left alone",
                now.nlink()
            ),
        ));
    }
    Ok(Some(file))
}

/// Fails every write once a signal has been caught, so that copying stops
/// within a few KiB of output (`io::copy` writes in chunks of 8 KiB).
struct Stoppable<'a>(&'a mut dyn Write);

impl Write for Stoppable<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        crate::interrupt::check()?;
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn copy_patched(
    walker: &mut Walker,
    out: &mut dyn Write,
    patches: &HashMap<usize, Vec<u8>>,
) -> io::Result<()> {
    let mut ordinal = 0;
    let mut applied = 0;
    while let Some(e) = walker.next()? {
        ordinal += 1;
        let Some(data) = patches.get(&ordinal) else {
            out.write_all(&e.raw)?;
            walker.copy_data(&e, out)?;
            continue;
        };
        if e.kind == b'S' || e.raw.len() > e.main + BLOCK as usize {
            return Err(corrupt(e.start, "refusing to patch a sparse entry"));
        }
        let size = data.len() as u64;
        match e.pax {
            Some(p) if e.pax_size => {
                out.write_all(&e.raw[..p])?;
                let header = &e.raw[p..p + BLOCK as usize];
                let records_len =
                    usize::try_from(tar::Header::from_byte_slice(header).entry_size()?)
                        .map_err(io::Error::other)?;
                let records = &e.raw[p + BLOCK as usize..p + BLOCK as usize + records_len];
                out.write_all(&resized_pax(header, records, size)?)?;
                let after_pax =
                    p + BLOCK as usize + records_len.div_ceil(BLOCK as usize) * BLOCK as usize;
                out.write_all(&e.raw[after_pax..e.main])?;
            }
            _ => out.write_all(&e.raw[..e.main])?,
        }
        out.write_all(&resized_header(e.main_header(), size))?;
        out.write_all(data)?;
        let pad = (size.div_ceil(BLOCK) * BLOCK - size) as usize;
        out.write_all(&vec![0u8; pad])?;
        walker.skip_data(&e)?;
        applied += 1;
    }
    walker.copy_rest(out)?;
    if applied != patches.len() {
        return Err(io::Error::other(
            "an entry to patch was not found on the second pass; the archive changed while promready ran",
        ));
    }
    Ok(())
}
