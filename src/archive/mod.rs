//! Rootfs tarballs: `.tar`, `.tar.gz` and `.tar.zst`, recognised by their
//! magic bytes. Scanning indexes the archive in one streaming pass and keeps
//! only candidate configuration files in memory; fixing rewrites it in one
//! pass, copying every unchanged entry byte for byte.

mod decode;
mod gzip;
mod input;
mod paths;
pub(crate) mod progress;
mod rewrite;
mod tree;
pub(crate) mod walk;

pub(crate) use input::{Compression, detect};
pub(crate) use rewrite::{check_output, rewrite};
pub(crate) use tree::{TarIndex, TarTree};
