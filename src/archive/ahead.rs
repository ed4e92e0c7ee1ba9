//! Walking a plain archive from its middle while it is walked from its
//! start.
//!
//! Reading 512-byte headers spread over the whole file is bound by memory
//! latency, one header after the other: each header gives the offset of the
//! next. A second walker starts at the first block past the middle that
//! looks like a header, walks to the end and queues what it reads. The walk
//! from the start checks each entry offset it reaches against that queue.
//!
//! Why this is exact: an entry is read from its offset alone (no state
//! carries over from earlier entries), so two walks that reach the same
//! entry offset read the same entries from there on. When the walk from the
//! start reaches an offset the second walker read, it takes the queued
//! entries from there; their ordinals are renumbered and the memory budget
//! is applied again, in archive order. A second walker that started on
//! something that only looks like a header (file contents, an archive stored
//! in the archive) never shares an offset with the real chain, and its work
//! is dropped. If it stopped at an entry it could not read, the walk from the
//! start reads that entry itself, so errors are the same as for one walk.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{Receiver, SyncSender};

use super::tree::{Batches, Indexed, MEMORY_BUDGET, Named, PathHasher, TNode, index_entry};
use super::walk::{BLOCK, BufferedFile, Input, Walker, looks_like_header};

/// How far past the middle a header is looked for.
const SEARCH: u64 = 16 << 20;
/// Batches of entries the second walker may queue before it waits: its
/// queue stays bounded even when it follows a long chain of headers stored
/// as file contents.
const QUEUED_BATCHES: usize = 128;

/// An entry the second walker read: where it starts, and the index's view
/// of it (with an ordinal counted from the walker's first entry).
struct Spec {
    start: u64,
    item: Indexed,
}

enum Message {
    Entries(Vec<Spec>),
    /// The walker is done: at the end of the archive, or stopped at the
    /// entry starting at this offset, which it could not read.
    End(Option<u64>),
}

/// Where the walk from the start stands against the queue.
pub(super) enum Meet {
    /// Not at a queued entry yet: walk on.
    Behind,
    /// At a queued entry: take the rest from the queue.
    At,
    /// Past every queued entry: walk on alone.
    Never,
}

/// The queue of the walker started in the middle.
pub(super) struct Ahead {
    /// The walk from the start consults the queue from this offset on.
    pub(super) from: u64,
    rx: Receiver<Message>,
    queue: VecDeque<Spec>,
    /// Set once the walker is done.
    done: bool,
    /// Where the walker stopped, at an entry it could not read.
    stopped_at: Option<u64>,
    /// Whether the walker went away without saying it was done (a bug).
    lost: bool,
}

impl Ahead {
    /// Starts the second walker on a plain archive (`file` of `len` bytes).
    pub(super) fn spawn(file: File, len: u64, hasher: PathHasher) -> Self {
        let from = (len / 2).div_ceil(BLOCK) * BLOCK;
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUED_BATCHES);
        std::thread::spawn(move || run(file, len, from, &tx, &hasher));
        Self {
            from,
            rx,
            queue: VecDeque::new(),
            done: false,
            stopped_at: None,
            lost: false,
        }
    }

    /// The next queued entry, waiting for the walker if need be.
    fn front(&mut self) -> Option<&Spec> {
        while self.queue.is_empty() && !self.done {
            match self.rx.recv() {
                Ok(Message::Entries(specs)) => self.queue.extend(specs),
                Ok(Message::End(stopped_at)) => {
                    self.done = true;
                    self.stopped_at = stopped_at;
                }
                Err(_) => {
                    self.done = true;
                    self.lost = true;
                }
            }
        }
        self.queue.front()
    }

    /// Compares the offset the walk from the start has reached with the
    /// queue, dropping queued entries it has passed.
    pub(super) fn meet(&mut self, pos: u64) -> Meet {
        loop {
            match self.front() {
                None => return Meet::Never,
                Some(s) if s.start < pos => {
                    self.queue.pop_front();
                }
                Some(s) if s.start == pos => return Meet::At,
                Some(_) => return Meet::Behind,
            }
        }
    }

    /// Sends every queued entry from the one met on, numbered on from
    /// `ordinal`, with candidate bytes kept only within the budget. Returns
    /// how many entries were taken and where the walker stopped if it met an
    /// entry it could not read.
    pub(super) fn take_over(
        &mut self,
        out: &mut Batches<Named, impl FnMut(Vec<Named>) -> bool>,
        ordinal: &mut usize,
        kept: &mut u64,
    ) -> io::Result<(usize, Option<u64>)> {
        let mut taken = 0;
        while self.front().is_some() {
            let Some(spec) = self.queue.pop_front() else {
                break;
            };
            taken += 1;
            *ordinal += 1;
            let Some(mut named) = spec.item else {
                continue;
            };
            if let TNode::File {
                size,
                data,
                ordinal: n,
                ..
            } = &mut named.node
            {
                *n = *ordinal;
                if data.is_some() {
                    if *kept + *size <= MEMORY_BUDGET {
                        *kept += *size;
                    } else {
                        *data = None;
                    }
                }
            }
            if !out.push(named) {
                break;
            }
        }
        if self.lost {
            return Err(io::Error::other("the second archive walk stopped"));
        }
        Ok((taken, self.stopped_at))
    }
}

/// The second walker: finds a header past `from`, walks to the end and
/// queues every entry. It keeps candidate bytes within half the budget.
fn run(file: File, len: u64, from: u64, tx: &SyncSender<Message>, hasher: &PathHasher) {
    let Some(start) = find_header(&file, from, len) else {
        let _ = tx.send(Message::End(None));
        return;
    };
    let mut walker = Walker::new(Input::File(BufferedFile::new(file, len)));
    walker.seek_file(start);
    let mut kept = 0u64;
    let mut ordinal = 0;
    let mut out = Batches::new(|specs| tx.send(Message::Entries(specs)).is_ok());
    let stopped_at = loop {
        let at = walker.pos;
        let item = match walker.next() {
            Ok(Some(e)) => {
                ordinal += 1;
                let budget = MEMORY_BUDGET / 2;
                let item = index_entry(&mut walker, &e, ordinal, &mut kept, budget, hasher);
                walker.recycle(e);
                item
            }
            Ok(None) => break None,
            Err(e) => Err(e),
        };
        let Ok(item) = item else {
            break Some(at);
        };
        if !out.push(Spec { start: at, item }) {
            return;
        }
    };
    out.finish();
    let _ = tx.send(Message::End(stopped_at));
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
