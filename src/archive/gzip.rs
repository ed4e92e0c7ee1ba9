//! Parallel gzip compression, as pigz does it: the input is cut into
//! blocks that are deflated independently on all cores, each ending on a
//! byte boundary (a sync flush), and concatenated into one gzip member with
//! the CRC of the whole input. Any gzip reader decodes the result.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, mpsc};

use flate2::{Compress, Compression, FlushCompress};

/// Input bytes per independently compressed block.
const BLOCK: usize = 1 << 20;
/// How often a wait for a compressed block looks for a caught signal.
const WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(20);

type Job = (u64, Vec<u8>, bool);
type Done = (u64, io::Result<Vec<u8>>);

/// A gzip writer that compresses blocks on worker threads while the
/// caller keeps producing input; blocks are written in order.
pub(crate) struct ParGzWriter<W: Write> {
    out: W,
    current: Vec<u8>,
    crc: crc32fast::Hasher,
    len: u64,
    jobs: Option<mpsc::SyncSender<Job>>,
    results: mpsc::Receiver<Done>,
    workers: Vec<std::thread::JoinHandle<()>>,
    sent: u64,
    written: u64,
    ready: BTreeMap<u64, Vec<u8>>,
    max_in_flight: u64,
}

impl<W: Write> ParGzWriter<W> {
    /// Starts a member whose header carries `mtime` and `name`, like the
    /// archive it replaces.
    pub(crate) fn new(mut out: W, level: u32, mtime: u32, name: Option<&[u8]>) -> io::Result<Self> {
        let flags = if name.is_some() { 0x08 } else { 0 };
        let mut header = vec![0x1f, 0x8b, 8, flags];
        header.extend_from_slice(&mtime.to_le_bytes());
        header.extend_from_slice(&[0, 3]); // no extra flags; OS: Unix
        if let Some(n) = name {
            header.extend(n.iter().copied().filter(|&b| b != 0));
            header.push(0);
        }
        out.write_all(&header)?;
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .max(1);
        let (jobs, job_rx) = mpsc::sync_channel::<Job>(threads * 2);
        let (done_tx, results) = mpsc::channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let workers = (0..threads)
            .map(|_| {
                let rx = Arc::clone(&job_rx);
                let tx = done_tx.clone();
                std::thread::spawn(move || {
                    loop {
                        let job = rx
                            .lock()
                            .map_err(|_| ())
                            .and_then(|r| r.recv().map_err(|_| ()));
                        let Ok((index, block, last)) = job else { break };
                        if tx.send((index, deflate(&block, level, last))).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        Ok(Self {
            out,
            current: Vec::with_capacity(BLOCK),
            crc: crc32fast::Hasher::new(),
            len: 0,
            jobs: Some(jobs),
            results,
            workers,
            sent: 0,
            written: 0,
            ready: BTreeMap::new(),
            max_in_flight: threads as u64 * 3,
        })
    }

    fn send(&mut self, block: Vec<u8>, last: bool) -> io::Result<()> {
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| io::Error::other("compressor finished"))?;
        jobs.send((self.sent, block, last))
            .map_err(|_| io::Error::other("compression thread failed"))?;
        self.sent += 1;
        Ok(())
    }

    /// Writes finished blocks in order; waits while too many are in flight
    /// (or, with `all`, until every block is written).
    fn drain(&mut self, all: bool) -> io::Result<()> {
        loop {
            while let Some(block) = self.ready.remove(&self.written) {
                // Between compressed blocks, a caught signal stops the
                // rewrite (the last blocks are waited for here).
                crate::interrupt::check()?;
                self.out.write_all(&block)?;
                self.written += 1;
            }
            let in_flight = self.sent - self.written;
            let must_wait = if all {
                in_flight > 0
            } else {
                in_flight >= self.max_in_flight
            };
            let next = if must_wait {
                Some(self.wait()?)
            } else {
                self.results.try_recv().ok()
            };
            match next {
                Some((i, block)) => {
                    self.ready.insert(i, block?);
                }
                None => return Ok(()),
            }
        }
    }

    /// Waits for the next compressed block; a caught signal ends the wait
    /// (a block can take a good part of a second in a debug build).
    fn wait(&self) -> io::Result<Done> {
        loop {
            crate::interrupt::check()?;
            match self.results.recv_timeout(WAIT_STEP) {
                Ok(done) => return Ok(done),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(io::Error::other("compression thread failed"));
                }
            }
        }
    }

    /// Writes the last block and the trailer; returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        let rest = std::mem::take(&mut self.current);
        self.send(rest, true)?;
        self.jobs = None;
        self.drain(true)?;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        let crc = self.crc.clone().finalize();
        self.out.write_all(&crc.to_le_bytes())?;
        self.out
            .write_all(&((self.len & 0xffff_ffff) as u32).to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for ParGzWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let take = buf.len().min(BLOCK - self.current.len());
        self.current.extend_from_slice(&buf[..take]);
        self.crc.update(&buf[..take]);
        self.len += take as u64;
        if self.current.len() == BLOCK {
            let full = std::mem::replace(&mut self.current, Vec::with_capacity(BLOCK));
            self.send(full, false)?;
            self.drain(false)?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Raw deflate of one block; sync-flushed (byte-aligned, not final) unless last.
fn deflate(input: &[u8], level: u32, last: bool) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level), false);
    let mut out = Vec::with_capacity(input.len() / 2 + 1024);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    loop {
        let consumed = usize::try_from(c.total_in()).unwrap_or(usize::MAX);
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity().max(4096));
        }
        let status = c
            .compress_vec(&input[consumed.min(input.len())..], &mut out, flush)
            .map_err(io::Error::other)?;
        let done_in = usize::try_from(c.total_in()).unwrap_or(usize::MAX) >= input.len();
        match status {
            flate2::Status::StreamEnd => break,
            _ if done_in && !last && out.capacity() > out.len() => break,
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn output_decodes_to_the_input() {
        let mut data = Vec::new();
        for i in 0..(3 * BLOCK + 12345) {
            data.push(((i * 7919) % 251) as u8);
        }
        let mut w = ParGzWriter::new(Vec::new(), 6, 1_700_000_000, Some(b"root.tar")).unwrap();
        for chunk in data.chunks(70_000) {
            w.write_all(chunk).unwrap();
        }
        let gz = w.finish().unwrap();
        let mut d = flate2::read::GzDecoder::new(&gz[..]);
        let mut back = Vec::new();
        d.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        assert_eq!(d.header().unwrap().mtime(), 1_700_000_000);
        assert_eq!(d.header().unwrap().filename(), Some(&b"root.tar"[..]));
        // An empty input is a valid member too.
        let empty = ParGzWriter::new(Vec::new(), 6, 0, None)
            .unwrap()
            .finish()
            .unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&empty[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }
}
