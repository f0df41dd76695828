//! GEN-PACS v1: the generic DESFire EV3 access-control encoding. The normative text is
//! `specs/generic-encoding.md` (with decision record 0004); "§" below means its sections.
//!
//! - [`credential`]: the credential file (file 01) content, its builder and its parser over
//!   untrusted bytes (§8).
//! - [`lab`]: the public TEST values of §16.1 (issuer, issuer key pair, the §9 credential).
//! - [`keys`]: the key map and AN10922 diversification per card (§5, §6), and the
//!   [`KeyProvider`] through which procedures get per-card keys.
//! - [`provision`]: the personalisation order (§18) as typed steps, ordered so that an
//!   interruption never leaves a key nobody knows.
//! - [`reader`]: the reader procedure (§12), ending in a [`Verdict::Grant`], which only the
//!   proofs of its checks build ([`reader::proof`]), or a [`Verdict::Deny`] with the typed
//!   [`DenyReason`] of §13.
//! - [`traffic`]: a transport wrapper counting frames and bytes.
//! - [`signature`]: the exact to-be-signed bytes and ECDSA P-256 / SHA-256 over them (§8.6).
//!
//! Everything here is `no_std` and heap-free, and performs no I/O of its own: the procedures
//! (the reader's, the personalisation's steps) exchange frames through the caller's
//! [`crate::pcd::Transport`], and time comes in as Unix seconds.

pub mod credential;
pub mod keys;
pub mod lab;
pub mod provision;
pub mod reader;
pub mod signature;
pub mod traffic;

pub use self::credential::{
    CCF_FILE_SIZE, Credential, CredentialError, ExtraTlv, FORMAT_MAJOR, FORMAT_MINOR, IssuerId,
    KeyId, LegacyImage, ParsedCcf, SignatureAlgorithm, SiteCode,
};
pub use self::keys::{
    AppKey, CardKey, KEY_VERSION, KeyProvider, KeyUnavailable, Masters, SystemId,
    diversification_input, diversify,
};
pub use self::provision::{PLAN, ProvisionError, Provisioning, Step};
pub use self::reader::{
    DenyCode, DenyReason, Framing, Grant, OriginalityCheck, OriginalityPolicy, OutputFormat,
    ReaderConfig, Revocation, Transaction, TransportFault, Verdict, check_revocation, check_sak,
    check_validity, osdp_raw, osdp_raw_extended, osdp_raw_legacy, read_card, select_gen_pacs,
};
pub use self::signature::{
    IssuerKey, IssuerSigner, IssuerSigningKey, SIGNATURE_LEN, SignatureError, SignatureVerified,
    TBS_PREFIX, TbsDigest, normalise_signature, tbs_digest, verify_signature, verify_signature_at,
};
pub use self::traffic::{Metered, Traffic};

use crate::wire::{Aid, FileNo};

/// The credential file's number in the application (§7).
// Evaluated at compile time: a bad constant fails the build, never a run.
#[allow(clippy::panic)]
pub const CCF_FILE_NO: FileNo = match FileNo::new(0x01) {
    Some(f) => f,
    None => panic!("file number out of range"),
};

/// The TEST lab application identifier `0x0AC501` (non-MAD; on the wire `01 C5 0A`), §4.1.
/// Production AIDs are `0xF MMMM 1` from a MAD registration.
pub const LAB_AID: Aid = match Aid::new(0x0A_C5_01) {
    Some(aid) => aid,
    None => Aid::PICC,
};

/// The real (not random) 7-byte UID returned by `GetCardUID`; diversification and the
/// signature bind to it (§6, §8.6).
pub type RealUid = [u8; 7];
