//! An attacker on the OSDP bus without the SCBK, playing the control panel against the
//! firmware's PD (`firmware/reader/src/osdp`) while a card read is queued. The PD draws the
//! recorded panel session's randomness with one byte changed, so that session replayed (a
//! seed) is one byte away from the Secure Channel it opened. Invariants: no panic; no reply
//! carries the card read (osdp_RAW) or the credential ID's bytes; no session is established;
//! afterwards the real panel (lab SCBK) still opens a session and gets exactly the queued read.
//!
//! Input: the bytes the attacker puts on the line.
#![no_main]

use desfire_fuzz::osdp_cp::{CARD, Cp, GOLDEN_PD_RNG};
use desfire_fuzz::rng::{Nudged, TestRng};
use libfuzzer_sys::fuzz_target;
use reader::osdp::Pd;
use reader::osdp::packet::Packet;

/// The recorded session of the real panel (examples/seeds.rs).
const GOLDEN: &[u8] = include_bytes!("../recorded/fw_osdp_attacker.bin");

fn pd() -> Pd {
    let mut pd = Pd::new(reader::lab::pd_config());
    pd.report_raw(&CARD).expect("an empty queue");
    pd
}

fuzz_target!(
    init: {
        // The harness can see a session: the recorded one, with the recorded randomness, opens.
        let mut pd = pd();
        let mut rng = TestRng(GOLDEN_PD_RNG);
        let mut out = [0u8; 300];
        for b in GOLDEN {
            let _ = pd.on_byte(*b, &mut rng, &mut out);
        }
        assert!(pd.is_secure(), "the recorded panel session no longer opens");
    },
    |data: &[u8]| {
        let mut pd = pd();
        let mut rng = Nudged::new(TestRng(GOLDEN_PD_RNG));
        let mut out = [0u8; 300];
        for b in data {
            if let Some(n) = pd.on_byte(*b, &mut rng, &mut out) {
                let reply = Packet::parse(&out[..n]).expect("the PD's own reply parses");
                assert_ne!(reply.code, 0x50, "a card read left without the SCBK");
                assert!(
                    !out[..n].windows(8).any(|w| w == &CARD[4..]),
                    "the credential ID in clear"
                );
            }
            assert!(!pd.is_secure(), "a Secure Channel without the SCBK");
        }
        let raws = Cp::new(reader::lab::LAB_SCBK)
            .serve(&mut pd, &mut rng)
            .expect("the PD serves the real panel after the attack");
        assert_eq!(raws, vec![CARD.to_vec()]);
    }
);
