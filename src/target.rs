//! What one scanned input became: its files, the components found in it
//! and their findings. Scanning produces targets; fixing and reporting read
//! them.

use std::path::PathBuf;

use crate::finding::Finding;
use crate::model::{Invocation, VersionInfo};
use crate::source::{FileDb, Notice};

/// What kind of input a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum InputKind {
    /// An unpacked root filesystem.
    Rootfs,
    /// A directory of configuration files (a kubeadm config repository).
    Directory,
    /// Files named on the command line.
    Files,
    /// A rootfs tarball (`.tar`, `.tar.gz`, `.tar.zst`).
    Archive,
}

/// One scanned input.
pub(crate) struct Target {
    /// The path as given on the command line (the first one, for named files).
    pub(crate) input: PathBuf,
    pub(crate) kind: InputKind,
    pub(crate) files: FileDb,
    pub(crate) notices: Vec<Notice>,
    /// Named files that hold no configuration promready reads (shown with
    /// `--verbose`; always in JSON and SARIF).
    pub(crate) skipped: Vec<Notice>,
    /// The version the input as a whole points at.
    pub(crate) version: Option<VersionInfo>,
    pub(crate) invocations: Vec<Invocation>,
    pub(crate) findings: Vec<Finding>,
}
