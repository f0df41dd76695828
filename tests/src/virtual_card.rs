//! The reader and the card in one process: `pcd::Desfire` over a transport that hands every
//! frame to a `picc::Card` in RAM, with a deterministic RNG. Shared by the loopback, GEN-PACS
//! and tearing tests.

use desfire_core::pcd::{Desfire, FrameSize, Transport};
use desfire_core::picc::{Card, CardConfig, NVM_LEN, RamNvm, State};

/// A deterministic `CryptoRng` (xorshift64*): fine for tests, never for a card.
#[derive(Debug, Clone)]
pub struct TestRng(pub u64);

impl rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

impl rand_core::CryptoRng for TestRng {}

/// The virtual card the tests use.
pub type VCard = Card<RamNvm<NVM_LEN>, TestRng>;

/// A transport that hands every frame to the card.
#[derive(Debug)]
pub struct Loop {
    /// The card behind the transport.
    pub card: Box<VCard>,
}

impl Transport for Loop {
    type Error = std::convert::Infallible;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.card.process(capdu, rapdu))
    }
}

/// A card in delivery state with this UID.
pub fn factory_card_with(uid: [u8; 7]) -> Box<VCard> {
    Box::new(
        Card::create(
            RamNvm::<NVM_LEN>::new(),
            TestRng(0x1234_5678),
            CardConfig::default(),
            State::factory(uid),
        )
        .expect("a factory card"),
    )
}

/// The reader driver over the card, short APDUs.
pub fn desfire(card: Box<VCard>) -> Desfire<Loop> {
    Desfire::new(Loop { card }, FrameSize::SHORT_APDU)
}
