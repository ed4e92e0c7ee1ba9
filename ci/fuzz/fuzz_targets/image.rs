//! Arbitrary bytes as a whole image: unit, drop-in, environment file,
//! `KubeletConfiguration` and static pod, separated by `\0\0`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| promready_fuzz::check_image(data));
