//! Sequences of arbitrary C-APDUs against a fresh virtual card (`desfire_fuzz::picc::card`: one
//! application, files of every type and the zero keys, so that authenticated paths are
//! reachable; the seeds hold sessions recorded with it): the card never panics, always answers
//! with a status (ISO or native framing), and its NVM image always decodes to exactly the state
//! it works on.
//!
//! Input: frames as a length byte and that many bytes. A length byte of `FF` is an activation
//! (deselect + reselect) instead of a frame.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut card = desfire_fuzz::picc::card();
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
        // An ISO 7816-4 answer ends in a 2-byte status word; a native one (`INS data`
        // framing) starts with its 1-byte status: at least one byte either way.
        let n = card.process(frame, &mut rapdu);
        assert!((1..=rapdu.len()).contains(&n));
        assert!(
            card.image_matches(),
            "NVM image diverged from the card state"
        );
    }
});
