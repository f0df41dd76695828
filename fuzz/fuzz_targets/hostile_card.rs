//! A hostile card against the host's GEN-PACS reader procedure (`encoding::read_card`, spec
//! §12): every answer, frame, status word and length comes from the fuzzer, which knows no
//! key. The reader draws the recorded golden session's randomness with one byte changed
//! (`desfire_fuzz::rng::Nudged`), so the recorded answers (the seed) are one byte away from the
//! GRANT they ended in. Invariants: no panic, the verdict is a typed DENY (a §13 reason), never
//! a GRANT.
//!
//! With bit 7 of the flags byte the reader draws the recorded randomness itself (a card that
//! replays a recorded session with the same RndA: the world where the reader's RNG is known):
//! the MACed and enciphered answers then reach every later step, and a GRANT is allowed only
//! for the golden card's own credential, never for any other.
//!
//! Input: see `desfire_fuzz::hostile::Input`.
#![no_main]

use std::sync::OnceLock;

use desfire_core::encoding::{Credential, Verdict};
use desfire_fuzz::hostile::{self, GOLDEN_READER_RNG, Input};
use desfire_fuzz::rng::{Nudged, TestRng};
use libfuzzer_sys::fuzz_target;

/// The recorded golden session (examples/seeds.rs).
const GOLDEN: &[u8] = include_bytes!("../recorded/hostile_card.bin");

static GOLDEN_CREDENTIAL: OnceLock<Credential> = OnceLock::new();

fuzz_target!(
    init: {
        // The harness can see a GRANT: the recorded session with the recorded randomness is one.
        let input = Input::parse(GOLDEN).expect("the recorded session");
        match hostile::read(input, &mut TestRng(GOLDEN_READER_RNG)).verdict {
            Verdict::Grant(c) => GOLDEN_CREDENTIAL.set(c).expect("once"),
            other => panic!("the recorded golden session no longer grants: {other:?}"),
        }
    },
    |data: &[u8]| {
        let Some(input) = Input::parse(data) else {
            return;
        };
        let replay = input.flags & 0x80 != 0;
        let t = if replay {
            hostile::read(input, &mut TestRng(GOLDEN_READER_RNG))
        } else {
            hostile::read(input, &mut Nudged::new(TestRng(GOLDEN_READER_RNG)))
        };
        match t.verdict {
            Verdict::Deny(r) => {
                assert!((1..=21).contains(&r.id()), "{r:?}");
                assert!(!format!("{r}").is_empty());
            }
            Verdict::Grant(c) => {
                assert!(replay, "GRANT without the keys: {c:?}");
                assert_eq!(Some(&c), GOLDEN_CREDENTIAL.get(), "GRANT of a forged credential");
            }
        }
    }
);
