//! The virtual card of the picc_apdus target: a factory card with a deterministic RNG and one
//! application holding a file of each type with free access, so that the seed generator can
//! record authenticated sessions with it that replay exactly.

use desfire_core::picc::{Card, CardConfig, NVM_LEN, RamNvm, State};

/// The card's RNG: a 64-bit LCG (deterministic, so recorded sessions replay).
#[derive(Debug, Clone)]
pub struct Lcg(pub u64);

impl rand_core::RngCore for Lcg {
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

impl rand_core::CryptoRng for Lcg {}

/// The card under test.
pub type FuzzCard = Card<RamNvm<NVM_LEN>, Lcg>;

/// The starting shape: application 000001 (three AES keys, all zero) with a standard, a backup,
/// a value and a cyclic record file, free access, plain.
pub const SETUP: [&[u8]; 6] = [
    b"\x90\xCA\x00\x00\x05\x01\x00\x00\x0F\x83\x00",
    b"\x90\x5A\x00\x00\x03\x01\x00\x00\x00",
    b"\x90\xCD\x00\x00\x07\x00\x00\xEE\xEE\x20\x00\x00\x00",
    b"\x90\xCB\x00\x00\x07\x01\x00\xEE\xEE\x20\x00\x00\x00",
    b"\x90\xCC\x00\x00\x11\x02\x00\xEE\xEE\x00\x00\x00\x00\x64\x00\x00\x00\x0A\x00\x00\x00\x01\x00",
    b"\x90\xC0\x00\x00\x0A\x03\x00\xEE\xEE\x04\x00\x00\x03\x00\x00\x00",
];

/// A fresh card in the starting shape.
pub fn card() -> Box<FuzzCard> {
    let mut card = Box::new(
        Card::create(
            RamNvm::<NVM_LEN>::new(),
            Lcg(1),
            CardConfig::default(),
            State::factory([4, 1, 2, 3, 4, 5, 6]),
        )
        .expect("a factory card"),
    );
    for apdu in SETUP {
        let mut r = [0u8; 300];
        assert!(card.process(apdu, &mut r) >= 2);
    }
    card
}
