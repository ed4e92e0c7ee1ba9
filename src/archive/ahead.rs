//! Walking a plain archive from its middle while it is walked from its
//! start.
//!
//! Reading 512-byte headers spread over the whole file is bound by memory
//! latency, one header after the other: each header gives the offset of the
//! next. A second walker starts at the first block past the middle that
//! looks like a header and walks to the end; a thread of its own indexes
//! what it reads into a second [`Part`] as it goes. The walk from the start
//! stops when it reaches the entry the second walker started at, and the
//! second part is renumbered to follow the first.
//!
//! Why this is exact: an entry is read from its offset alone (no state
//! carries over from earlier entries), so two walks that reach the same
//! entry offset read the same entries from there on. Every entry of the
//! second part comes after every entry of the first, which the index's
//! lookups honour. The memory budget is applied over the second part as one
//! walk would have gone on applying it: bytes past it are dropped, and the
//! bytes of files that fit but that the second walker skipped (it keeps
//! within half the budget on its own count) are read then. A second walker
//! that started on something that only looks like a header (file contents,
//! an archive stored in the archive) is never met at its start, and its
//! work is dropped. If it stopped at an entry it could not read, or its
//! thread was lost, its work is dropped too and the walk from the start
//! reads on, so errors are the same as for one walk.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;

use super::part::{Part, PathHasher};
use super::tree::{Batches, Indexed, TNode, next_indexed};
use super::walk::{BLOCK, BufferedFile, Input, Walker, looks_like_header};

/// How far past the middle a header is looked for.
const SEARCH: u64 = 16 << 20;
/// Batches of entries the second walker may have read ahead of its
/// indexing thread.
const QUEUED_BATCHES: usize = 16;

/// What the second walker hands its indexing thread.
enum Message {
    Entries(Vec<Indexed>),
    /// The walker is done: at the end of the archive, or (true) stopped at
    /// an entry it could not read.
    End(bool),
}

/// The second walker's part of the index, as its thread built it.
struct Second {
    part: Part,
    /// Whether the walker stopped at an entry it could not read, or went
    /// away without saying it was done.
    stopped: bool,
    /// The files whose bytes the index keeps budget allowing, in order.
    wanted: Vec<Wanted>,
}

/// A file whose bytes the index keeps, budget allowing.
struct Wanted {
    /// Its position in the second part.
    position: usize,
    /// Its ordinal, counted from the second walker's first entry.
    ordinal: usize,
    size: u64,
    /// Where its bytes are in the archive.
    offset: u64,
}

/// Where the walk from the start stands against the second walker.
pub(super) enum Meet {
    /// Not at its first entry yet: walk on.
    Behind,
    /// At its first entry: take its part from there.
    At,
    /// Past its first entry, or it found none: walk on alone.
    Never,
}

/// Where the second walker's first entry starts.
#[derive(Clone, Copy)]
enum Start {
    /// Not known yet.
    Waiting,
    At(u64),
    /// It found no header.
    Nowhere,
}

/// The walker started in the middle, and its indexing thread.
pub(super) struct Ahead {
    /// The walk from the start consults it from this offset on.
    pub(super) from: u64,
    start: Start,
    started: Receiver<Option<u64>>,
    /// Bytes of candidate files kept in memory at most, over the archive.
    budget: u64,
    /// Tells the walker to stop early: its work is no longer wanted.
    stop: Arc<AtomicBool>,
    indexing: Option<JoinHandle<Second>>,
    /// The archive, to read the bytes of files the second walker skipped.
    archive: File,
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Ahead {
    /// Starts the second walker on a plain archive (`file` of `len` bytes),
    /// for an index that keeps `budget` bytes of candidate files at most.
    /// Its part of the index has room for `paths`.
    pub(super) fn spawn(
        file: File,
        len: u64,
        hasher: PathHasher,
        budget: u64,
        paths: usize,
    ) -> io::Result<Self> {
        let archive = file.try_clone()?;
        let from = (len / 2).div_ceil(BLOCK) * BLOCK;
        let (started_tx, started) = std::sync::mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let indexing = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let (tx, rx) = std::sync::mpsc::sync_channel(QUEUED_BATCHES);
                let walker = {
                    let hasher = hasher.clone();
                    std::thread::spawn(move || {
                        let walk = Walk {
                            from,
                            budget: budget / 2,
                            started: &started_tx,
                            tx: &tx,
                            stop: &stop,
                            hasher: &hasher,
                        };
                        walk.run(file, len);
                    })
                };
                let second = index(&rx, &hasher, paths);
                // The walker has hung up: it is done.
                let _ = walker.join();
                second
            })
        };
        Ok(Self {
            from,
            start: Start::Waiting,
            started,
            budget,
            stop,
            indexing: Some(indexing),
            archive,
        })
    }

    /// Compares the offset the walk from the start has reached with the
    /// second walker's first entry, waiting until that is known.
    pub(super) fn meet(&mut self, pos: u64) -> Meet {
        if let Start::Waiting = self.start {
            self.start = match self.started.recv() {
                Ok(Some(at)) => Start::At(at),
                Ok(None) | Err(_) => Start::Nowhere,
            };
        }
        match self.start {
            Start::At(start) if pos < start => Meet::Behind,
            Start::At(start) if pos == start => Meet::At,
            _ => Meet::Never,
        }
    }

    /// Waits for the second walker's part of the index and makes it follow
    /// the `ordinal` entries before it, of which `kept` bytes were kept;
    /// `None` if the walker stopped at an entry it could not read (or its
    /// thread was lost).
    pub(super) fn finish(mut self, ordinal: usize, kept: u64) -> io::Result<Option<Part>> {
        let Some(Ok(second)) = self.indexing.take().map(JoinHandle::join) else {
            return Ok(None);
        };
        if second.stopped {
            return Ok(None);
        }
        let mut part = second.part;
        for node in part.nodes_mut() {
            if let TNode::File { ordinal: n, .. } = node {
                *n += ordinal;
            }
        }
        // The budget as one walk applies it, over the whole archive in
        // order: the second walker kept bytes within half of it, on its
        // own count.
        let mut kept = kept;
        for w in second.wanted {
            let keep = kept + w.size <= self.budget;
            if keep {
                kept += w.size;
            }
            match part.node_mut(w.position) {
                // Still this entry's node: no later entry replaced it.
                TNode::File {
                    data, ordinal: n, ..
                } if *n == w.ordinal + ordinal => match (keep, data.is_some()) {
                    (true, false) => *data = Some(Arc::new(self.read(w.offset, w.size)?)),
                    (false, true) => *data = None,
                    _ => {}
                },
                _ => {}
            }
        }
        Ok(Some(part))
    }

    /// The `size` bytes at `offset` in the archive.
    fn read(&self, offset: u64, size: u64) -> io::Result<Vec<u8>> {
        let mut out = vec![0; usize::try_from(size).map_err(io::Error::other)?];
        self.archive.read_exact_at(&mut out, offset)?;
        Ok(out)
    }
}

