//! Decoders for the read-ahead thread; zstd decoding that leaves the
//! content checksum to the reading thread.
//!
//! A zstd frame ends with the low 32 bits of the XXH64 of its content. The
//! library checks it on the decompression thread, which is the bottleneck of
//! a scan; here the decoder skips that check and reports where each frame
//! ends and what checksum it carries, and the reader (see
//! [`super::ReadAhead`]) hashes the content on the other core.

use std::io::{self, Read};

use zstd::zstd_safe::{DCtx, DParameter, InBuffer, OutBuffer};

/// What one call to a decoder produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Step {
    /// Bytes written to the output; 0 with no frame end is the end of the stream.
    pub(crate) written: usize,
    /// A frame ended right after those bytes.
    pub(crate) frame_end: Option<FrameEnd>,
}

/// The end of a zstd frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct FrameEnd {
    /// The checksum the frame's content must have, if it carries one.
    pub(crate) checksum: Option<u32>,
}

/// A decompressor run by the read-ahead thread.
pub(crate) trait Decode: Send + 'static {
    fn decode(&mut self, out: &mut [u8]) -> io::Result<Step>;
}

/// A decompressor that checks its own input (gzip's CRC), as a reader.
pub(crate) struct Checked<R>(pub(crate) R);

impl<R: Read + Send + 'static> Decode for Checked<R> {
    fn decode(&mut self, out: &mut [u8]) -> io::Result<Step> {
        Ok(Step {
            written: self.0.read(out)?,
            frame_end: None,
        })
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
        })
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
            // With no input left, this still flushes what the decoder holds.
            let mut input = InBuffer::around(&self.input[self.pos..self.end]);
            let mut output = OutBuffer::around(&mut *out);
            let hint = self
                .dctx
                .decompress_stream(&mut output, &mut input)
                .map_err(zstd_error)?;
            let (used, written) = (input.pos(), output.pos());
            note(
                &mut self.head,
                &mut self.tail,
                &self.input[self.pos..self.pos + used],
            );
            self.pos += used;
            if hint == 0 {
                let checksum = self.frame_checksum();
                self.head.clear();
                return Ok(Step {
                    written,
                    frame_end: Some(FrameEnd { checksum }),
                });
            }
            if written > 0 {
                return Ok(Step {
                    written,
                    frame_end: None,
                });
            }
            if drained {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the zstd stream ends inside a frame",
                ));
            }
        }
    }
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
    pub(crate) fn frame_end(&mut self, expected: Option<u32>) -> io::Result<()> {
        let got = self.hash.digest() as u32;
        self.hash.reset(0);
        match expected {
            Some(want) if want != got => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "zstd: the content does not match the frame's checksum",
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::ReadAhead;

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
}
