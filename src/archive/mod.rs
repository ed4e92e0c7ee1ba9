//! Rootfs tarballs: `.tar`, `.tar.gz` and `.tar.zst`, recognised by their
//! magic bytes. Scanning indexes the archive in one streaming pass and keeps
//! only candidate configuration files in memory; fixing rewrites it in one
//! pass, copying every unchanged entry byte for byte.

mod decode;
mod gzip;
mod paths;
pub(crate) mod progress;
mod rewrite;
mod tree;
pub(crate) mod walk;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

pub(crate) use rewrite::{check_output, rewrite};
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
        Compression::Gzip => walk::Input::Stream(ReadAhead::spawn(
            decode::Members::new(BufReader::with_capacity(1 << 17, counted)),
            false,
        )),
        Compression::Zstd => {
            walk::Input::Stream(ReadAhead::spawn(decode::Frames::new(counted)?, true))
        }
    })
}

/// What the decompression thread hands over.
enum Message {
    /// The next bytes (never none).
    Data(Vec<u8>),
    /// A zstd frame ended after the bytes so far.
    FrameEnd(decode::FrameEnd),
    /// The stream was read and verified to its end, which this many zero
    /// bytes followed.
    End(u64),
}

/// Decompresses on a thread of its own, a few chunks ahead of the reader,
/// so that walking the entries overlaps with inflating them. Chunks the
/// reader is done with go back to the thread to be filled again. zstd
/// content checksums are computed here, on the reading side. The end of the
/// stream is only reported once the decoder has verified all of it.
pub(crate) struct ReadAhead {
    messages: std::sync::mpsc::Receiver<io::Result<Message>>,
    spent: std::sync::mpsc::SyncSender<Vec<u8>>,
    verifier: Option<decode::Verifier>,
    chunk: Vec<u8>,
    at: usize,
    done: bool,
    /// Zero bytes after the compressed stream, once it ended.
    padding: u64,
}

impl ReadAhead {
    const CHUNK: usize = 256 * 1024;
    const AHEAD: usize = 4;

    fn spawn(mut inner: impl decode::Decode, verify: bool) -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel(Self::AHEAD);
        let (returns, recycled) = std::sync::mpsc::sync_channel::<Vec<u8>>(Self::AHEAD + 2);
        std::thread::spawn(move || {
            // A failed send means the reader has stopped early.
            let mut buf = Vec::new();
            let mut filled = 0;
            loop {
                if buf.is_empty() {
                    buf = recycled.try_recv().unwrap_or_default();
                    buf.resize(Self::CHUNK, 0);
                    filled = 0;
                }
                let step = match inner.decode(&mut buf[filled..]) {
                    Ok(step) => step,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        // The bytes before the error first, then the error.
                        buf.truncate(filled);
                        if filled > 0 && tx.send(Ok(Message::Data(buf))).is_err() {
                            return;
                        }
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                filled += step.written;
                let end = step.written == 0 && step.frame_end.is_none();
                if filled > 0 && (filled == buf.len() || end || step.frame_end.is_some()) {
                    buf.truncate(filled);
                    if tx
                        .send(Ok(Message::Data(std::mem::take(&mut buf))))
                        .is_err()
                    {
                        return;
                    }
                }
                if let Some(end) = step.frame_end
                    && tx.send(Ok(Message::FrameEnd(end))).is_err()
                {
                    return;
                }
                if end {
                    let _ = tx.send(Ok(Message::End(step.padding)));
                    return;
                }
            }
        });
        Self {
            messages: rx,
            spent: returns,
            verifier: verify.then(decode::Verifier::default),
            chunk: Vec::new(),
            at: 0,
            done: false,
            padding: 0,
        }
    }

    /// How many zero bytes followed the compressed stream; known once it
    /// was read to its end.
    pub(crate) fn padding(&self) -> u64 {
        self.padding
    }