/// Indexes what the second walker reads, as it reads it.
fn index(rx: &Receiver<Message>, hasher: &PathHasher, paths: usize) -> Second {
    let mut second = Second {
        part: Part::with_capacity(hasher, paths),
        // Until the walker says it is done.
        stopped: true,
        wanted: Vec::new(),
    };
    for message in rx {
        match message {
            Message::Entries(items) => {
                for named in items.into_iter().flatten() {
                    let wanted = match &named.node {
                        TNode::File {
                            size,
                            offset,
                            ordinal,
                            ..
                        } if named.wanted => Some((*ordinal, *size, *offset)),
                        _ => None,
                    };
                    let position = second.part.insert(named, hasher);
                    if let Some((ordinal, size, offset)) = wanted {
                        second.wanted.push(Wanted {
                            position,
                            ordinal,
                            size,
                            offset,
                        });
                    }
                }
            }
            Message::End(stopped) => second.stopped = stopped,
        }
    }
    second
}

/// The second walker.
struct Walk<'a> {
    /// It starts at the first header from here.
    from: u64,
    /// Bytes of candidate files it keeps at most.
    budget: u64,
    /// Where it started is said here.
    started: &'a std::sync::mpsc::Sender<Option<u64>>,
    tx: &'a SyncSender<Message>,
    /// Set once its work is no longer wanted.
    stop: &'a AtomicBool,
    hasher: &'a PathHasher,
}

impl Walk<'_> {
    /// Finds a header past `from`, says where, walks to the end and hands
    /// over every entry, unless told to stop.
    fn run(&self, file: File, len: u64) {
        let start = find_header(&file, self.from, len);
        let _ = self.started.send(start);
        let Some(start) = start else {
            return;
        };
        let mut walker = Walker::new(Input::File(BufferedFile::new(file, len)));
        walker.seek_file(start);
        let mut kept = 0u64;
        let mut ordinal = 0;
        let mut out = Batches::new(|items| self.tx.send(Message::Entries(items)).is_ok());
        let stopped = loop {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let next = next_indexed(
                &mut walker,
                &mut ordinal,
                &mut kept,
                self.budget,
                self.hasher,
            );
            let item = match next {
                Ok(Some(item)) => item,
                Ok(None) => break false,
                Err(_) => break true,
            };
            if !out.push(item) {
                return;
            }
        };
        out.flush();
        let _ = self.tx.send(Message::End(stopped));
    }
}

/// The offset of the first block at or after `from` (within [`SEARCH`]
/// bytes) that looks like a header.
fn find_header(file: &File, from: u64, len: u64) -> Option<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = from;
    let end = len.min(from + SEARCH);
    while at + BLOCK <= end {
        let want = usize::try_from((end - at).min(buf.len() as u64)).unwrap_or(buf.len());
        let got = file.read_at(&mut buf[..want], at).ok()?;
        if got < BLOCK as usize {
            return None;
        }
        let blocks = got / BLOCK as usize;
        for (i, block) in buf[..blocks * BLOCK as usize]
            .chunks_exact(BLOCK as usize)
            .enumerate()
        {
            if looks_like_header(block) {
                return Some(at + (i as u64) * BLOCK);
            }
        }
        at += (blocks as u64) * BLOCK;
    }
    None
}
