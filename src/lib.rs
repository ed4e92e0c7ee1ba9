//! promready: make Kubernetes node images ready to be scraped by Prometheus
//! before they ship.
//!
//! The pipeline is `source → discover → model → rules → report`; see the
//! README for the user-facing interface and the layers of the code. This is
//! the façade: [`run`] is the whole CLI, callable in-process by tests, and
//! [`main`] runs it with the process's arguments and terminal.

mod archive;
mod budget;
mod cli;
mod config;
mod data;
mod discover;
mod escape;
mod exit;
mod finding;
mod fix;
/// In-process entry points for the fuzz targets in `ci/fuzz/` (not an interface).
#[doc(hidden)]
pub mod fuzzing;
mod interrupt;
mod model;
mod parse;
mod report;
mod rules;
mod scan;
mod sink;
mod source;
mod span;
mod suppress;
mod target;
mod text;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

pub use cli::{Cli, Outcome, Terminal, run};
pub use exit::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};

/// The width to draw reports in: the terminal's, else `COLUMNS`, else 100.
fn terminal_width() -> usize {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size_of(std::io::stdout()) {
        return usize::from(w).max(40);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&w| w >= 40)
        .unwrap_or(100)
}

/// Entry point of the binary: runs with the process's arguments and
/// terminal, and writes the outcome.
#[must_use]
pub fn main() -> ExitCode {
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let quiet = std::env::args_os().any(|a| a == "--quiet" || a == "-q");
    archive::progress::enable(!quiet);
    interrupt::enable();
    let outcome = run(
        std::env::args_os(),
        Terminal {
            color,
            width: terminal_width(),
        },
    );
    // A closed pipe (`promready scan … | head`) is not an error.
    let _ = stdout.lock().write_all(outcome.stdout.as_bytes());
    let _ = std::io::stderr()
        .lock()
        .write_all(outcome.stderr.as_bytes());
    ExitCode::from(outcome.status)
}
