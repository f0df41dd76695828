//! A sans-IO, `no_std`, heap-free engine for MIFARE DESFire EV3 (with EV2 secure messaging).
//!
//! The crate never performs I/O, never blocks, and never reads a clock or an entropy source: it
//! emits frames into caller buffers and consumes response frames. What the platform provides
//! comes from the caller: randomness as a `rand_core::CryptoRng`, the link as a
//! [`pcd::Transport`] (over which [`pcd::Desfire`] and the GEN-PACS procedures run), the card
//! side's memory as a [`picc::nvm::Nvm`], and time as Unix seconds. The block cipher is one type
//! alias, [`crypto::Aes128`], and ECDSA P-256 one trait, [`crypto::ecdsa_p256::EcdsaP256`], whose
//! implementation is chosen at build time; a platform with an AES peripheral or its own ECDSA
//! code changes one module. So the same engine runs over PC/SC, a PN532, the virtual card, the
//! reference firmware and the fuzzer unchanged.
//!
//! Layers, bottom up:
//! - [`wire`]: ISO/IEC 7816-4 wrapping of native commands, the native command table, status
//!   words, typed identifiers, a checked cursor over untrusted bytes.
//! - [`crypto`]: AES-CMAC and MACt, ISO/IEC 9797-1 padding, CBC, CRC32, AN10922 diversification,
//!   the EV2 handshake, session keys and secure messaging, the EV1 session key rule, LRP key
//!   schedules, ECDSA P-256 verification and originality signatures.
//! - [`pcd`]: the reader side (proximity coupling device): AuthenticateEV2First/NonFirst,
//!   secure messaging, command builders and response parsers, and a [`pcd::Transport`] driver.
//! - [`picc`]: the card side (proximity integrated circuit card): a virtual DESFire EV3 with
//!   persistent state behind an NVM journal.
//! - [`encoding`]: GEN-PACS v1, the access-control encoding over both sides: the credential
//!   format, the key map, issuer signatures, the personalisation plan and the reader procedure,
//!   which ends in a GRANT built from the proofs of its checks or a typed DENY.
//!
//! Logging goes through one internal shim (`log`, `defmt` or nothing, by feature) that is never
//! given a secret.
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
