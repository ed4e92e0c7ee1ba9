//! Decoders for the read-ahead thread. Each reads its stream to the very
//! end and verifies all of it, whatever the tar walk needs: gzip members
//! against their trailers, and what follows the last member; zstd frames up
//! to the last, with nothing after it.
//!
//! A zstd frame ends with the low 32 bits of the XXH64 of its content. The
//! library checks it on the decompression thread, which is the bottleneck of
//! a scan; here the decoder skips that check and reports where each frame
//! ends and what checksum it carries, and the reader (see
//! [`super::input::ReadAhead`]) hashes the content on the other core.

use std::io::{self, BufRead, Read};

use zstd::zstd_safe::{DCtx, DParameter, InBuffer, OutBuffer};

/// What one call to a decoder produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Step {
    /// Bytes written to the output; 0 with no frame end is the end of the stream.
    pub(crate) written: usize,
    /// A frame ended right after those bytes.
    pub(crate) frame_end: Option<FrameEnd>,
    /// At the end of the stream: how many zero bytes followed it (padding,
    /// which a rewrite keeps).
    pub(crate) padding: u64,
}

/// The end of a zstd frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FrameEnd {
    /// The checksum the frame's content must have, if it carries one.
    pub(crate) checksum: Option<u32>,
    /// Where the frame starts in the file.
    pub(crate) at: u64,
}

/// A decompressor run by the read-ahead thread.
pub(crate) trait Decode: Send + 'static {
    fn decode(&mut self, out: &mut [u8]) -> io::Result<Step>;
}

/// Any reader, as a decoder (for tests of the read-ahead thread).
#[cfg(test)]
pub(crate) struct Checked<R>(pub(crate) R);

#[cfg(test)]
impl<R: Read + Send + 'static> Decode for Checked<R> {
    fn decode(&mut self, out: &mut [u8]) -> io::Result<Step> {
        Ok(Step {
            written: self.0.read(out)?,
            ..Step::default()
        })
    }
}

/// Where a gzip decoder is in its stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Before a member's header, or after the last member.
    Header,
    /// In a member's compressed data.
    Body,
    /// Before a member's trailer: CRC32 and length of its content.
    Trailer,
    /// Past the last member (and its padding).
    End,
}

/// The header flags of a gzip member (RFC 1952, 2.3.1).
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const RESERVED: u8 = 0xe0;

/// gzip members one after the other (as `cat a.gz b.gz` makes them), each
/// verified against its trailer: the CRC32 and the length (mod 2^32) of its
/// content. After the last member there may be zero bytes (padding, which
/// gzip and tar accept, to the end of the file) and nothing else.
pub(crate) struct Members<R> {
    src: R,
    part: Part,
    inflate: flate2::Decompress,
    crc: crc32fast::Hasher,
    /// Bytes of the current member's content.
    len: u64,
    /// The current member, from 1.
    member: u64,
    /// Compressed bytes consumed: the offset in the file.
    at: u64,
    /// Where the current member starts.
    member_at: u64,
    /// Zero bytes after the last member.
    padding: u64,
}

impl<R: BufRead> Members<R> {
    pub(crate) fn new(src: R) -> Self {
        Self {
            src,
            part: Part::Header,
            inflate: flate2::Decompress::new(false),
            crc: crc32fast::Hasher::new(),
            len: 0,
            member: 0,
            at: 0,
            member_at: 0,
            padding: 0,
        }
    }

    fn consume(&mut self, n: usize) {
        self.src.consume(n);
        self.at += n as u64;
    }

    /// Fills `buf` from the stream, adding what it read to `header` (for
    /// its CRC); an error naming `what` if the stream ends first.
    fn exact(
        &mut self,
        buf: &mut [u8],
        header: &mut crc32fast::Hasher,
        what: &str,
    ) -> io::Result<()> {
        if self.up_to(buf)? < buf.len() {
            return Err(self.cut(what));
        }
        header.update(buf);
        Ok(())
    }

    /// Fills `buf` from the stream; fewer bytes only at its end.
    fn up_to(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut got = 0;
        while got < buf.len() {
            let available = self.src.fill_buf()?;
            if available.is_empty() {
                break;
            }
            let n = available.len().min(buf.len() - got);
            buf[got..got + n].copy_from_slice(&available[..n]);
            self.consume(n);
            got += n;
        }
        Ok(got)
    }

