//! Arbitrary bytes as a static pod manifest: the YAML parser (seeded with static pods).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| promready_fuzz::check(promready_fuzz::Kind::StaticPod, data));
