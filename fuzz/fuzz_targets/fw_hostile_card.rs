//! A hostile card and PN532 against the firmware's reader application (`firmware/reader`,
//! lab profile): the fuzzer plays the PN532 on the HSU line, so every frame, ACK, status byte,
//! length and card answer comes from it, and it knows no key. The reader draws the recorded
//! golden session's randomness with one byte changed, so the recorded PN532 stream (the seed)
//! is one byte away from the GRANT it ended in. Invariants over two polls: no panic, each
//! poll is idle (no card activated) or a typed DENY, nothing reaches the panel, the GRANT
//! signal is never shown.
//!
//! Input: a mode byte, then the PN532's bytes. Mode bit 0: the reader draws the recorded
//! randomness itself (the replay world, see hostile_card.rs): then one GRANT of the golden
//! card's credential ID is allowed, nothing else. Bit 1: the housing is open at the first poll
//! (tamper reported, no read). Bit 2: the panel is Wiegand only.
#![no_main]

use desfire_core::encoding::lab::CREDENTIAL_ID;
use desfire_fuzz::fw::{self, Line};
use desfire_fuzz::hostile::GOLDEN_READER_RNG;
use desfire_fuzz::rng::{Nudged, TestRng};
use libfuzzer_sys::fuzz_target;
use reader::{Event, Signal};

/// The recorded golden session (examples/seeds.rs): mode byte, PN532 stream.
const GOLDEN: &[u8] = include_bytes!("../recorded/fw_hostile_card.bin");

fuzz_target!(
    init: {
        let out = fw::run(Line { rx: &GOLDEN[1..] }, TestRng(GOLDEN_READER_RNG), false, false);
        assert_eq!(out.grants, 1, "the recorded golden session no longer grants: {out:?}");
    },
    |data: &[u8]| {
        let Some((&mode, stream)) = data.split_first() else {
            return;
        };
        let replay = mode & 0x01 != 0;
        let open_first = mode & 0x02 != 0;
        let wiegand_only = mode & 0x04 != 0;
        let line = Line { rx: stream };
        let out = if replay {
            fw::run(line, TestRng(GOLDEN_READER_RNG), open_first, wiegand_only)
        } else {
            fw::run(line, Nudged::new(TestRng(GOLDEN_READER_RNG)), open_first, wiegand_only)
        };
        for (i, e) in out.events.iter().enumerate() {
            match e {
                Event::Idle => {}
                Event::Denied(r) => assert!((1..=21).contains(&r.id()), "{r:?}"),
                // A GRANT, whether the panel took its read yet or not.
                Event::Granted(id) | Event::Queued(id) | Event::NotTaken(id) => {
                    assert!(replay, "GRANT without the keys: {id:016X}");
                    assert_eq!(*id, CREDENTIAL_ID, "GRANT of a forged credential");
                }
                Event::Tamper(open) => {
                    assert!(open_first && i < 2, "tamper event from a closed housing");
                    assert_eq!(*open, i == 0);
                }
            }
        }
        assert_eq!(out.tamper_reports, if open_first { 2 } else { 0 });
        if !replay {
            assert_eq!(out.grants, 0, "the panel got a credential: {out:?}");
            assert!(!out.signals.contains(&Signal::Grant));
        }
        assert!(out.grants <= 1, "{out:?}");
    }
);
