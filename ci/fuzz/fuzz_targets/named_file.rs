//! Arbitrary bytes as a configuration file named on the command line: `scan`, `fix --diff`, `fix`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| promready_fuzz::check(promready_fuzz::Kind::NamedFile, data));
