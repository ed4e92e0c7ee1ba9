//! The exit statuses of a run, which reports name too (SARIF's
//! `exitCode`).

/// Exit status: no findings.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status: findings were reported.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: usage or input error.
pub const EXIT_ERROR: u8 = 2;
