//! GEN-PACS v1: the generic DESFire EV3 access-control encoding (design input
//! `ENCODING-DRAFT.md` §6; the normative text will be `specs/generic-encoding.md`).
//!
//! - [`credential`]: the Credential Container File (CCF) content, its builder and its parser
//!   over untrusted bytes (§6.7, §6.8).
//! - [`keys`]: the key map and AN10922 diversification per card (§6.4, §6.5), and the
//!   [`KeyProvider`] through which procedures get per-card keys.
//! - [`provision`]: the provisioning plan (§6.2-§6.6) as typed steps, ordered so that an
//!   interruption never leaves a key nobody knows.
//! - [`reader`]: the reader procedure (§6.11), ending in [`Verdict::Grant`] or
//!   [`Verdict::Deny`] with a typed [`DenyReason`].
//! - [`traffic`]: a transport wrapper counting frames and bytes.
//! - [`signature`]: the exact to-be-signed bytes and ECDSA P-256 / SHA-256 over them (§6.7).
//!
//! Everything here is `no_std`, heap-free and sans-IO; time comes in as Unix seconds.

pub mod credential;
pub mod keys;
pub mod provision;
pub mod reader;
pub mod signature;
pub mod traffic;

pub use self::credential::{
    CCF_FILE_SIZE, Credential, CredentialError, FORMAT_MAJOR, FORMAT_MINOR, IssuerId, KeyId,
    LegacyImage, ParsedCcf, SignatureAlgorithm, SiteCode,
};
pub use self::keys::{
    AppKey, CardKey, KeyProvider, KeyUnavailable, Masters, SystemId, diversification_input,
    diversify,
};
pub use self::provision::{PLAN, ProvisionError, Provisioning, Step};
pub use self::reader::{DenyReason, ReaderConfig, Transaction, Verdict, read_card};
pub use self::signature::{
    IssuerKey, IssuerSigningKey, SIGNATURE_LEN, SignatureError, SignatureVerified, TBS_PREFIX,
    TbsDigest, tbs_digest, verify_signature,
};
pub use self::traffic::{Metered, Traffic};

use crate::wire::{Aid, FileNo};

/// The Credential Container File's number in the application (§6.6).
// Evaluated at compile time: a bad constant fails the build, never a run.
#[allow(clippy::panic)]
pub const CCF_FILE_NO: FileNo = match FileNo::new(0x01) {
    Some(f) => f,
    None => panic!("file number out of range"),
};

/// The test/lab application identifier `0x0AC501` (non-MAD; on the wire `01 C5 0A`), §6.3.
/// Production AIDs are `0xF MMMM 1` from a MAD registration.
pub const LAB_AID: Aid = match Aid::new(0x0A_C5_01) {
    Some(aid) => aid,
    None => Aid::PICC,
};

/// The real (not random) 7-byte UID returned by `GetCardUID`; diversification and the
/// signature bind to it (§6.5, §6.7).
pub type RealUid = [u8; 7];
