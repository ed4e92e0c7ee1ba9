//! Arbitrary bytes as the kubelet's environment file: `scan`, `fix --diff`, `fix`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| promready_fuzz::check(promready_fuzz::Kind::EnvFile, data));
