//! Arbitrary bytes as a named file (configuration or a rootfs tarball): the whole scan pipeline, in memory.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| promready_fuzz::check(promready_fuzz::Kind::NamedFile, data));
