//! Arbitrary bytes on the firmware's OSDP line (`firmware/reader/src/osdp`): the packet
//! receiver, the Secure Channel handshake and the command handlers never panic, and a card read
//! that is queued never leaves in a reply that is not encrypted (SCS_18).
#![no_main]

use libfuzzer_sys::fuzz_target;
use reader::osdp::Pd;
use reader::osdp::packet::Packet;

struct Counter(u64);

impl rand_core::RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for b in dst {
            *b = self.next_u64() as u8;
        }
    }
}

impl rand_core::CryptoRng for Counter {}

fuzz_target!(|data: &[u8]| {
    let mut pd = Pd::new(reader::lab::pd_config());
    let _ = pd.report_raw(&[
        0x00, 0x00, 0x40, 0x00, 0x1A, 0x2B, 0x3C, 0x4D, 0x5E, 0x6F, 0x70, 0x81,
    ]);
    let mut out = [0u8; 300];
    let mut rng = Counter(1);
    for b in data {
        if let Some(n) = pd.on_byte(*b, &mut rng, &mut out) {
            let reply = Packet::parse(&out[..n]).expect("the PD's own reply parses");
            assert!(reply.code != 0x50 || reply.scs() == Some(0x18));
        }
    }
});
