//! Stopping `fix` cleanly on SIGINT and SIGTERM.
//!
//! Before `fix` writes anything, the signals keep their default action: the
//! process ends, and nothing is left behind because nothing was written.
//! While it writes ([`defer`]), a signal is only recorded: the writers check
//! for it between chunks of output ([`check`]), stop, and remove the
//! temporary file they were writing, and `fix` exits with 128 + the signal
//! number, saying what was written. A second signal while that happens ends
//! the process at once (with the same status); so does a signal after the
//! writes are done.
//!
//! The handlers are installed by the binary only ([`enable`]): a library
//! caller (the in-process tests) keeps its own signal handling.

use std::io;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::signal::{SIGINT, SIGTERM};

/// Whether this process may install the handlers (the binary's `main`).
static ENABLED: AtomicBool = AtomicBool::new(false);
/// The signal caught while writing, or 0.
static CAUGHT: AtomicUsize = AtomicUsize::new(0);
/// Whether a signal now ends the process at once.
static EXIT_AT_ONCE: AtomicBool = AtomicBool::new(true);
/// Whether the handlers were installed, once tried.
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// The signals `fix` stops on.
const SIGNALS: [i32; 2] = [SIGINT, SIGTERM];

/// A signal stopped the writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted by {}", name(self.0))]
pub(crate) struct Interrupted(pub(crate) i32);

impl Interrupted {
    /// The exit status for it, as a shell reports a process ended by it.
    pub(crate) fn status(self) -> u8 {
        u8::try_from(128 + self.0).unwrap_or(u8::MAX)
    }
}

impl From<Interrupted> for io::Error {
    fn from(i: Interrupted) -> Self {
        // Not `ErrorKind::Interrupted`: `write_all` and `io::copy` retry that.
        io::Error::other(i)
    }
}

fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// Lets [`defer`] install the handlers; the binary calls it.
pub(crate) fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

/// Signals are deferred while this lives; see the module documentation.
#[must_use]
pub(crate) struct Deferred(());

impl Drop for Deferred {
    fn drop(&mut self) {
        EXIT_AT_ONCE.store(true, Ordering::SeqCst);
    }
}

/// Defers SIGINT and SIGTERM until the returned guard is dropped: they
/// are recorded for [`check`] instead of ending the process.
pub(crate) fn defer() -> Deferred {
    if ENABLED.load(Ordering::SeqCst) && *INSTALLED.get_or_init(install) {
        EXIT_AT_ONCE.store(false, Ordering::SeqCst);
    }
    Deferred(())
}

/// Per signal, in this order (the actions run in the order they were
/// registered): exit with 128 + the signal number if signals end the
/// process at once; else record it; then make the next one end it at once.
/// Until [`defer`] clears [`EXIT_AT_ONCE`], right after this, a signal ends
/// the process much as its default action would; nothing is written yet.
/// Should a registration fail, signals go on ending the process at once,
/// which may leave a temporary file behind as a kill does. True if all
/// went well.
fn install() -> bool {
    SIGNALS.iter().all(|&signal| {
        signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, &EXIT_AT_ONCE)
            .and_then(|_| {
                signal_hook::flag::register_usize(
                    signal,
                    &CAUGHT,
                    usize::try_from(signal).unwrap_or(0),
                )
            })
            .and_then(|_| signal_hook::flag::register(signal, &EXIT_AT_ONCE))
            .is_ok()
    })
}

/// The signal caught while writing, if any.
pub(crate) fn caught() -> Option<Interrupted> {
    match CAUGHT.load(Ordering::Relaxed) {
        0 => None,
        s => Some(Interrupted(i32::try_from(s).unwrap_or(SIGTERM))),
    }
}

/// `Err` once a signal has been caught: writers call it between chunks.
pub(crate) fn check() -> Result<(), Interrupted> {
    caught().map_or(Ok(()), Err)
}

/// Sleeps for `d`, or less once a signal has been caught.
pub(crate) fn sleep(d: std::time::Duration) {
    let until = std::time::Instant::now() + d;
    while caught().is_none() {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(5)));
    }
}
