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
//! for a credential of one of the recorded genuine cards, never for any other; its output
//! (spec §14) must carry that credential.
//!
//! Input: see `desfire_fuzz::hostile::Input`.
#![no_main]

use std::sync::OnceLock;

use desfire_core::encoding::{Credential, Verdict, osdp_raw, osdp_raw_extended, osdp_raw_legacy};
use desfire_fuzz::hostile::{self, GOLDEN_READER_RNG, Input};
use desfire_fuzz::rng::{Nudged, TestRng};
use libfuzzer_sys::fuzz_target;

/// The recorded sessions of the genuine cards (examples/seeds.rs): the golden card, one without
/// tag 86, one on the lab deny-list.
const RECORDED: [&[u8]; 3] = [
    include_bytes!("../recorded/hostile_card.bin"),
    include_bytes!("../recorded/hostile_card_no-legacy.bin"),
    include_bytes!("../recorded/hostile_card_deny-listed.bin"),
];

static GENUINE: OnceLock<Vec<Credential>> = OnceLock::new();

fuzz_target!(
    init: {
        // The harness can see a GRANT: each recorded session, with the recorded randomness, is one.
        let genuine = RECORDED
            .iter()
            .map(|session| {
                let input = Input::parse(session).expect("a recorded session");
                match hostile::read(input, &mut TestRng(GOLDEN_READER_RNG)).verdict {
                    Verdict::Grant(c) => c.into_credential(),
                    other => panic!("a recorded genuine session no longer grants: {other:?}"),
                }
            })
            .collect();
        GENUINE.set(genuine).expect("once");
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
                assert!(
                    GENUINE.get().is_some_and(|g| g.contains(&c)),
                    "GRANT of a forged credential: {c:?}"
                );
                assert_eq!(osdp_raw(&c, 0)[4..], c.credential_id.to_be_bytes());
                assert_eq!(osdp_raw_extended(&c, 0)[8..16], c.credential_id.to_be_bytes());
                let mut legacy = [0u8; 20];
                assert_eq!(
                    osdp_raw_legacy(&c, 0, &mut legacy).is_ok(),
                    c.legacy_image.is_some()
                );
            }
        }
    }
);