    /// Skips a zero-terminated header field.
    fn skip_string(&mut self, header: &mut crc32fast::Hasher, what: &str) -> io::Result<()> {
        loop {
            let available = self.src.fill_buf()?;
            if available.is_empty() {
                return Err(self.cut(what));
            }
            let (n, done) = match available.iter().position(|&b| b == 0) {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            header.update(&available[..n]);
            self.consume(n);
            if done {
                return Ok(());
            }
        }
    }

    /// What is wrong with the current member.
    fn error(&self, kind: io::ErrorKind, what: &str) -> io::Error {
        io::Error::new(
            kind,
            format!(
                "gzip: member {} (from byte {}): {what}",
                self.member, self.member_at
            ),
        )
    }

    fn cut(&self, what: &str) -> io::Error {
        self.error(
            io::ErrorKind::UnexpectedEof,
            &format!("the stream ends inside {what} at byte {}", self.at),
        )
    }

    fn invalid(&self, what: &str) -> io::Error {
        self.error(io::ErrorKind::InvalidData, what)
    }

    /// After a member: true at the end of the file, which zero bytes (and
    /// only zero bytes) may come before; false before the next member.
    fn end_or_padding(&mut self) -> io::Result<bool> {
        let start = self.at;
        loop {
            let available = self.src.fill_buf()?;
            if available.is_empty() {
                return Ok(true);
            }
            let zeros = available.iter().take_while(|&&b| b == 0).count();
            if zeros < available.len() {
                // The next member, unless zero bytes came first.
                return if self.at == start && zeros == 0 {
                    Ok(false)
                } else {
                    Err(trailing("gzip", start))
                };
            }
            self.padding += zeros as u64;
            self.consume(zeros);
        }
    }

    /// Reads the next member's header; false at the end of the stream.
    fn header(&mut self) -> io::Result<bool> {
        if self.member > 0 && self.end_or_padding()? {
            return Ok(false);
        }
        let start = self.at;
        self.member += 1;
        self.member_at = start;
        let mut crc = crc32fast::Hasher::new();
        // The magic first: anything else after a member is trailing data.
        let mut magic = [0u8; 2];
        if self.up_to(&mut magic)? < 2 || magic != [0x1f, 0x8b] {
            return Err(if self.member > 1 {
                trailing("gzip", start)
            } else {
                self.invalid("not a gzip header")
            });
        }
        crc.update(&magic);
        let mut fixed = [0u8; 8];
        self.exact(&mut fixed, &mut crc, "the header")?;
        let [method, flags, ..] = fixed;
        if method != 8 {
            return Err(self.invalid(&format!("unknown compression method {method}")));
        }
        if flags & RESERVED != 0 {
            return Err(self.invalid("reserved header flags set"));
        }
        if flags & FEXTRA != 0 {
            let mut xlen = [0u8; 2];
            self.exact(&mut xlen, &mut crc, "the header's extra field")?;
            let mut left = usize::from(u16::from_le_bytes(xlen));
            let mut scratch = [0u8; 256];
            while left > 0 {
                let n = left.min(scratch.len());
                self.exact(&mut scratch[..n], &mut crc, "the header's extra field")?;
                left -= n;
            }
        }
        if flags & FNAME != 0 {
            self.skip_string(&mut crc, "the header's file name")?;
        }
        if flags & FCOMMENT != 0 {
            self.skip_string(&mut crc, "the header's comment")?;
        }
        if flags & FHCRC != 0 {
            let want = crc.clone().finalize() as u16;
            let mut got = [0u8; 2];
            self.exact(&mut got, &mut crc, "the header")?;
            if u16::from_le_bytes(got) != want {
                return Err(self.invalid("header CRC16 mismatch"));
            }
        }
        self.inflate.reset(false);
        self.crc = crc32fast::Hasher::new();
        self.len = 0;
        Ok(true)
    }

    /// Reads the member's trailer and checks the content against it.
    fn trailer(&mut self) -> io::Result<()> {
        let mut t = [0u8; 8];
        self.exact(
            &mut t,
            &mut crc32fast::Hasher::new(),
            "its trailer (CRC32 and length)",
        )?;
        let want_crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let want_len = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        let got_crc = std::mem::replace(&mut self.crc, crc32fast::Hasher::new()).finalize();
        if got_crc != want_crc {
            return Err(self.invalid(&format!(
                "CRC32 mismatch: the trailer says {want_crc:08x}, the content has {got_crc:08x}"
            )));
        }
        let got_len = (self.len & 0xffff_ffff) as u32;
        if got_len != want_len {
            return Err(self.invalid(&format!(
                "length mismatch: the trailer says {want_len} bytes (mod 2^32), the content has {got_len}"
            )));
        }
        Ok(())
    }

    /// Inflates into `out`: bytes written, 0 only once the member's data ends.
    fn body(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            let input = self.src.fill_buf()?;
            let eof = input.is_empty();
            let (before_in, before_out) = (self.inflate.total_in(), self.inflate.total_out());
            let status = self
                .inflate
                .decompress(input, out, flate2::FlushDecompress::None)
                .map_err(|e| self.invalid(&format!("corrupt compressed data ({e})")))?;
            let used = usize::try_from(self.inflate.total_in() - before_in).unwrap_or(0);
            let written = usize::try_from(self.inflate.total_out() - before_out).unwrap_or(0);
            self.consume(used);
            self.crc.update(&out[..written]);
            self.len += written as u64;
            if status == flate2::Status::StreamEnd {
                self.part = Part::Trailer;
                return Ok(written);
            }
            if written > 0 {
                return Ok(written);
            }
            if used == 0 {
                return Err(if eof {
                    self.cut("the compressed data")
                } else {
                    self.invalid("the compressed data does not progress")
                });
            }
        }
    }
}

