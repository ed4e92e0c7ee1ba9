//! Arbitrary bytes as a kubeadm configuration file: the YAML parser (seeded with kubeadm configurations).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| promready_fuzz::check(promready_fuzz::Kind::KubeadmDir, data));
