//! What one scan may hold: the budgets that keep a small hostile input from
//! taking gigabytes or minutes.
//!
//! A scan (every input of one run, `scan_inputs`) starts with [`start`]
//! and ends with [`finish`]; in between, the file database charges the
//! bytes it holds, the YAML parser the nodes it builds, and command-line
//! expansion is checked before it is built. Going over a budget refuses
//! the work and records why; the input being scanned then fails with exit
//! status 2 and that reason ([`take_exceeded`]). Outside a scan (loading
//! promready's own rules, planning fixes) nothing is counted.
//!
//! The state is per thread: one scan runs on one thread (archive decoding
//! threads only hand bytes over), and tests run scans in parallel.

use std::cell::RefCell;

/// Bytes of file contents held across all files of one scan (256 MiB):
/// the text and its line index.
pub(crate) const MAX_TOTAL_BYTES: u64 = 256 * 1024 * 1024;
/// YAML nodes built across all files of one scan (1,000,000; a kubelet
/// configuration has about a hundred).
pub(crate) const MAX_YAML_NODES: u64 = 1_000_000;
/// Bytes of one command line after `$VAR` expansion (1 MiB; Linux refuses
/// an argument list over 2 MiB in all), counted before it is built.
pub(crate) const MAX_COMMAND_LINE: usize = 1024 * 1024;

#[derive(Default)]
struct State {
    active: bool,
    bytes: u64,
    exceeded: Option<String>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// Starts counting for a scan.
pub(crate) fn start() {
    STATE.with_borrow_mut(|s| {
        *s = State {
            active: true,
            ..State::default()
        }
    });
    limit_nodes(Some(MAX_YAML_NODES));
}

/// Stops counting.
pub(crate) fn finish() {
    STATE.with_borrow_mut(|s| *s = State::default());
    limit_nodes(None);
}

/// Why the scan went over a budget, if it did (reported once).
pub(crate) fn take_exceeded() -> Option<String> {
    if nodes_exceeded() {
        exceeded(format!(
            "the YAML files read hold more than {MAX_YAML_NODES} nodes, the limit for one run"
        ));
    }
    STATE.with_borrow_mut(|s| s.exceeded.take())
}

/// Records that a budget was exceeded (the first reason is kept).
pub(crate) fn exceeded(why: String) {
    STATE.with_borrow_mut(|s| {
        if s.active && s.exceeded.is_none() {
            s.exceeded = Some(why);
        }
    });
}

/// Charges `n` bytes held for `path`; `false` (and the reason recorded)
/// when that goes over [`MAX_TOTAL_BYTES`].
pub(crate) fn hold_bytes(n: u64, path: &str) -> bool {
    let over = STATE.with_borrow_mut(|s| {
        if !s.active {
            return false;
        }
        s.bytes = s.bytes.saturating_add(n);
        s.bytes > MAX_TOTAL_BYTES
    });
    if over {
        exceeded(format!(
            "the files read so far hold more than the {MAX_TOTAL_BYTES}-byte limit for one run (at {})",
            crate::escape::escape(path, crate::escape::Shown::Inline)
        ));
    }
    !over
}

/// What cooked text costs per byte held: the byte and its origin (see
/// `text::Cooked`).
const COOKED_BYTE: u64 = 13;

/// Charges the cooked values parsed from the file at `path` (`len` bytes
/// of text): values taken from a file are held with their origins, 13
/// bytes per byte, on top of the file itself. `false` when that goes over
/// [`MAX_TOTAL_BYTES`]; the values should then not be used.
pub(crate) fn hold_cooked(len: usize, path: &str) -> bool {
    hold_bytes((len as u64).saturating_mul(COOKED_BYTE), path)
}

thread_local! {
    /// Nodes the files of the current scan may still build (`None`: no
    /// scan, no limit); set by [`start`].
    static NODES_LEFT: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
    /// The limit that was set, for messages; 0 once it was exceeded.
    static NODES_LIMIT: std::cell::Cell<(u64, bool)> = const { std::cell::Cell::new((0, false)) };
}

/// Limits the YAML nodes that parsing builds on this thread from now on
/// (`None`: no limit).
fn limit_nodes(limit: Option<u64>) {
    NODES_LEFT.set(limit);
    NODES_LIMIT.set((limit.unwrap_or(0), false));
}

/// Whether parsing went over the limit since it was set (reported once).
fn nodes_exceeded() -> bool {
    let (limit, over) = NODES_LIMIT.get();
    NODES_LIMIT.set((limit, false));
    over
}

/// Takes `n` nodes of the YAML budget; `false` (and recorded) when that
/// goes over it.
pub(crate) fn take_nodes(n: u64) -> bool {
    match NODES_LEFT.get() {
        None => true,
        Some(left) if left >= n => {
            NODES_LEFT.set(Some(left - n));
            true
        }
        Some(_) => {
            NODES_LEFT.set(Some(0));
            NODES_LIMIT.set((NODES_LIMIT.get().0, true));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_count_only_during_a_scan() {
        finish();
        assert!(hold_bytes(MAX_TOTAL_BYTES * 2, "x"));
        start();
        assert!(hold_bytes(MAX_TOTAL_BYTES, "a"));
        assert!(!hold_bytes(1, "b"));
        assert!(take_exceeded().is_some_and(|m| m.contains("(at b)")));
        assert!(take_exceeded().is_none());
        assert!(take_nodes(MAX_YAML_NODES));
        assert!(!take_nodes(1));
        assert!(take_exceeded().is_some_and(|m| m.contains("nodes, the limit")));
        finish();
        assert!(take_exceeded().is_none());
    }
}
