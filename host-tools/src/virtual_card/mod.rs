//! The virtual card: the card traits the emulators drive ([`VirtualCard`] behind vpcd,
//! [`FieldCard`] in the field of the emulated PN532, [`PersistentCard`] for a card that is saved
//! when the emulator stops), and [`EmulatedCard`], desfire-core's card model behind them.
//!
//! The emulators ([`crate::vpcd`], [`crate::pn532`]), the reader audit's test cards, the GEN-PACS
//! encoder and the `desfire` subcommands all take their cards from here.

use std::path::Path;

use desfire_core::picc::Activation;

use crate::card_image;

mod emulated;

pub use self::emulated::{EmulatedCard, ImageLink};

/// A card as vpcd sees it: an ATR, a power switch, an anticollision UID and APDUs.
///
/// `desfire_core::picc::Card` will implement this with one `impl` block; tests implement it
/// with small deterministic doubles.
pub trait VirtualCard {
    /// The ATR pcscd reports for the card. A contactless reader builds it from the ATS
    /// (PC/SC Part 3 §3.1.3.2.3); [`ATR_T1`] is the shortest one that selects T=1.
    fn atr(&self) -> &[u8];
    /// The field comes on: the card is activated (for a DESFire card: new anticollision UID when
    /// Random ID is on, no authentication, PICC level selected).
    fn power_on(&mut self);
    /// The field goes off: everything volatile is lost.
    fn power_off(&mut self);
    /// A warm reset: as power off then power on.
    fn reset(&mut self);
    /// The UID the card sent in anticollision for the current activation (4, 7 or 10 bytes).
    fn anticollision_uid(&self) -> &[u8];
    /// Processes one C-APDU and writes the R-APDU (data and status word) into `rapdu`,
    /// returning its length. `rapdu` holds at least [`crate::vpcd::MAX_RAPDU`] bytes.
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize;
    /// The reader answered `capdu` itself with `rapdu`, without the card: PC/SC GET DATA
    /// (see [`crate::vpcd::get_data`]). Nothing for a card to do; a recorder of the exchange (the reader
    /// audit's) notes it, since a UID-only reader reads nothing else.
    fn answered_by_reader(&mut self, _capdu: &[u8], _rapdu: &[u8]) {}
}

impl<C: VirtualCard + ?Sized> VirtualCard for Box<C> {
    fn atr(&self) -> &[u8] {
        (**self).atr()
    }
    fn power_on(&mut self) {
        (**self).power_on();
    }
    fn power_off(&mut self) {
        (**self).power_off();
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn anticollision_uid(&self) -> &[u8] {
        (**self).anticollision_uid()
    }
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        (**self).transmit(capdu, rapdu)
    }
    fn answered_by_reader(&mut self, capdu: &[u8], rapdu: &[u8]) {
        (**self).answered_by_reader(capdu, rapdu);
    }
}

impl<C: VirtualCard + ?Sized> VirtualCard for &mut C {
    fn atr(&self) -> &[u8] {
        (**self).atr()
    }
    fn power_on(&mut self) {
        (**self).power_on();
    }
    fn power_off(&mut self) {
        (**self).power_off();
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn anticollision_uid(&self) -> &[u8] {
        (**self).anticollision_uid()
    }
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        (**self).transmit(capdu, rapdu)
    }
    fn answered_by_reader(&mut self, capdu: &[u8], rapdu: &[u8]) {
        (**self).answered_by_reader(capdu, rapdu);
    }
}

/// A card as a contactless reader sees it: activated when the reader polls, then APDUs.
pub trait FieldCard {
    /// ISO/IEC 14443-3/-4 activation: the anticollision UID (fresh when Random ID is on) and the
    /// ATS (with its length byte TL first).
    fn activate(&mut self) -> Activation;
    /// Deselect, or the card leaves the field: everything volatile is lost.
    fn deactivate(&mut self);
    /// Processes one C-APDU and writes the R-APDU into `rapdu`, returning its length (0: mute).
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize;
}

impl<C: FieldCard + ?Sized> FieldCard for Box<C> {
    fn activate(&mut self) -> Activation {
        (**self).activate()
    }
    fn deactivate(&mut self) {
        (**self).deactivate();
    }
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        (**self).transmit(capdu, rapdu)
    }
}

/// A card that can be saved: what `desfire emulate` runs.
pub trait PersistentCard: VirtualCard + FieldCard + Send {
    /// Writes the card's state to `path`, as a card image (`specs/card-image.md`).
    fn save(&self, path: &Path) -> Result<(), card_image::FileError>;
}

/// `3B 81 80 01 80 80`: the ATR vpcd's documentation gives for a contactless card speaking T=1.
/// One historical byte, `80` (an empty compact-TLV category indicator), which is also what a
/// DESFire EV1 and later sends in its ATS.
pub const ATR_T1: [u8; 6] = [0x3B, 0x81, 0x80, 0x01, 0x80, 0x80];
