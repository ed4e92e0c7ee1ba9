//! A progress line for long archive passes: bytes of the archive file read
//! so far out of its size, on standard error, only when it is a terminal and
//! `--quiet` was not given.

use std::io::{self, IsTerminal, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns the progress line on (the CLI does, for a terminal without `--quiet`).
pub(crate) fn enable(on: bool) {
    ENABLED.store(on && io::stderr().is_terminal(), Ordering::Relaxed);
}

/// Counts the bytes read through it and redraws the line now and then.
pub(crate) struct Progress<R> {
    inner: R,
    label: String,
    total: u64,
    done: u64,
    shown: u64,
    on: bool,
}

const STEP: u64 = 8 << 20;

impl<R> Progress<R> {
    pub(crate) fn new(inner: R, label: &str, total: u64) -> Self {
        Self {
            inner,
            label: label.to_owned(),
            total,
            done: 0,
            shown: 0,
            on: ENABLED.load(Ordering::Relaxed) && total > 4 * STEP,
        }
    }

    /// Records that the reader is at `done` bytes.
    pub(crate) fn at(&mut self, done: u64) {
        self.done = done;
        if self.on && self.done >= self.shown + STEP {
            self.shown = self.done;
            let mb = |b: u64| b / 1_000_000;
            let _ = write!(
                io::stderr(),
                "\r\x1b[2K{}: {} / {} MB",
                self.label,
                mb(self.done),
                mb(self.total)
            );
        }
    }
}

impl<R> Drop for Progress<R> {
    fn drop(&mut self) {
        if self.on && self.shown > 0 {
            let _ = write!(io::stderr(), "\r\x1b[2K");
        }
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.at(self.done + n as u64);
        Ok(n)
    }
}
