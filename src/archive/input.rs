//! Reading an archive: what it is (from its magic bytes) and its tar
//! stream, read with positioned reads from a plain archive or decompressed
//! a few chunks ahead on a thread of its own.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

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
pub(crate) fn gzip_header(path: &Path) -> io::Result<GzipHeader> {
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
pub(crate) fn open(path: &Path, compression: Compression) -> io::Result<Input> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let counted = super::progress::Progress::new(file, &name, len);
    Ok(match compression {
        Compression::None => Input::File(BufferedFile::new(File::open(path)?, len)),
        Compression::Gzip => Input::Stream(ReadAhead::spawn(
            super::decode::Members::new(BufReader::with_capacity(1 << 17, counted)),
            false,
        )),
        Compression::Zstd => {
            Input::Stream(ReadAhead::spawn(super::decode::Frames::new(counted)?, true))
        }
    })
}

/// What the decompression thread hands over.
enum Message {
    /// The next bytes (never none).
    Data(Vec<u8>),
    /// A zstd frame ended after the bytes so far.
    FrameEnd(super::decode::FrameEnd),
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
    verifier: Option<super::decode::Verifier>,
    chunk: Vec<u8>,
    at: usize,
    done: bool,
    /// Zero bytes after the compressed stream, once it ended.
    padding: u64,
}

impl ReadAhead {
    const CHUNK: usize = 256 * 1024;
    const AHEAD: usize = 4;

    pub(super) fn spawn(mut inner: impl super::decode::Decode, verify: bool) -> Self {
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
            verifier: verify.then(super::decode::Verifier::default),
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

/// A reader that can skip: on a file it reads large chunks and seeks over
/// data it does not need (most entries of a rootfs are small and share a
/// chunk); a stream is read through.
pub(crate) enum Input {
    File(BufferedFile),
    Stream(ReadAhead),
}

/// Reads smaller than this are small: headers, mostly.
const PAGE: usize = 4096;

/// A plain archive read with positioned reads, and data nobody needs never
/// read at all. Where entries are small (directories, links, small files),
/// the next header often lies in the same 4 KiB page: a small read there
/// fills a window up to the end of the page, which later small reads are
/// served from. Elsewhere a small read reads just what it asks for.
pub(crate) struct BufferedFile {
    file: std::fs::File,
    len: u64,
    pos: u64,
    window: Box<[u8; PAGE]>,
    /// The archive offset of `window`'s first byte.
    window_at: u64,
    /// How many bytes of `window` hold archive bytes.
    window_len: usize,
    /// The offset of the last small read.
    last_small: u64,
    /// How often, lately, a small read fell in the page of the one before,
    /// out of 256 (a moving average).
    density: u32,
}

/// The density from which small reads fill a window: a quarter. Filling
/// costs about a quarter of a read saved (measured), so below that the
/// copies cost more than the reads they save.
const DENSE: u32 = 64;

impl BufferedFile {
    pub(crate) fn new(file: std::fs::File, len: u64) -> Self {
        Self {
            file,
            len,
            pos: 0,
            window: Box::new([0; PAGE]),
            window_at: 0,
            window_len: 0,
            last_small: u64::MAX,
            density: 0,
        }
    }

    /// The offset of `pos` in the window, if the window holds it.
    fn in_window(&self) -> Option<usize> {
        let k = usize::try_from(self.pos.checked_sub(self.window_at)?).ok()?;
        (k < self.window_len).then_some(k)
    }

    /// Notes a small read at `pos`, and whether it fell in the page of the
    /// small read before (a read from the window does).
    fn note_small(&mut self, same_page: bool) {
        self.density = self.density - self.density / 8 + if same_page { 32 } else { 0 };
        self.last_small = self.pos;
    }

    /// The archive's length.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Positions the reader at absolute `offset`.
    pub(crate) fn seek_to(&mut self, offset: u64) {
        self.pos = offset;
    }

    fn skip(&mut self, n: u64) -> io::Result<()> {
        let target = self.pos + n;
        if target > self.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("archive ends inside an entry at byte {}", self.len),
            ));
        }
        self.pos = target;
        Ok(())
    }
}

impl Read for BufferedFile {
    /// Positioned reads go straight to the system call: the C library's
    /// `pread` also enters and leaves a thread cancellation point each
    /// time, which shows in a walk of tens of thousands of headers.
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.len() < PAGE {
            let in_window = self.in_window().is_some();
            let same_page = in_window || self.pos / PAGE as u64 == self.last_small / PAGE as u64;
            self.note_small(same_page);
            if !in_window && self.density >= DENSE {
                // Up to the end of the page, which holds at least what
                // was asked for: headers never straddle a page.
                let to_page_end = PAGE - (self.pos % PAGE as u64) as usize;
                let want = to_page_end.max(out.len());
                self.window_len =
                    rustix::io::pread(&self.file, &mut self.window[..want], self.pos)?;
                self.window_at = self.pos;
            }
        }
        let n = match self.in_window() {
            Some(k) => {
                let n = out.len().min(self.window_len - k);
                out[..n].copy_from_slice(&self.window[k..k + n]);
                n
            }
            None => rustix::io::pread(&self.file, out, self.pos)?,
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Input {
    pub(crate) fn skip(&mut self, n: u64) -> io::Result<()> {
        match self {
            Input::File(f) => f.skip(n),
            Input::Stream(r) => {
                if r.skip(n)? < n {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "archive ends inside an entry",
                    ));
                }
                Ok(())
            }
        }
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::File(f) => f.read(buf),
            Input::Stream(r) => r.read(buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{BufferedFile, ReadAhead};
    use crate::archive::decode::Checked;
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

    #[test]
    fn the_read_window_gives_the_bytes_at_the_offset_whatever_the_reads() {
        let bytes: Vec<u8> = (0..40_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let mut f = BufferedFile::new(file, bytes.len() as u64);
        // Dense headers (the window fills), then reads of every size at
        // offsets in and out of it, backwards too, and at the end.
        let mut script: Vec<(u64, usize)> = (0..40).map(|i| (i * 512, 512)).collect();
        script.push((20_480, 100));
        for (i, len) in [1, 100, 511, 512, 513, 4095, 4096, 9000]
            .into_iter()
            .enumerate()
        {
            let i = i as u64;
            script.extend([
                (20_480 + i * 700, len),
                (20_000 + i * 300, len),
                (3_000, len),
            ]);
        }
        script.extend([(39_990, 512), (40_000, 512), (39_999, 4096)]);
        let mut windowed = 0;
        for (at, len) in script {
            f.seek_to(at);
            windowed += usize::from(f.in_window().is_some());
            let mut got = vec![0; len];
            let n = f.read(&mut got).unwrap();
            let end = (at as usize + len).min(bytes.len());
            let want = bytes.get(at as usize..end).unwrap_or_default();
            assert!(n > 0 || want.is_empty(), "nothing read at {at}");
            assert_eq!(&got[..n], &want[..n], "at {at}, {len} bytes");
            assert_eq!(f.pos, at + n as u64);
        }
        assert!(windowed > 20, "the window served {windowed} reads");
    }
}