    /// Makes sure unread bytes are at hand; false at the end of the stream.
    fn fill(&mut self) -> io::Result<bool> {
        while self.at == self.chunk.len() {
            if self.done {
                return Ok(false);
            }
            let error = match self.messages.recv() {
                Ok(Ok(Message::Data(chunk))) => {
                    if let Some(v) = &mut self.verifier {
                        v.update(&chunk);
                    }
                    let old = std::mem::replace(&mut self.chunk, chunk);
                    // The thread may have ended; the chunk is then dropped.
                    let _ = self.spent.try_send(old);
                    self.at = 0;
                    continue;
                }
                Ok(Ok(Message::FrameEnd(end))) => {
                    match self.verifier.as_mut().map(|v| v.frame_end(&end)) {
                        Some(Err(e)) => e,
                        _ => continue,
                    }
                }
                Ok(Ok(Message::End(padding))) => {
                    self.padding = padding;
                    self.done = true;
                    continue;
                }
                Ok(Err(e)) => e,
                Err(_) => io::Error::other("the decompression thread stopped"),
            };
            self.done = true;
            return Err(error);
        }
        Ok(true)
    }

    /// Skips up to `n` bytes without copying them; returns how many were
    /// skipped (fewer only at the end of the stream).
    pub(crate) fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut left = n;
        while left > 0 && self.fill()? {
            let step = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(self.chunk.len() - self.at);
            self.at += step;
            left -= step as u64;
        }
        Ok(n - left)
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if !self.fill()? {
            return Ok(0);
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::ReadAhead;
    use super::decode::Checked;
    use std::io::{self, Read};

    /// Yields `len` bytes counting up, then fails (or ends).
    struct Source {
        len: usize,
        at: usize,
        fail: bool,
    }

    impl Read for Source {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.at == self.len {
                return if self.fail {
                    Err(io::Error::new(io::ErrorKind::InvalidData, "corrupt"))
                } else {
                    Ok(0)
                };
            }
            // Short reads of odd sizes, as decoders give.
            let n = out.len().min(self.len - self.at).min(7919);
            for (i, b) in out[..n].iter_mut().enumerate() {
                *b = ((self.at + i) % 251) as u8;
            }
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn read_ahead_passes_every_byte_in_order() {
        let len = ReadAhead::CHUNK * 3 + 12345;
        let mut out = Vec::new();
        ReadAhead::spawn(
            Checked(Source {
                len,
                at: 0,
                fail: false,
            }),
            false,
        )
        .read_to_end(&mut out)
        .unwrap();
        assert_eq!(out.len(), len);
        assert!(out.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    }

    #[test]
    fn read_ahead_skips_across_chunks_and_stops_at_the_end() {
        let len = ReadAhead::CHUNK * 3 + 12345;
        let mut r = ReadAhead::spawn(
            Checked(Source {
                len,
                at: 0,
                fail: false,
            }),
            false,
        );
        let mut b = [0u8; 3];
        r.read_exact(&mut b).unwrap();
        let skip = ReadAhead::CHUNK as u64 * 2 + 100;
        assert_eq!(r.skip(skip).unwrap(), skip);
        r.read_exact(&mut b).unwrap();
        let at = 3 + ReadAhead::CHUNK * 2 + 100;
        assert_eq!(b, [0, 1, 2].map(|i| ((at + i) % 251) as u8));
        let left = (len - at - 3) as u64;
        assert_eq!(r.skip(u64::MAX).unwrap(), left);
        assert_eq!(r.read(&mut b).unwrap(), 0);
    }

    #[test]
    fn read_ahead_delivers_the_bytes_before_an_error_then_the_error() {
        let len = ReadAhead::CHUNK + 100;
        let mut r = ReadAhead::spawn(
            Checked(Source {
                len,
                at: 0,
                fail: true,
            }),
            false,
        );
        let mut got = vec![0u8; len];
        r.read_exact(&mut got).unwrap();
        let err = r.read(&mut [0u8; 16]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    /// An endless source that records when it is dropped.
    struct Endless(std::sync::Arc<std::sync::atomic::AtomicBool>);

    impl Read for Endless {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            out.fill(1);
            Ok(out.len())
        }
    }

    impl Drop for Endless {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn read_ahead_thread_ends_when_the_reader_is_dropped() {
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut r = ReadAhead::spawn(Checked(Endless(dropped.clone())), false);
        let mut first = [0u8; 10];
        r.read_exact(&mut first).unwrap();
        drop(r);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !dropped.load(std::sync::atomic::Ordering::SeqCst) {
            assert!(
                std::time::Instant::now() < deadline,
                "the decompression thread kept running"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
