//! Arbitrary bytes as a file in a kubeadm configuration directory: `scan`, `fix --diff`, `fix`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| promready_fuzz::check(promready_fuzz::Kind::KubeadmDir, data));
