//! Rootfs tarballs: `.tar`, `.tar.gz` and `.tar.zst`, recognised by their
//! magic bytes. Scanning indexes the archive in one streaming pass and keeps
//! only candidate configuration files in memory; fixing rewrites it in one
//! pass, copying every unchanged entry byte for byte.

mod gzip;
pub(crate) mod progress;
mod rewrite;
mod tree;
pub(crate) mod walk;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

pub(crate) use rewrite::rewrite;
pub(crate) use tree::{TarIndex, TarTree};

/// How an archive is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Zstd,
}

/// What a file holds, from its first bytes.
pub(crate) fn detect(path: &Path) -> io::Result<Option<Compression>> {
    let mut head = [0u8; 512];
    let mut f = File::open(path)?;
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    let head = &head[..got];
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Some(Compression::Gzip));
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Ok(Some(Compression::Zstd));
    }
    if got == 512 && &head[257..262] == b"ustar" {
        return Ok(Some(Compression::None));
    }
    Ok(None)
}

/// The gzip header fields a rewrite keeps.
#[derive(Debug, Clone, Default)]
pub(crate) struct GzipHeader {
    pub(crate) mtime: u32,
    pub(crate) name: Option<Vec<u8>>,
}

/// Reads the gzip header of `path`.
fn gzip_header(path: &Path) -> io::Result<GzipHeader> {
    let mut d = flate2::read::GzDecoder::new(BufReader::new(File::open(path)?));
    let mut b = [0u8; 1];
    let _ = d.read(&mut b)?;
    Ok(d.header()
        .map(|h| GzipHeader {
            mtime: h.mtime(),
            name: h.filename().map(<[u8]>::to_vec),
        })
        .unwrap_or_default())
}

/// The uncompressed tar stream of `path`.
pub(crate) fn open(path: &Path, compression: Compression) -> io::Result<walk::Input> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let counted = progress::Progress::new(file, &name, len);
    Ok(match compression {
        Compression::None => walk::Input::File(walk::BufferedFile::new(File::open(path)?, len)),
        Compression::Gzip => walk::Input::Stream(Box::new(ReadAhead::spawn(
            flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 17, counted)),
        ))),
        Compression::Zstd => walk::Input::Stream(Box::new(ReadAhead::spawn(
            zstd::stream::read::Decoder::new(counted)?,
        ))),
    })
}

/// Decompresses on a thread of its own, a few chunks ahead of the reader,
/// so that walking the entries overlaps with inflating them.
struct ReadAhead {
    chunks: std::sync::mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
    done: bool,
}

impl ReadAhead {
    const CHUNK: usize = 256 * 1024;
    const AHEAD: usize = 4;

    fn spawn(mut inner: impl Read + Send + 'static) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel(Self::AHEAD);
        std::thread::spawn(move || {
            loop {
                let mut buf = vec![0u8; Self::CHUNK];
                let mut filled = 0;
                let result = loop {
                    match inner.read(&mut buf[filled..]) {
                        Ok(0) => break Ok(()),
                        Ok(n) => {
                            filled += n;
                            if filled == buf.len() {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                buf.truncate(filled);
                let end = filled == 0;
                let sent = match result {
                    Ok(()) => tx.send(Ok(buf)),
                    Err(e) => {
                        // The bytes before the error first, then the error.
                        if filled > 0 && tx.send(Ok(buf)).is_err() {
                            return;
                        }
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                // A closed channel means the reader has stopped early.
                if sent.is_err() || end {
                    return;
                }
            }
        });
        Self {
            chunks: rx,
            chunk: Vec::new(),
            at: 0,
            done: false,
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            match self.chunks.recv() {
                Ok(Ok(chunk)) => {
                    self.done = chunk.is_empty();
                    self.chunk = chunk;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other("the decompression thread stopped"));
                }
            }
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
