//! Sequences of arbitrary C-APDUs against a fresh virtual card (with one application, files of
//! every type and the zero keys, so that authenticated paths are reachable): the card never
//! panics, always answers with a status word, and its NVM image always decodes to exactly the
//! state it works on.
//!
//! Input: frames as a length byte and that many bytes. A length byte of `FF` is an activation
//! (deselect + reselect) instead of a frame.
#![no_main]

use desfire_core::picc::{Card, CardConfig, NVM_LEN, RamNvm, State};
use libfuzzer_sys::fuzz_target;

struct Rng(u64);

impl rand_core::RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for b in dst {
            *b = self.next_u64() as u8;
        }
    }
}
impl rand_core::CryptoRng for Rng {}

fuzz_target!(|data: &[u8]| {
    let state = State::factory([4, 1, 2, 3, 4, 5, 6]);
    let mut card = Box::new(
        Card::create(
            RamNvm::<NVM_LEN>::new(),
            Rng(1),
            CardConfig::default(),
            state,
        )
        .unwrap(),
    );
    // A starting shape: one application with a file of each type, free access.
    for apdu in [
        &b"\x90\xCA\x00\x00\x05\x01\x00\x00\x0F\x83\x00"[..],
        b"\x90\x5A\x00\x00\x03\x01\x00\x00\x00",
        b"\x90\xCD\x00\x00\x07\x00\x00\xEE\xEE\x20\x00\x00\x00",
        b"\x90\xCB\x00\x00\x07\x01\x00\xEE\xEE\x20\x00\x00\x00",
        b"\x90\xCC\x00\x00\x11\x02\x00\xEE\xEE\x00\x00\x00\x00\x64\x00\x00\x00\x0A\x00\x00\x00\x01\x00",
        b"\x90\xC0\x00\x00\x0A\x03\x00\xEE\xEE\x04\x00\x00\x03\x00\x00\x00",
    ] {
        let mut r = [0u8; 300];
        assert!(card.process(apdu, &mut r) >= 2);
    }
    let mut rest = data;
    let mut rapdu = [0u8; 300];
    while let Some((&len, tail)) = rest.split_first() {
        if len == 0xFF {
            card.activate();
            rest = tail;
            continue;
        }
        let (frame, tail) = tail.split_at(usize::from(len).min(tail.len()));
        rest = tail;
        let n = card.process(frame, &mut rapdu);
        assert!((2..=rapdu.len()).contains(&n));
        assert!(
            card.image_matches(),
            "NVM image diverged from the card state"
        );
    }
});
