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

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::gzip::ParGzWriter;
use super::walk::{BLOCK, Walker, corrupt, resized_header, resized_pax};
use super::{Compression, detect, gzip_header, open};

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
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = output
        .file_name()
        .ok_or_else(|| io::Error::other("the output has no file name"))?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{name}.promready-{}", std::process::id()));
    crate::interrupt::check()?;
    let result = (|| -> io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        let perms = std::fs::metadata(input)?.permissions().mode() & 0o7777;
        file.set_permissions(std::fs::Permissions::from_mode(perms))?;
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
        crate::interrupt::check()?;
        file.sync_all()?;
        // The last moment to stop: after the rename the archive is written.
        crate::interrupt::check()?;
        std::fs::rename(&tmp, output)?;
        File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
