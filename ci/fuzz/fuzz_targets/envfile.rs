//! Arbitrary bytes as an environment file: its parser, then every value split as `$VAR` and parsed as flags.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| promready_fuzz::check(promready_fuzz::Kind::EnvFile, data));
