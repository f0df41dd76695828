//! A driver for the NXP PN532 NFC front end, for a DESFire reader: HSU (UART), I2C and SPI
//! links over `embedded-io` / `embedded-hal` 1.0, the frame codec with its checksums, ACK,
//! NACK and extended frames, timeouts from a [`Clock`], and the commands that activate an
//! ISO/IEC 14443-4 A card and exchange APDUs with it (NXP UM0701-02).
//!
//! Nothing the PN532 or a card sends can panic it: every length is checked, every failure is
//! a typed [`Error`]. (The `pn532` crate on crates.io was not used: an earlier review found a
//! slice index that panics on a response length longer than its buffer.)
#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]

pub mod driver;
pub mod frame;
pub mod interface;

pub use driver::{Error, FirmwareVersion, MAX_EXCHANGE, Pn532, TargetA, Timeouts};
pub use interface::{BitOrder, Clock, Deadline, Hsu, I2c, Interface, LinkError, Spi};

#[cfg(test)]
extern crate std;

#[cfg(test)]
mod tests;
