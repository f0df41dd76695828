//! Arbitrary bytes as trace text: the decoder and both renderings never panic.
//!
//! The decoder starts inside a known session (the AN12196 T14 session keys, TI 9D00C4DF) and has
//! the all-zero key for every key number, so MAC checks, counter resynchronisation, decryption
//! attempts and authentication handling all run on fuzzed frames, not only the text parser.
#![no_main]

use host_tools::args::{KeySpec, SessionSpec};
use host_tools::trace::{DecodeConfig, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = DecodeConfig {
        keys: vec![KeySpec::parse("key", "00000000000000000000000000000000").unwrap()],
        start: Some(
            SessionSpec::parse(
                "session",
                "0:9D00C4DF:1309C877509E5A215007FF0ED19CA564:4C6626F5E72EA694202139295C7A7FC7:0",
            )
            .unwrap(),
        ),
    };
    let text = String::from_utf8_lossy(data);
    let decoded = decode(&text, &config);
    let _ = decoded.to_json_pretty();
    let mut human = Vec::new();
    let _ = decoded.write_human(&mut human);
});
