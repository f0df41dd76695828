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

#[cfg(test)]
mod tests {
    /// Every public error type of the crate implements `Display` and `core::error::Error`
    /// (with the transport's or the memory's error where it is generic).
    #[test]
    fn public_errors_are_errors() {
        fn is_error<E: core::error::Error>() {}
        type Nvm = crate::picc::nvm::PowerCut;
        is_error::<crate::wire::Error>();
        is_error::<crate::crypto::CryptoError>();
        is_error::<crate::pcd::ProtocolError>();
        is_error::<crate::pcd::Error>();
        is_error::<crate::pcd::Error<crate::picc::nvm::PowerCut>>();
        is_error::<crate::pcd::commands::InvalidParameter>();
        is_error::<crate::picc::OpenError<Nvm>>();
        is_error::<crate::picc::nvm::StoreError<Nvm>>();
        is_error::<Nvm>();
        is_error::<crate::picc::image::ImageError>();
        is_error::<crate::encoding::CredentialError>();
        is_error::<crate::encoding::SignatureError>();
        is_error::<crate::encoding::KeyUnavailable>();
        is_error::<crate::encoding::ProvisionError<Nvm>>();
        is_error::<crate::encoding::DenyReason>();
        is_error::<crate::encoding::TransportFault>();
    }
}
