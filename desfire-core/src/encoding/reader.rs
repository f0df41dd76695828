//! The required reader procedure of GEN-PACS v1 (draft §6.11), over any [`Transport`].
//!
//! SelectApplication → AuthenticateEV2First K1 → GetCardUID (Full) → derive K2' →
//! AuthenticateEV2NonFirst K2' → ReadData CCF (Full, whole file, MAC verified before
//! decryption by [`crate::pcd::Session`]) → parse → issuer signature → validity window.
//! It ends in [`Verdict::Grant`] or [`Verdict::Deny`] with a typed [`DenyReason`]: any error
//! anywhere is a deny, and nothing read from the card leaves before the signature verified.
//! Sans-IO at the protocol level: frames go through the caller's transport, time comes in as
//! `now`, randomness through the caller's `CryptoRng`. The optional steps (GetVersion,
//! GetKeyVersion, ProximityCheck, originality) are not run.

use super::credential::{CredentialError, KeyId, ParsedCcf, SignatureAlgorithm};
use super::keys::{AppKey, CardKey, KeyProvider};
use super::signature::{IssuerKey, SignatureError, verify_signature};
use super::traffic::{Metered, Traffic};
use super::{CCF_FILE_NO, Credential, RealUid};
use crate::pcd::commands::{ReadData, Uid, get_card_uid, select_application};
use crate::pcd::{Desfire, Error, FrameSize, ProtocolError, Transport};
use crate::wire::{Aid, CommMode, KeyNo, Status, U24};

/// Why a card was denied. Audit log only: nothing of it goes to the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DenyReason {
    /// SelectApplication: the GEN-PACS application is absent (`91A0`). Never falls back to UID.
    NoApplication,
    /// Authentication with this key failed (`91AE`, or the card's RndA' did not match).
    AuthenticationFailed(KeyNo),
    /// A response MAC did not verify.
    MacMismatch,
    /// The CCF did not come back in Full mode (a Plain or MAC-only answer, §6.13 R3).
    Downgrade,
    /// The card refused to read the CCF with K2 (`919D`/`91AE` on ReadData).
    AccessDenied,
    /// Any other error status of the card.
    CardError(Status),
    /// The card broke the protocol (malformed frame, unexpected chaining, too long).
    ProtocolViolation,
    /// The transport failed.
    Transport,
    /// The key provider has no key for this card.
    KeyUnavailable,
    /// GetCardUID did not return a 7-byte UID, or a fixed anticollision UID differs from it.
    UidMismatch,
    /// A fixed (non-random) anticollision UID and the policy requires Random ID (§6.13 R5).
    RandomIdRequired,
    /// Format major version other than 1.
    UnknownVersion(u8),
    /// An unknown tag outside the ignorable ranges.
    UnknownCriticalTag(u8),
    /// Any other structural error of the CCF.
    MalformedCredential(CredentialError),
    /// No issuer key with this key ID.
    UnknownSigningKey(KeyId),
    /// The signature algorithm is not ECDSA P-256 / SHA-256.
    UnsupportedAlgorithm(SignatureAlgorithm),
    /// The issuer signature does not verify (tampered, or a CCF made for another card).
    BadSignature,
    /// `now` is before valid-from.
    NotYetValid,
    /// `now` is after valid-until.
    Expired,
}

impl core::fmt::Display for DenyReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoApplication => f.write_str("no GEN-PACS application"),
            Self::AuthenticationFailed(k) => write!(f, "authentication with key {k} failed"),
            Self::MacMismatch => f.write_str("response MAC mismatch"),
            Self::Downgrade => f.write_str("credential not returned in Full mode (downgrade)"),
            Self::AccessDenied => f.write_str("card refused to read the credential"),
            Self::CardError(s) => write!(f, "card error {s}"),
            Self::ProtocolViolation => f.write_str("protocol violation"),
            Self::Transport => f.write_str("transport error"),
            Self::KeyUnavailable => f.write_str("key unavailable"),
            Self::UidMismatch => f.write_str("UID mismatch"),
            Self::RandomIdRequired => f.write_str("fixed UID but Random ID required"),
            Self::UnknownVersion(v) => write!(f, "unknown credential version {v}"),
            Self::UnknownCriticalTag(t) => write!(f, "unknown critical tag {t:02X}"),
            Self::MalformedCredential(e) => write!(f, "malformed credential: {e}"),
            Self::UnknownSigningKey(k) => write!(f, "unknown signing key {}", k.0),
            Self::UnsupportedAlgorithm(a) => write!(f, "unsupported algorithm {:02X}", a.0),
            Self::BadSignature => f.write_str("bad issuer signature"),
            Self::NotYetValid => f.write_str("credential not yet valid"),
            Self::Expired => f.write_str("credential expired"),
        }
    }
}