/// Bytes after the end of a `format` stream that are not allowed there.
fn trailing(format: &str, at: u64) -> io::Error {
    let allowed = match format {
        "gzip" => "only zero bytes may follow the last member",
        _ => "nothing may follow the last frame, not even zero bytes",
    };
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{format}: trailing data after the stream at byte {at} ({allowed})"),
    )
}

impl<R: BufRead + Send + 'static> Decode for Members<R> {
    fn decode(&mut self, out: &mut [u8]) -> io::Result<Step> {
        loop {
            match self.part {
                Part::Header => {
                    self.part = if self.header()? {
                        Part::Body
                    } else {
                        Part::End
                    };
                }
                Part::Body => {
                    let written = self.body(out)?;
                    if written > 0 {
                        return Ok(Step {
                            written,
                            ..Step::default()
                        });
                    }
                }
                Part::Trailer => {
                    self.trailer()?;
                    self.part = Part::Header;
                }
                Part::End => {
                    return Ok(Step {
                        padding: self.padding,
                        ..Step::default()
                    });
                }
            }
        }
    }
}

const MAGIC: [u8; 4] = 0xFD2F_B528_u32.to_le_bytes();
/// The `Content_Checksum_flag` of a frame header descriptor.
const CHECKSUM_FLAG: u8 = 0x04;

/// zstd frames, decoded without the library's checksum check.
pub(crate) struct Frames<R> {
    src: R,
    dctx: DCtx<'static>,
    input: Vec<u8>,
    pos: usize,
    end: usize,
    src_done: bool,
    /// The first bytes of the current frame: magic and header descriptor.
    head: Vec<u8>,
    /// The last four input bytes consumed.
    tail: [u8; 4],
    /// Input bytes consumed: the offset in the file.
    at: u64,
    /// Where the current frame starts.
    frame_at: u64,
    /// Frames decoded to their end.
    decoded: u64,
}

impl<R: Read> Frames<R> {
    pub(crate) fn new(src: R) -> io::Result<Self> {
        let mut dctx = DCtx::create();
        dctx.set_parameter(DParameter::ForceIgnoreChecksum(true))
            .map_err(zstd_error)?;
        Ok(Self {
            src,
            dctx,
            input: vec![0; DCtx::in_size()],
            pos: 0,
            end: 0,
            src_done: false,
            head: Vec::with_capacity(5),
            tail: [0; 4],
            at: 0,
            frame_at: 0,
            decoded: 0,
        })
    }

    /// Whether the bytes where the current frame would start are no frame
    /// at all, after the last one: zstd (like `zstd -t`) accepts nothing
    /// after its frames.
    fn after_last_frame(&self) -> bool {
        let mut start = [0u8; 4];
        let known = self
            .head
            .iter()
            .chain(&self.input[self.pos..self.end])
            .take(4)
            .zip(&mut start)
            .map(|(b, s)| *s = *b)
            .count();
        self.decoded > 0 && !starts_a_frame(&start[..known])
    }

    /// The checksum the frame that just ended carries. Skippable and
    /// legacy frames carry none.
    fn frame_checksum(&self) -> Option<u32> {
        (self.head.len() == 5 && self.head[..4] == MAGIC && self.head[4] & CHECKSUM_FLAG != 0)
            .then(|| u32::from_le_bytes(self.tail))
    }
}

