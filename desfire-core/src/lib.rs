//! A sans-IO, `no_std`, heap-free engine for MIFARE DESFire EV3 (with EV2 secure messaging).
//!
//! The crate never performs I/O, never blocks, and never reads a clock or an entropy source: it
//! emits frames into caller buffers and consumes response frames. Randomness and the block
//! cipher come in through traits, so the same engine runs over PC/SC, a PN532, the virtual card,
//! the reference firmware and the fuzzer unchanged.
//!
//! Layers, bottom up:
//! - [`wire`]: ISO/IEC 7816-4 wrapping of native commands, status words, typed identifiers,
//!   a checked cursor over untrusted bytes.
//! - [`crypto`]: AES-CMAC and MACt, ISO/IEC 9797-1 padding, CBC, CRC32, AN10922 diversification,
//!   EV2 session keys and IVs, originality signatures.
//! - [`pcd`]: the reader side (proximity coupling device): AuthenticateEV2First/NonFirst,
//!   secure messaging, command builders and response parsers, and a [`pcd::Transport`] driver.
//! - [`picc`]: the card side (proximity integrated circuit card): a virtual DESFire EV3 with
//!   persistent state behind an NVM journal.
#![no_std]
#![forbid(unsafe_code)]
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::expect_used,
        clippy::panic,
        clippy::arithmetic_side_effects
    )
)]
#![warn(missing_docs)]

#[macro_use]
mod log;

pub mod crypto;
pub mod encoding;
pub mod pcd;
pub mod picc;
pub mod wire;