impl core::error::Error for DenyReason {}

/// The end of the procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Authenticated, MAC-verified, well-formed, signed by a known issuer key, valid now.
    Grant(Credential),
    /// Anything else.
    Deny(DenyReason),
}

/// What one run of the procedure decided and what it exchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The decision.
    pub verdict: Verdict,
    /// Frames and bytes exchanged.
    pub traffic: Traffic,
}

/// The reader's configuration (from its profile).
#[derive(Debug, Clone, Copy)]
pub struct ReaderConfig<'a> {
    /// The GEN-PACS application.
    pub aid: Aid,
    /// Issuer public keys by key ID.
    pub issuer_keys: &'a [IssuerKey],
    /// Frame size of the front end.
    pub frame: FrameSize,
    /// Accept cards whose anticollision UID is a fixed 7-byte UID (Random ID off).
    pub allow_fixed_uid: bool,
}

/// Largest CCF response the reader accepts: a file of up to 232 bytes in Full mode.
const RX_LEN: usize = 256;

/// Runs the procedure once against the card behind `transport`.
///
/// `anticollision_uid` is the UID the card gave at activation (4 bytes starting `08` for a
/// Random ID, 7 bytes for a fixed UID), or empty when the front end does not tell: then the
/// UID checks are skipped. `now` is trusted time in Unix seconds.
pub fn read_card<T: Transport, K: KeyProvider + ?Sized, R: rand_core::CryptoRng + ?Sized>(
    transport: &mut T,
    config: &ReaderConfig<'_>,
    keys: &mut K,
    rng: &mut R,
    anticollision_uid: &[u8],
    now: u32,
) -> Transaction {
    let mut d: Desfire<Metered<&mut T>> = Desfire::new(Metered::new(transport), config.frame);
    let verdict = match run(&mut d, config, keys, rng, anticollision_uid, now) {
        Ok(c) => Verdict::Grant(c),
        Err(r) => Verdict::Deny(r),
    };
    d.end_session();
    Transaction {
        verdict,
        traffic: d.transport_mut().traffic(),
    }
}

fn common<E>(e: Error<E>) -> DenyReason {
    match e {
        Error::Card(Status::PERMISSION_DENIED) => DenyReason::AccessDenied,
        Error::Card(s) => DenyReason::CardError(s),
        Error::Protocol(ProtocolError::ResponseMacMismatch) => DenyReason::MacMismatch,
        Error::Protocol(_) | Error::Wire(_) => DenyReason::ProtocolViolation,
        Error::Transport(_) => DenyReason::Transport,
    }
}

fn auth_failed<E>(key: KeyNo) -> impl FnOnce(Error<E>) -> DenyReason {
    move |e| match e {
        Error::Card(Status::AUTHENTICATION_ERROR)
        | Error::Protocol(ProtocolError::RndAMismatch) => DenyReason::AuthenticationFailed(key),
        e => common(e),
    }
}