impl<R: Read + Send + 'static> Decode for Frames<R> {
    fn decode(&mut self, out: &mut [u8]) -> io::Result<Step> {
        loop {
            if self.pos == self.end && !self.src_done {
                self.end = loop {
                    match self.src.read(&mut self.input) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        other => break other?,
                    }
                };
                self.pos = 0;
                self.src_done = self.end == 0;
            }
            let drained = self.pos == self.end && self.src_done;
            if drained && self.head.is_empty() {
                return Ok(Step::default());
            }
            if self.head.is_empty() {
                self.frame_at = self.at;
            }
            // With no input left, this still flushes what the decoder holds.
            let mut input = InBuffer::around(&self.input[self.pos..self.end]);
            let mut output = OutBuffer::around(&mut *out);
            let hint = match self.dctx.decompress_stream(&mut output, &mut input) {
                Ok(hint) => hint,
                Err(_) if self.after_last_frame() => return Err(trailing("zstd", self.frame_at)),
                Err(code) => return Err(zstd_error(code)),
            };
            let (used, written) = (input.pos(), output.pos());
            note(
                &mut self.head,
                &mut self.tail,
                &self.input[self.pos..self.pos + used],
            );
            self.pos += used;
            self.at += used as u64;
            if hint == 0 {
                let checksum = self.frame_checksum();
                self.head.clear();
                self.decoded += 1;
                return Ok(Step {
                    written,
                    frame_end: Some(FrameEnd {
                        checksum,
                        at: self.frame_at,
                    }),
                    ..Step::default()
                });
            }
            if written > 0 {
                return Ok(Step {
                    written,
                    ..Step::default()
                });
            }
            if drained {
                if self.after_last_frame() {
                    return Err(trailing("zstd", self.frame_at));
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "zstd: the stream ends inside a frame (from byte {})",
                        self.frame_at
                    ),
                ));
            }
        }
    }
}

/// Whether `bytes` (up to four) begin the magic number of a frame: zstd,
/// legacy zstd or skippable.
fn starts_a_frame(bytes: &[u8]) -> bool {
    let zstd = std::iter::once(u32::from_le_bytes(MAGIC));
    let legacy = 0xFD2F_B51E..=0xFD2F_B527;
    let skippable = 0x184D_2A50..=0x184D_2A5F;
    zstd.chain(legacy)
        .chain(skippable)
        .any(|m: u32| m.to_le_bytes().starts_with(bytes))
}

/// Records consumed input: the start of the frame and its last four bytes.
fn note(head: &mut Vec<u8>, tail: &mut [u8; 4], bytes: &[u8]) {
    let want = 5usize.saturating_sub(head.len()).min(bytes.len());
    head.extend_from_slice(&bytes[..want]);
    if bytes.len() >= 4 {
        tail.copy_from_slice(&bytes[bytes.len() - 4..]);
    } else {
        tail.rotate_left(bytes.len());
        tail[4 - bytes.len()..].copy_from_slice(bytes);
    }
}

fn zstd_error(code: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("zstd: {}", zstd::zstd_safe::get_error_name(code)),
    )
}

/// Checks frame contents against their checksums, on the reading side.
#[derive(Default)]
pub(crate) struct Verifier {
    hash: xxhash_rust::xxh64::Xxh64,
}

