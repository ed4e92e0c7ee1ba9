//! Arbitrary bytes as a drop-in: the unit parser, then every value split into words and parsed as flags.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| promready_fuzz::check(promready_fuzz::Kind::DropIn, data));
