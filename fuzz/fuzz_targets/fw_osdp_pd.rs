//! Arbitrary bytes on the firmware's OSDP line (`firmware/reader/src/osdp`): the packet
//! receiver, the Secure Channel handshake and the command handlers never panic, and a card read
//! that is queued never leaves in a reply that is not encrypted (SCS_18). The PD draws the
//! randomness the seed sessions of a panel with the lab SCBK were recorded with.
#![no_main]

use desfire_fuzz::osdp_cp::GOLDEN_PD_RNG;
use desfire_fuzz::rng::TestRng;
use libfuzzer_sys::fuzz_target;
use reader::osdp::Pd;
use reader::osdp::packet::Packet;

fuzz_target!(|data: &[u8]| {
    let mut pd = Pd::new(reader::lab::pd_config());
    let _ = pd.report_raw(&[
        0x00, 0x00, 0x40, 0x00, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E, 0x6F, 0x70, 0x81,
    ]);
    let mut out = [0u8; 300];
    // The randomness the seed sessions were recorded with: a recorded panel session replays,
    // so the fuzzer works inside an open Secure Channel too.
    let mut rng = TestRng(GOLDEN_PD_RNG);
    for b in data {
        if let Some(n) = pd.on_byte(*b, &mut rng, &mut out) {
            let reply = Packet::parse(&out[..n]).expect("the PD's own reply parses");
            assert!(reply.code != 0x50 || reply.scs() == Some(0x18));
        }
    }
});