impl Verifier {
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.hash.update(bytes);
    }

    /// A frame ended: compares, and starts over for the next frame.
    pub(crate) fn frame_end(&mut self, end: &FrameEnd) -> io::Result<()> {
        let got = self.hash.digest() as u32;
        self.hash.reset(0);
        match end.checksum {
            Some(want) if want != got => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "zstd: frame from byte {}: the content does not match the frame's checksum \
                     (the frame says {want:08x}, the content has {got:08x})",
                    end.at
                ),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::input::ReadAhead;

    /// Hands out at most `step` bytes per read, so that frame headers and
    /// checksums straddle reads.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(self.step).min(self.data.len() - self.at);
            out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn frame(content: &[u8], checksum: bool) -> Vec<u8> {
        let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        e.include_checksum(checksum).unwrap();
        std::io::Write::write_all(&mut e, content).unwrap();
        e.finish().unwrap()
    }

    fn skippable(payload: &[u8]) -> Vec<u8> {
        let mut f = 0x184D_2A50_u32.to_le_bytes().to_vec();
        f.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn content(seed: u8, len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(seed) ^ (i >> 9) as u8)
            .collect()
    }

    fn decode(data: Vec<u8>, step: usize) -> io::Result<Vec<u8>> {
        let src = Trickle { data, at: 0, step };
        let mut out = Vec::new();
        ReadAhead::spawn(Frames::new(src)?, true).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn frames_decode_and_verify_whatever_the_read_sizes() {
        let (a, b) = (content(7, 700_000), content(13, 5000));
        let mut stream = frame(&a, true);
        stream.extend(skippable(b"not content"));
        stream.extend(frame(&b, false));
        stream.extend(frame(&[], true));
        stream.extend(frame(&b, true));
        let want = [a.as_slice(), &b, &b].concat();
        for step in [1, 3, 4, 5, 4096, 1 << 20] {
            assert_eq!(decode(stream.clone(), step).unwrap(), want, "step {step}");
        }
    }

    #[test]
    fn a_wrong_checksum_is_an_error_in_any_frame() {
        let (a, b) = (content(7, 300_000), content(13, 5000));
        for corrupt_first in [true, false] {
            let mut first = frame(&a, true);
            let mut second = frame(&b, true);
            let f = if corrupt_first {
                &mut first
            } else {
                &mut second
            };
            let last = f.len() - 1;
            f[last] ^= 0x40;
            let mut stream = skippable(b"x");
            stream.extend(first);
            stream.extend(second);
            for step in [1, 4096] {
                let e = decode(stream.clone(), step).unwrap_err();
                assert_eq!(e.kind(), io::ErrorKind::InvalidData);
                assert!(e.to_string().contains("checksum"), "{e}");
            }
        }
    }

    #[test]
    fn a_stream_cut_inside_a_frame_is_an_error() {
        let a = content(7, 300_000);
        let whole = frame(&a, true);
        for cut in [3, 5, whole.len() / 2, whole.len() - 2] {
            let e = decode(whole[..cut].to_vec(), 4096).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "cut {cut}: {e}");
        }
        assert_eq!(decode(Vec::new(), 4096).unwrap(), b"");
    }

    #[test]
    fn anything_after_the_last_frame_is_trailing_data() {
        let a = content(7, 300_000);
        let mut good = frame(&a, true);
        good.extend(skippable(b"metadata"));
        good.extend(frame(&a[..1000], false));
        let want = [a.as_slice(), &a[..1000]].concat();
        for step in [1, 3, 4096] {
            assert_eq!(decode(good.clone(), step).unwrap(), want);
        }
        // As `zstd -t`: zero bytes are no exception; nor is a part of a magic
        // number that is no magic number.
        for after in [
            &b"\0"[..],
            b"\0\0\0\0",
            &[0; 600],
            b"garbage",
            b"\x28\xb5\x2f\xfc",
        ] {
            let stream = [good.as_slice(), after].concat();
            for step in [1, 3, 4096] {
                let e = decode(stream.clone(), step).unwrap_err();
                assert_eq!(
                    e.kind(),
                    io::ErrorKind::InvalidData,
                    "{after:?} {step}: {e}"
                );
                assert_eq!(
                    e.to_string(),
                    format!(
                        "zstd: trailing data after the stream at byte {} \
                         (nothing may follow the last frame, not even zero bytes)",
                        good.len()
                    ),
                    "{after:?} {step}"
                );
            }
        }
        // The start of a frame, cut: the stream ends inside it.
        let cut = [good.as_slice(), b"\x28\xb5"].concat();
        let e = decode(cut, 4096).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
    }

    /// A gzip member of `content` with the header fields `flags` asks for.
    fn member(content: &[u8], flags: u8) -> Vec<u8> {
        let mut m = vec![0x1f, 0x8b, 8, flags, 1, 2, 3, 4, 0, 3];
        if flags & FEXTRA != 0 {
            m.extend_from_slice(&[6, 0, b'A', b'B', 2, 0, b'x', b'y']);
        }
        if flags & FNAME != 0 {
            m.extend_from_slice(b"rootfs.tar\0");
        }
        if flags & FCOMMENT != 0 {
            m.extend_from_slice(b"a comment\0");
        }
        if flags & FHCRC != 0 {
            let crc = crc32fast::hash(&m) as u16;
            m.extend_from_slice(&crc.to_le_bytes());
        }
        let mut e = flate2::write::DeflateEncoder::new(m, flate2::Compression::default());
        std::io::Write::write_all(&mut e, content).unwrap();
        let mut m = e.finish().unwrap();
        m.extend_from_slice(&crc32fast::hash(content).to_le_bytes());
        m.extend_from_slice(&(content.len() as u32).to_le_bytes());
        m
    }

    /// Decodes gzip members read `step` bytes at a time; the content and
    /// the padding after the last member.
    fn gunzip(data: Vec<u8>, step: usize) -> io::Result<(Vec<u8>, u64)> {
        let src = std::io::BufReader::with_capacity(step, Trickle { data, at: 0, step });
        let mut r = ReadAhead::spawn(Members::new(src), false);
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok((out, r.padding()))
    }

    #[test]
    fn gzip_members_decode_with_every_header_field_whatever_the_read_sizes() {
        let (a, b) = (content(7, 700_000), content(13, 5000));
        let mut stream = member(&a, FHCRC | FEXTRA | FNAME | FCOMMENT);
        stream.extend(member(&[], 0));
        stream.extend(member(&b, FNAME));
        let want = [a.as_slice(), &b].concat();
        for step in [1, 2, 7, 4096, 1 << 20] {
            assert_eq!(gunzip(stream.clone(), step).unwrap(), (want.clone(), 0));
        }
        for pad in [1, 8, 5000] {
            let padded = [stream.as_slice(), &vec![0; pad]].concat();
            for step in [1, 3, 4096] {
                assert_eq!(
                    gunzip(padded.clone(), step).unwrap(),
                    (want.clone(), pad as u64),
                    "{pad} {step}"
                );
            }
        }
    }

    #[test]
    fn a_gzip_member_that_does_not_match_its_trailer_is_an_error() {
        let (a, b) = (content(7, 300_000), content(13, 5000));
        let (first, second) = (member(&a, FNAME), member(&b, 0));
        let stream = [first.as_slice(), &second].concat();
        let n = stream.len();
        let cases: [(usize, &str); 4] = [
            (first.len() - 8, "member 1 (from byte 0): CRC32 mismatch"),
            (first.len() - 2, "member 1 (from byte 0): length mismatch"),
            (
                n - 5,
                &format!("member 2 (from byte {}): CRC32 mismatch", first.len()),
            ),
            (n - 1, "length mismatch"),
        ];
        for (at, want) in cases {
            let mut bad = stream.clone();
            bad[at] ^= 0x10;
            for step in [1, 4096] {
                let e = gunzip(bad.clone(), step).unwrap_err();
                assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{at}: {e}");
                assert!(e.to_string().contains(want), "{at}: {e}");
            }
        }
        // A header CRC that does not match its header.
        let mut bad = member(&b, FHCRC | FNAME);
        bad[21] ^= 1;
        let e = gunzip(bad, 4096).unwrap_err();
        assert!(e.to_string().contains("header CRC16 mismatch"), "{e}");
    }

    #[test]
    fn a_gzip_stream_cut_anywhere_inside_a_member_is_an_error() {
        let a = content(7, 100_000);
        let one = member(&a, FNAME | FCOMMENT);
        let stream = [one.as_slice(), &member(b"tail", 0)].concat();
        for cut in (1..stream.len()).filter(|&c| c != one.len()) {
            // Every byte of the headers and trailers, every 97th of the data.
            if cut % 97 != 0 && cut > 40 && cut < one.len() - 10 {
                continue;
            }
            let e = gunzip(stream[..cut].to_vec(), 4096).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData
                ),
                "{cut}: {e}"
            );
        }
        let e = gunzip(one[..one.len() - 8].to_vec(), 4096).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("ends inside its trailer"), "{e}");
    }

    #[test]
    fn only_zero_bytes_may_follow_the_last_gzip_member() {
        let one = member(&content(7, 10_000), 0);
        for after in [&b"x"[..], b"\0\0\0x", b"\x1f", b"\x1f\x8a\x08"] {
            let stream = [one.as_slice(), after].concat();
            for step in [1, 4096] {
                let e = gunzip(stream.clone(), step).unwrap_err();
                assert_eq!(
                    e.to_string(),
                    format!(
                        "gzip: trailing data after the stream at byte {} \
                         (only zero bytes may follow the last member)",
                        one.len()
                    ),
                    "{after:?} {step}"
                );
            }
        }
        // A next member's header, cut.
        let stream = [one.as_slice(), &[0x1f, 0x8b, 8, 0]].concat();
        let e = gunzip(stream, 1).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{e}");
        assert!(e.to_string().contains("member 2"), "{e}");
    }
}
