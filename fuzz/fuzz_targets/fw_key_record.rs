//! Arbitrary flash contents as the firmware's key record (`firmware/reader/src/provisioned.rs`):
//! a typed error or a record, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reader::provisioned::Provisioned;

fuzz_target!(|data: &[u8]| {
    let _ = Provisioned::parse(data, false);
    let _ = Provisioned::parse(data, true);
});
