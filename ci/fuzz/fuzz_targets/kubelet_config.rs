//! Arbitrary bytes as a `KubeletConfiguration`: the YAML parser (seeded with kubelet configurations).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| promready_fuzz::check(promready_fuzz::Kind::KubeletConfig, data));