fn run<T: Transport, K: KeyProvider + ?Sized, R: rand_core::CryptoRng + ?Sized>(
    d: &mut Desfire<Metered<T>>,
    config: &ReaderConfig<'_>,
    keys: &mut K,
    rng: &mut R,
    anticollision_uid: &[u8],
    now: u32,
) -> Result<Credential, DenyReason> {
    let fixed_uid = anticollision_uid.len() == 7;
    if fixed_uid && !config.allow_fixed_uid {
        return Err(DenyReason::RandomIdRequired);
    }
    let mut rx = [0u8; RX_LEN];

    // 2. SelectApplication; absent → DENY, never a UID fallback.
    d.execute(&select_application(config.aid), &mut rx)
        .map_err(|e| match e {
            Error::Card(Status::APPLICATION_NOT_FOUND) => DenyReason::NoApplication,
            e => common(e),
        })?;

    // 3. AuthenticateEV2First with K1 (not diversified: the UID is not known yet).
    let k1_no = AppKey::Kuid.key_no();
    let k1 = keys
        .card_key(CardKey::App(AppKey::Kuid), &[0; 7])
        .map_err(|_| DenyReason::KeyUnavailable)?;
    d.authenticate_ev2_first(k1_no, &k1, rng)
        .map_err(auth_failed(k1_no))?;

    // 4. GetCardUID (Full): the real UID.
    let uid: RealUid = {
        let resp = d.execute(&get_card_uid(), &mut rx).map_err(common)?;
        let uid = Uid::parse(&resp).map_err(|_| DenyReason::ProtocolViolation)?;
        uid.as_bytes()
            .try_into()
            .map_err(|_| DenyReason::UidMismatch)?
    };
    if fixed_uid && anticollision_uid != uid {
        return Err(DenyReason::UidMismatch);
    }

    // 6-7. K2' for this card; AuthenticateEV2NonFirst.
    let k2_no = AppKey::Read.key_no();
    let k2 = keys
        .card_key(CardKey::App(AppKey::Read), &uid)
        .map_err(|_| DenyReason::KeyUnavailable)?;
    d.authenticate_ev2_non_first(k2_no, &k2, rng)
        .map_err(auth_failed(k2_no))?;

    // 9. ReadData of the whole CCF in Full mode.
    let read = ReadData::new(
        CCF_FILE_NO,
        U24::from_wire([0; 3]),
        U24::from_wire([0; 3]),
        CommMode::Full,
    );
    let before = d.transport_mut().traffic();
    let file = match d.execute(&read.command(), &mut rx) {
        Ok(resp) => read
            .parse(&resp)
            .map_err(|_| DenyReason::ProtocolViolation)?,
        Err(e) => {
            let after = d.transport_mut().traffic();
            return Err(classify_read_error(e, before, after));
        }
    };

    // 10. Parse, signature, validity.
    let ccf = ParsedCcf::parse(file).map_err(|e| match e {
        CredentialError::UnsupportedVersion(v) => DenyReason::UnknownVersion(v),
        CredentialError::UnknownCriticalTag(t) => DenyReason::UnknownCriticalTag(t),
        e => DenyReason::MalformedCredential(e),
    })?;
    verify_signature(&ccf, &uid, config.aid, config.issuer_keys).map_err(|e| match e {
        SignatureError::UnknownKeyId(k) => DenyReason::UnknownSigningKey(k),
        SignatureError::UnsupportedAlgorithm(a) => DenyReason::UnsupportedAlgorithm(a),
        SignatureError::BadSignature => DenyReason::BadSignature,
    })?;
    let c = ccf.credential;
    if now < c.valid_from {
        return Err(DenyReason::NotYetValid);
    }
    if now > c.valid_until {
        return Err(DenyReason::Expired);
    }
    Ok(c)
}

/// A failed Full-mode read: a Full answer is `16·n + 8` data bytes (ciphertext and MACt). A
/// MAC failure on any other shape is a Plain answer; a padding failure after a valid MAC is a
/// MAC-only answer (the MAC input is the same, the "ciphertext" is plaintext). Both are
/// downgrades; a MAC failure on a Full-shaped answer is tampering.
fn classify_read_error<E>(e: Error<E>, before: Traffic, after: Traffic) -> DenyReason {
    let frames = after.frames.saturating_sub(before.frames);
    let data = after
        .from_card
        .saturating_sub(before.from_card)
        .saturating_sub(frames.saturating_mul(2));
    match e {
        Error::Protocol(ProtocolError::BadPadding) => DenyReason::Downgrade,
        Error::Protocol(ProtocolError::ResponseMacMismatch | ProtocolError::MissingMac)
            if data % 16 != 8 =>
        {
            DenyReason::Downgrade
        }
        Error::Card(Status::AUTHENTICATION_ERROR) => DenyReason::AccessDenied,
        e => common(e),
    }
}
