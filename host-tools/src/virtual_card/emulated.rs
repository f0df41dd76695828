//! [`EmulatedCard`]: desfire-core's card model in RAM as a virtual card, and [`ImageLink`], the
//! same card as a reader's transport in process.

use std::convert::Infallible;
use std::path::Path;

use desfire_core::pcd::Transport;
use desfire_core::picc::{self, NVM_LEN, RamNvm};

use super::{FieldCard, PersistentCard, VirtualCard};
use crate::card_image::{self, CardImage};

/// The card model of desfire-core behind vpcd or the emulated PN532: a [`picc::Card`] in RAM,
/// randomness from the OS.
pub struct EmulatedCard {
    card: Box<picc::Card<RamNvm<NVM_LEN>, OsRandom>>,
    uid: Vec<u8>,
}

type OsRandom = rand_core::UnwrapErr<rand_core::OsRng>;

impl EmulatedCard {
    /// A card holding `image`, powered off.
    pub fn from_image(image: CardImage) -> Result<Self, card_image::ImageError> {
        Self::from_image_with(image, picc::CardConfig::default())
    }

    /// A card holding `image` with `config` (e.g. another frame size), powered off.
    pub fn from_image_with(
        image: CardImage,
        config: picc::CardConfig,
    ) -> Result<Self, card_image::ImageError> {
        let card = image.into_card_with(rand_core::UnwrapErr(rand_core::OsRng), config)?;
        Ok(Self {
            card: Box::new(card),
            uid: Vec::new(),
        })
    }

    /// The persistent state, for tests and `--save`.
    pub fn state(&self) -> &picc::State {
        self.card.state()
    }
}

impl std::fmt::Debug for EmulatedCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The card holds keys: show only what the field shows.
        f.debug_struct("EmulatedCard")
            .field("uid", &hex::encode_upper(&self.uid))
            .finish_non_exhaustive()
    }
}

impl VirtualCard for EmulatedCard {
    fn atr(&self) -> &[u8] {
        &super::ATR_T1
    }

    fn power_on(&mut self) {
        // A new activation: a new random UID when Random ID is on (issue 3), PICC selected.
        self.uid = self.card.activate().uid.to_vec();
    }

    fn power_off(&mut self) {
        self.card.deactivate();
    }

    fn reset(&mut self) {
        self.power_off();
        self.power_on();
    }

    fn anticollision_uid(&self) -> &[u8] {
        &self.uid
    }

    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        self.card.process(capdu, rapdu)
    }
}

impl FieldCard for EmulatedCard {
    fn activate(&mut self) -> picc::Activation {
        let activation = self.card.activate();
        self.uid = activation.uid.to_vec();
        activation
    }

    fn deactivate(&mut self) {
        self.card.deactivate();
    }

    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        self.card.process(capdu, rapdu)
    }
}

impl PersistentCard for EmulatedCard {
    fn save(&self, path: &Path) -> Result<(), card_image::FileError> {
        card_image::save(path, &CardImage::from_state(self.card.state()))
    }
}

/// A card image's card as a transport, in process.
#[derive(Debug)]
pub struct ImageLink<'a>(pub &'a mut EmulatedCard);

impl Transport for ImageLink<'_> {
    type Error = Infallible;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(VirtualCard::transmit(self.0, capdu, rapdu))
    }
}
