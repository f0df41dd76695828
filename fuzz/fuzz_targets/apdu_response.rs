//! Placeholder so the fuzz crate builds; replaced by the real APDU response target.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = data.len();
});
