//! The reader procedure of GEN-PACS v1 (`specs/generic-encoding.md` §12), over any
//! [`Transport`].
//!
//! Step 0 UID policy → 2 SelectApplication → 3 AuthenticateEV2First K1 → 4 GetCardUID (Full)
//! → 6 derive K2 → 7 AuthenticateEV2NonFirst K2 → 9 ReadData of exactly 160 bytes (Full; the
//! answer must be 184 bytes, 160 or 168 is `DOWNGRADE`; MAC verified before decryption by
//! [`crate::pcd::Session`]) → 10 parse (§8.5 rules 1-6), algorithm, issuer key, signature,
//! validity window. It ends in [`Verdict::Grant`] or [`Verdict::Deny`] with the typed
//! [`DenyReason`] of §13: any error anywhere is a deny, the first failing step wins, and
//! nothing read from the card leaves before the signature verified. Each check a GRANT rests on
//! returns a proof, and a [`Grant`] is made only from them ([`proof`] has the chain).
//! Sans-IO at the protocol level: frames go through the caller's transport, time comes in as
//! `now`, randomness through the caller's `CryptoRng`.
//!
//! The optional steps, each off in [`ReaderConfig::new`] (the minimum exchange of 7 pairs):
//! 5 GetKeyVersion K2 (MAC) when [`ReaderConfig::read_key_generations`] names the generations
//! held (R16), then step 6 derives the key of that generation; 12 Read_Sig in the session by
//! [`ReaderConfig::originality`], run after step 10 and before step 11. Step 1 (GetVersion)
//! runs only when [`ReaderConfig::framing`] is inquisitive, and then decides nothing; step 8
//! (ProximityCheck, spec open point 5) is not run. Then step 11: the output format of
//! [`ReaderConfig::output`] (legacy Wiegand needs tag 86: `NO_LEGACY_IMAGE`), and last the
//! controller's revocation check ([`ReaderConfig::revocation`], §10: `REVOKED`), which this
//! reader runs because it plays the controller too. The bytes of step 11 are the caller's:
//! [`osdp_raw`], [`osdp_raw_extended`], [`osdp_raw_legacy`], and for a Wiegand line
//! [`crate::encoding::LegacyImage::wiegand_bits`].

pub mod proof;

pub use self::proof::Grant;

use super::credential::{CredentialError, IssuerId, KeyId, SignatureAlgorithm};
use super::keys::{AppKey, KeyProvider};
use super::signature::IssuerKey;
use super::traffic::{Metered, Traffic};
use super::{CCF_FILE_NO, CCF_FILE_SIZE, Credential, RealUid};
use crate::crypto::originality::{self, OriginalityKey};
use crate::pcd::commands::{
    Chaining, OriginalitySignature, get_file_settings, get_key_version, get_version,
    iso_select_df_name, read_sig, select_application,
};
use crate::pcd::{Desfire, Error, FrameSize, ProtocolError, Transport};
use crate::wire::{Aid, Error as WireError, KeyNo, Status};

/// What kind of `TRANSPORT` failure (§13 reason 8: "card lost, timeout, RF or reader error").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TransportFault {
    /// The transport (RF front end, link) failed.
    Link,
    /// The reader's key store (SAM, HSM, masters) has no key for this step.
    KeyUnavailable,
    /// The reader's own engine refused to go on (command too long, counter exhausted).
    Reader,
}

impl core::fmt::Display for TransportFault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Link => "the transport failed",
            Self::KeyUnavailable => "the reader's key store has no key for this step",
            Self::Reader => "the reader's engine refused to go on",
        })
    }
}

impl core::error::Error for TransportFault {}

/// Why a card was denied: the stable reasons of spec §13. [`DenyReason::id`] and
/// [`DenyReason::name`] are the spec's number and identifier; the fields are detail for the
/// audit log. Nothing of it is card data for the controller (R1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DenyReason {
    /// 1 `UID_POLICY`: the anticollision UID is not a random ID and the policy requires one.
    UidPolicy,
    /// 2 `NO_APPLICATION`: SelectApplication answered `91A0`. Never falls back to the UID.
    NoApplication,
    /// 3 `AUTH_FAILED`: status `AE` to an authentication with this key, or a wrong RndA'.
    AuthFailed(KeyNo),
    /// 4 `MAC_MISMATCH`: a response MAC does not verify.
    MacMismatch,
    /// 5 `DOWNGRADE`: the credential came back in Plain (160 bytes) or MAC mode (168).
    Downgrade,
    /// 6 `CARD_ERROR`: any other error status from the card (ReadData `9D`/`AE` included).
    CardError(Status),
    /// 7 `MALFORMED_RESPONSE`: wrong length, bad padding or chaining, a real UID that is not
    /// 7 bytes or differs from a 7-byte anticollision UID.
    MalformedResponse,
    /// 8 `TRANSPORT`: card lost, timeout, RF or reader error.
    Transport(TransportFault),
    /// 9 `UNKNOWN_KEY_VERSION`: the card's key generation (this version byte) is not held by
    /// the reader (step 5).
    UnknownKeyVersion(u8),
    /// 10 `PROXIMITY_FAILED` (step 8, not run by [`read_card`]).
    ProximityFailed,
    /// 11 `UNKNOWN_VERSION`: credential format major ≠ 1.
    UnknownVersion(u8),
    /// 12 `MALFORMED_CREDENTIAL`: any structural rule of §8.5.
    MalformedCredential(CredentialError),
    /// 13 `UNKNOWN_CRITICAL_TAG`: an unknown tag outside the ignorable ranges.
    UnknownCriticalTag(u8),
    /// 14 `UNSUPPORTED_ALGORITHM`: tag 8F is not `01`.
    UnsupportedAlgorithm(SignatureAlgorithm),
    /// 15 `UNKNOWN_ISSUER_KEY`: (issuer ID, key ID) not trusted or outside its validity.
    UnknownIssuerKey(KeyId),
    /// 16 `BAD_SIGNATURE`: the issuer signature does not verify.
    BadSignature,
    /// 17 `NOT_YET_VALID`: trusted time before valid-from.
    NotYetValid,
    /// 18 `EXPIRED`: trusted time at or after valid-until.
    Expired,
    /// 19 `REVOKED`: deny-listed or an old issue number (the controller's decision).
    Revoked,
    /// 20 `ORIGINALITY_FAILED`: the originality signature is missing or wrong and the policy
    /// requires it (step 12; the detail is in [`Transaction::originality`]).
    OriginalityFailed,
    /// 21 `NO_LEGACY_IMAGE`: legacy output configured and the credential has no tag 86.
    NoLegacyImage,
}

impl DenyReason {
    /// The reason without its detail.
    #[inline]
    pub const fn code(&self) -> DenyCode {
        match self {
            Self::UidPolicy => DenyCode::UidPolicy,
            Self::NoApplication => DenyCode::NoApplication,
            Self::AuthFailed(_) => DenyCode::AuthFailed,
            Self::MacMismatch => DenyCode::MacMismatch,
            Self::Downgrade => DenyCode::Downgrade,
            Self::CardError(_) => DenyCode::CardError,
            Self::MalformedResponse => DenyCode::MalformedResponse,
            Self::Transport(_) => DenyCode::Transport,
            Self::UnknownKeyVersion(_) => DenyCode::UnknownKeyVersion,
            Self::ProximityFailed => DenyCode::ProximityFailed,
            Self::UnknownVersion(_) => DenyCode::UnknownVersion,
            Self::MalformedCredential(_) => DenyCode::MalformedCredential,
            Self::UnknownCriticalTag(_) => DenyCode::UnknownCriticalTag,
            Self::UnsupportedAlgorithm(_) => DenyCode::UnsupportedAlgorithm,
            Self::UnknownIssuerKey(_) => DenyCode::UnknownIssuerKey,
            Self::BadSignature => DenyCode::BadSignature,
            Self::NotYetValid => DenyCode::NotYetValid,
            Self::Expired => DenyCode::Expired,
            Self::Revoked => DenyCode::Revoked,
            Self::OriginalityFailed => DenyCode::OriginalityFailed,
            Self::NoLegacyImage => DenyCode::NoLegacyImage,
        }
    }

    /// The stable number of spec §13.
    #[inline]
    pub const fn id(&self) -> u8 {
        self.code().id()
    }

    /// The stable identifier of spec §13.
    pub const fn name(&self) -> &'static str {
        self.code().name()
    }
}

/// A reason of spec §13 without its detail: what a reader prints (`DENY EXPIRED`) and what
/// the audit's test cards expect. The discriminant is the spec's stable number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum DenyCode {
    /// 1 `UID_POLICY`.
    UidPolicy = 1,
    /// 2 `NO_APPLICATION`.
    NoApplication = 2,
    /// 3 `AUTH_FAILED`.
    AuthFailed = 3,
    /// 4 `MAC_MISMATCH`.
    MacMismatch = 4,
    /// 5 `DOWNGRADE`.
    Downgrade = 5,
    /// 6 `CARD_ERROR`.
    CardError = 6,
    /// 7 `MALFORMED_RESPONSE`.
    MalformedResponse = 7,
    /// 8 `TRANSPORT`.
    Transport = 8,
    /// 9 `UNKNOWN_KEY_VERSION`.
    UnknownKeyVersion = 9,
    /// 10 `PROXIMITY_FAILED`.
    ProximityFailed = 10,
    /// 11 `UNKNOWN_VERSION`.
    UnknownVersion = 11,
    /// 12 `MALFORMED_CREDENTIAL`.
    MalformedCredential = 12,
    /// 13 `UNKNOWN_CRITICAL_TAG`.
    UnknownCriticalTag = 13,
    /// 14 `UNSUPPORTED_ALGORITHM`.
    UnsupportedAlgorithm = 14,
    /// 15 `UNKNOWN_ISSUER_KEY`.
    UnknownIssuerKey = 15,
    /// 16 `BAD_SIGNATURE`.
    BadSignature = 16,
    /// 17 `NOT_YET_VALID`.
    NotYetValid = 17,
    /// 18 `EXPIRED`.
    Expired = 18,
    /// 19 `REVOKED`.
    Revoked = 19,
    /// 20 `ORIGINALITY_FAILED`.
    OriginalityFailed = 20,
    /// 21 `NO_LEGACY_IMAGE`.
    NoLegacyImage = 21,
}

impl DenyCode {
    /// Every reason, by number.
    pub const ALL: [DenyCode; 21] = [
        Self::UidPolicy,
        Self::NoApplication,
        Self::AuthFailed,
        Self::MacMismatch,
        Self::Downgrade,
        Self::CardError,
        Self::MalformedResponse,
        Self::Transport,
        Self::UnknownKeyVersion,
        Self::ProximityFailed,
        Self::UnknownVersion,
        Self::MalformedCredential,
        Self::UnknownCriticalTag,
        Self::UnsupportedAlgorithm,
        Self::UnknownIssuerKey,
        Self::BadSignature,
        Self::NotYetValid,
        Self::Expired,
        Self::Revoked,
        Self::OriginalityFailed,
        Self::NoLegacyImage,
    ];

    /// The stable number of spec §13.
    pub const fn id(self) -> u8 {
        self as u8
    }

    /// The stable identifier of spec §13.
    pub const fn name(self) -> &'static str {
        match self {
            Self::UidPolicy => "UID_POLICY",
            Self::NoApplication => "NO_APPLICATION",
            Self::AuthFailed => "AUTH_FAILED",
            Self::MacMismatch => "MAC_MISMATCH",
            Self::Downgrade => "DOWNGRADE",
            Self::CardError => "CARD_ERROR",
            Self::MalformedResponse => "MALFORMED_RESPONSE",
            Self::Transport => "TRANSPORT",
            Self::UnknownKeyVersion => "UNKNOWN_KEY_VERSION",
            Self::ProximityFailed => "PROXIMITY_FAILED",
            Self::UnknownVersion => "UNKNOWN_VERSION",
            Self::MalformedCredential => "MALFORMED_CREDENTIAL",
            Self::UnknownCriticalTag => "UNKNOWN_CRITICAL_TAG",
            Self::UnsupportedAlgorithm => "UNSUPPORTED_ALGORITHM",
            Self::UnknownIssuerKey => "UNKNOWN_ISSUER_KEY",
            Self::BadSignature => "BAD_SIGNATURE",
            Self::NotYetValid => "NOT_YET_VALID",
            Self::Expired => "EXPIRED",
            Self::Revoked => "REVOKED",
            Self::OriginalityFailed => "ORIGINALITY_FAILED",
            Self::NoLegacyImage => "NO_LEGACY_IMAGE",
        }
    }

    /// The reason whose identifier is `name` (exactly as §13 writes it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

impl core::fmt::Display for DenyCode {
    /// The identifier (`EXPIRED`).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl core::fmt::Display for DenyReason {
    /// `<id> <NAME>`, then the detail in parentheses where there is one.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} {}", self.id(), self.name())?;
        match self {
            Self::AuthFailed(k) => write!(f, " (key {k})"),
            Self::CardError(s) => write!(f, " (status {s})"),
            Self::Transport(t) => write!(f, " ({t:?})"),
            Self::UnknownKeyVersion(v) => write!(f, " (version {v:02X})"),
            Self::UnknownVersion(v) => write!(f, " (major {v})"),
            Self::MalformedCredential(e) => write!(f, " ({e})"),
            Self::UnknownCriticalTag(t) => write!(f, " (tag {t:02X})"),
            Self::UnsupportedAlgorithm(a) => write!(f, " (algorithm {:02X})", a.0),
            Self::UnknownIssuerKey(k) => write!(f, " (key ID {k})"),
            _ => Ok(()),
        }
    }
}

impl core::error::Error for DenyReason {}

/// The end of the procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Authenticated, MAC-verified, well-formed, signed by a known issuer key, valid now,
    /// original as the policy requires, outputable, not revoked: a [`Grant`] is made only from
    /// the proofs of those checks ([`proof`], where the chain is).
    Grant(Grant),
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
    /// What step 12 found: under [`OriginalityPolicy::Log`] a failure is this log entry only.
    pub originality: OriginalityCheck,
}

/// What the reader outputs on a GRANT (spec §14, step 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OutputFormat {
    /// `osdp_RAW` format `00`, 64 bits: the credential ID ([`osdp_raw`]).
    #[default]
    Osdp,
    /// `osdp_RAW` format `00`, 104 bits: issuer hash, credential ID, issue number, for a
    /// controller that revokes by issue number ([`osdp_raw_extended`]).
    Extended,
    /// The labelled legacy option (R13): the tag 86 image only, as `osdp_RAW` format `01`
    /// ([`osdp_raw_legacy`]) or on Wiegand lines. A credential without tag 86 is
    /// `NO_LEGACY_IMAGE`.
    LegacyWiegand,
}

/// Spec §12 step 12: whether the reader reads the originality signature, and what a failure
/// means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OriginalityPolicy {
    /// Step 12 is not run (the minimum exchange).
    #[default]
    Off,
    /// Run it; a failure is a log entry ([`Transaction::originality`]), the verdict stands.
    Log,
    /// Run it; a failure is `ORIGINALITY_FAILED`.
    Require,
}

/// The outcome of step 12.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum OriginalityCheck {
    /// Not run: the policy is off, or the procedure ended before step 12.
    NotRun,
    /// The signature verified with the trusted key at this index of
    /// [`ReaderConfig::originality_keys`].
    Verified(usize),
    /// The card answered Read_Sig with an error status: no signature.
    Missing(Status),
    /// A signature that does not verify with any trusted key, or is not a valid encoding.
    Wrong,
    /// The exchange failed (MAC, length, link): no signature could be read.
    Unreadable,
}

impl OriginalityCheck {
    /// Whether the signature was read and verified.
    pub const fn passed(&self) -> bool {
        matches!(self, Self::Verified(_))
    }
}

/// One entry of the controller's revocation list (spec §10). Credentials are named by
/// (issuer ID, credential ID).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Revocation {
    /// On the deny-list: every issue of this credential is `REVOKED`.
    DenyListed {
        /// Tag 80.
        issuer: IssuerId,
        /// Tag 81.
        credential_id: u64,
    },
    /// The current issue number of this credential: a card with a lower issue number (tag 82)
    /// is `REVOKED` (a replaced card).
    CurrentIssue {
        /// Tag 80.
        issuer: IssuerId,
        /// Tag 81.
        credential_id: u64,
        /// The issue number of the card in use now.
        issue_number: u8,
    },
}

impl Revocation {
    /// Whether this entry revokes `c`.
    pub fn revokes(&self, c: &Credential) -> bool {
        match self {
            Self::DenyListed {
                issuer,
                credential_id,
            } => *issuer == c.issuer && *credential_id == c.credential_id,
            Self::CurrentIssue {
                issuer,
                credential_id,
                issue_number,
            } => {
                *issuer == c.issuer
                    && *credential_id == c.credential_id
                    && c.issue_number < *issue_number
            }
        }
    }
}

/// Spec §10: `REVOKED` when any entry of `list` revokes `c`.
pub fn check_revocation(list: &[Revocation], c: &Credential) -> Result<(), DenyReason> {
    if list.iter().any(|r| r.revokes(c)) {
        return Err(DenyReason::Revoked);
    }
    Ok(())
}

/// The reader's configuration (from its profile). [`ReaderConfig::new`] gives the minimum
/// procedure; set the optional fields with struct update syntax
/// (`ReaderConfig { output: OutputFormat::LegacyWiegand, ..ReaderConfig::new(aid, &keys) }`).
#[derive(Debug, Clone, Copy)]
pub struct ReaderConfig<'a> {
    /// The GEN-PACS application.
    pub aid: Aid,
    /// Trusted issuer public keys, looked up by (issuer ID, key ID) (spec §8.5 rule 8).
    pub issuer_keys: &'a [IssuerKey],
    /// Frame size of the front end.
    pub frame: FrameSize,
    /// The profile's `policy.allow_fixed_uid` (§11, default false): accept cards whose
    /// anticollision UID is a fixed 7-byte UID (Random ID off), or that the front end reports
    /// no UID for; otherwise `UID_POLICY`. Other UIDs are `UID_POLICY` either way.
    pub allow_fixed_uid: bool,
    /// The generations (key version bytes) of K2 the reader holds (§5, R16). Empty: step 5 is
    /// skipped and K2 comes from [`KeyProvider::card_key`]. Otherwise step 5 asks the card
    /// (GetKeyVersion, MAC mode), a version not listed is `UNKNOWN_KEY_VERSION`, and K2 comes
    /// from [`KeyProvider::card_key_generation`] for that version.
    pub read_key_generations: &'a [u8],
    /// Step 12 (Read_Sig) policy.
    pub originality: OriginalityPolicy,
    /// Originality keys step 12 trusts: NXP's EV3 key in production
    /// ([`originality::NXP_KEYS`]); a lab adds the virtual card's [`originality::TEST_KEY`].
    pub originality_keys: &'a [OriginalityKey],
    /// Step 11's output format.
    pub output: OutputFormat,
    /// The controller's revocation list (§10), checked last.
    pub revocation: &'a [Revocation],
    /// Whether `now` is trusted time (R9, R18). `false`: `now` is only a lower bound (a floor
    /// kept across restarts plus uptime), so only `EXPIRED` can be decided (a credential that
    /// ended before the lower bound has ended); `NOT_YET_VALID` is left to the controller.
    pub trusted_time: bool,
    /// How the procedure's commands are framed.
    pub framing: Framing<'a>,
}

/// How a reader frames the procedure's commands. Each choice is legal DESFire and leads to the
/// same verdict on every card (spec §12); readers in the field differ in all of them, so the
/// audit plays its test cards against each ([`Framing::REFERENCE`] is what this reader does
/// unless told otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framing<'a> {
    /// Step 2 by ISOSelectFile with this DF name (`00 A4 04 0C`) instead of
    /// SelectApplication; `6A 82` is `NO_APPLICATION`.
    pub select_df_name: Option<&'a [u8]>,
    /// Step 9's command code: the ISO-chaining `AD` (one frame up to the ISO/IEC 14443-4
    /// frame size) or the native `BD` (59-byte frames fetched with `AF`).
    pub read_chaining: Chaining,
    /// Step 9 asks for the whole file (length `00 00 00`) rather than exactly 160 bytes
    /// (`A0 00 00`): the same 160 bytes of a conforming card.
    pub read_whole_file: bool,
    /// Step 1 (GetVersion) before step 2, GetFileSettings of the credential file before
    /// step 3, GetKeyVersion of K2 in the K1 session even with one generation, and step 12
    /// (Read_Sig) whatever the originality policy (which alone decides on its result): what
    /// many readers ask on the way. The answers to GetVersion, GetFileSettings and
    /// GetKeyVersion are informational. (GetFileSettings comes before any authentication: a
    /// GEN-PACS application refuses directory commands without its master key, and in a
    /// session that refusal would end it.)
    pub inquisitive: bool,
}

impl Framing<'_> {
    /// SelectApplication, `AD` for exactly 160 bytes, nothing else asked.
    pub const REFERENCE: Framing<'static> = Framing {
        select_df_name: None,
        read_chaining: Chaining::Iso,
        read_whole_file: false,
        inquisitive: false,
    };
}

impl<'a> ReaderConfig<'a> {
    /// The minimum procedure for `aid` trusting `issuer_keys`: short APDUs, Random ID
    /// required, one key generation (no step 5), no Read_Sig, `osdp_RAW` output, no
    /// revocation list.
    pub const fn new(aid: Aid, issuer_keys: &'a [IssuerKey]) -> Self {
        Self {
            aid,
            issuer_keys,
            frame: FrameSize::SHORT_APDU,
            allow_fixed_uid: false,
            read_key_generations: &[],
            originality: OriginalityPolicy::Off,
            originality_keys: &[],
            output: OutputFormat::Osdp,
            revocation: &[],
            trusted_time: true,
            framing: Framing::REFERENCE,
        }
    }
}

/// Step 9 asks for exactly this many bytes (`A0 00 00`, decision 0004 D3).
pub const READ_LEN: usize = CCF_FILE_SIZE;
/// A Full-mode answer to step 9: 176 bytes of ciphertext (160 + a full padding block) and the
/// 8-byte MACt. The reader's receive buffer has exactly this size.
pub const READ_RESPONSE_LEN: usize = 184;
/// A Full-mode answer to step 4: the 7-byte UID padded to one block, and the MACt.
const UID_RESPONSE_LEN: usize = 24;
/// A Plain answer to step 9 (`DOWNGRADE`).
const PLAIN_RESPONSE_LEN: usize = READ_LEN;
/// A MAC-mode answer to step 9 (`DOWNGRADE`).
const MAC_RESPONSE_LEN: usize = READ_LEN + 8;

/// Room for the largest sealed command body the procedure sends (the instruction byte travels
/// apart): ReadData in Full mode (`AD` or `BD`) carries its 7-byte header (file number, offset,
/// length) and no data, then the 8-byte MACt, 15 bytes. Every other command it sends is shorter
/// (GetKeyVersion and Read_Sig 1 + 8, GetCardUID 8, SelectApplication 3).
const PROCEDURE_BODY_LEN: usize = 32;

/// The engine as the procedure runs it: a body buffer of [`PROCEDURE_BODY_LEN`], not the
/// engine's default 512 bytes (the reader's stack). A longer command would be refused before
/// anything is sent ([`crate::wire::Error::BufferTooSmall`]), never truncated.
type ProcedureClient<T> = Desfire<Metered<T>, PROCEDURE_BODY_LEN>;

/// Runs the procedure once against the card behind `transport`.
///
/// `anticollision_uid` is the UID the card gave at activation: 4 bytes starting `08` for a
/// Random ID; anything else is a fixed UID, accepted only when
/// [`ReaderConfig::allow_fixed_uid`] is set (the profile's `policy.allow_fixed_uid`) and it is
/// 7 bytes, which the real UID must then equal (step 4). An empty slice means the front end
/// does not tell: a fixed UID that cannot be compared (§12 "Step 0 in detail").
/// `now` is trusted time in Unix seconds.
pub fn read_card<T: Transport, K: KeyProvider + ?Sized, R: rand_core::CryptoRng + ?Sized>(
    transport: &mut T,
    config: &ReaderConfig<'_>,
    keys: &mut K,
    rng: &mut R,
    anticollision_uid: &[u8],
    now: u32,
) -> Transaction {
    let mut d: ProcedureClient<&mut T> = Desfire::new(Metered::new(transport), config.frame);
    let mut originality = OriginalityCheck::NotRun;
    let verdict = match run(
        &mut d,
        config,
        keys,
        rng,
        anticollision_uid,
        now,
        &mut originality,
    ) {
        Ok(c) => Verdict::Grant(c),
        Err(r) => Verdict::Deny(r),
    };
    d.end_session();
    Transaction {
        verdict,
        traffic: d.transport_mut().traffic(),
        originality,
    }
}

/// The §13 reason of an engine error outside the special cases of a step.
fn common<E>(e: Error<E>) -> DenyReason {
    match e {
        Error::Card(s) => DenyReason::CardError(s),
        Error::Protocol(ProtocolError::ResponseMacMismatch) => DenyReason::MacMismatch,
        Error::Protocol(
            ProtocolError::CounterExhausted
            | ProtocolError::NotAuthenticated
            | ProtocolError::CommandTooLong,
        ) => DenyReason::Transport(TransportFault::Reader),
        Error::Protocol(_) | Error::Wire(_) => DenyReason::MalformedResponse,
        Error::Transport(_) => DenyReason::Transport(TransportFault::Link),
    }
}

fn auth_failed<E>(key: KeyNo) -> impl FnOnce(Error<E>) -> DenyReason {
    move |e| match e {
        Error::Card(Status::AUTHENTICATION_ERROR)
        | Error::Protocol(ProtocolError::RndAMismatch) => DenyReason::AuthFailed(key),
        e => common(e),
    }
}

const NO_KEY: DenyReason = DenyReason::Transport(TransportFault::KeyUnavailable);

fn run<T: Transport, K: KeyProvider + ?Sized, R: rand_core::CryptoRng + ?Sized>(
    d: &mut ProcedureClient<T>,
    config: &ReaderConfig<'_>,
    keys: &mut K,
    rng: &mut R,
    anticollision_uid: &[u8],
    now: u32,
    originality: &mut OriginalityCheck,
) -> Result<Grant, DenyReason> {
    // 0. UID policy.
    let accepted = proof::accept_uid(anticollision_uid, config.allow_fixed_uid)?;
    // Holds the decrypted credential file and the real UID: wiped on every return.
    let mut rx = zeroize::Zeroizing::new([0u8; READ_RESPONSE_LEN]);
    let rx = &mut *rx;

    // 1, 2 and what an inquisitive reader asks before authenticating.
    select_gen_pacs(d, &config.framing, config.aid, rx, common)?;

    // 3. AuthenticateEV2First K1; 4. GetCardUID (Full).
    let k1 = proof::authenticate_k1(d, keys, rng)?;
    let uid = proof::read_uid(d, &k1, &accepted, rx)?;

    if config.framing.inquisitive && config.read_key_generations.is_empty() {
        // Informational here: only the generations the reader holds decide (step 5).
        d.execute(&get_key_version(AppKey::Read.key_no()), rx)
            .map_err(common)?;
    }
    // 5. GetKeyVersion K2 when the reader holds generations; 6. K2; 7. AuthenticateEV2NonFirst.
    let k2 = proof::authenticate_k2(d, k1, &uid, config, keys, rng, rx)?;

    // 9. ReadData of exactly 160 bytes in Full mode.
    let read = proof::read_credential(d, &k2, config, rx)?;

    // 10. §8.5: structure (rules 1-6), algorithm, issuer key, signature (7-9), validity (10).
    let signed = proof::verify_credential(read, &uid, config, now)?;
    let valid = proof::check_window(signed, config, now)?;

    // 12. Read_Sig in the session (Full mode), before any output (spec §12).
    let original = proof::check_originality(d, valid, &k2, &uid, config, rx, originality)?;

    // 11. Output; then the controller's check, last.
    let formed = proof::check_output(original, config.output)?;
    Ok(Grant::new(proof::check_not_revoked(formed, config)?))
}

/// Steps 1 and 2 framed as `framing` says, and the GetFileSettings an inquisitive reader asks
/// before authenticating. 1: GetVersion, informational, so its outcome decides nothing. 2:
/// SelectApplication of `aid` (or ISOSelectFile by DF name); absent (`91 A0`, `6A 82`) is
/// `NO_APPLICATION`, never a UID fallback; any other failure is what `other` makes of it.
/// GetFileSettings of the credential file: a GEN-PACS application refuses directory commands
/// without its master key, so the answer (`AE`) decides nothing.
// Inlined: a reader calls it once, and as a call it costs the firmware 24 bytes of flash.
#[inline(always)]
pub fn select_gen_pacs<T: Transport, const N: usize>(
    d: &mut Desfire<T, N>,
    framing: &Framing<'_>,
    aid: Aid,
    rx: &mut [u8],
    other: impl FnOnce(Error<T::Error>) -> DenyReason,
) -> Result<(), DenyReason> {
    if framing.inquisitive {
        let _ = d.execute(&get_version(), rx);
    }
    let selected = match framing.select_df_name {
        Some(name) => iso_select_df_name(d, name),
        None => d.execute(&select_application(aid), rx).map(|_| ()),
    };
    selected.map_err(|e| match e {
        Error::Card(Status::APPLICATION_NOT_FOUND)
        | Error::Wire(WireError::NotDesfireStatus {
            sw1: 0x6A,
            sw2: 0x82,
        }) => DenyReason::NoApplication,
        e => other(e),
    })?;
    if framing.inquisitive {
        let _ = d.execute(&get_file_settings(CCF_FILE_NO), rx);
    }
    Ok(())
}

/// Step 12: Read_Sig (address 00) in the session, verified against `trusted`.
fn read_originality<T: Transport>(
    d: &mut ProcedureClient<T>,
    trusted: &[OriginalityKey],
    uid: &RealUid,
    rx: &mut [u8],
) -> OriginalityCheck {
    let sig = match d.execute(&read_sig(), rx) {
        Ok(resp) => match OriginalitySignature::parse(&resp) {
            Ok(sig) => sig,
            Err(_) => return OriginalityCheck::Unreadable,
        },
        Err(Error::Card(s)) => return OriginalityCheck::Missing(s),
        Err(_) => return OriginalityCheck::Unreadable,
    };
    trusted
        .iter()
        .position(|k| originality::verify(k, uid, &sig.0) == Ok(true))
        .map_or(OriginalityCheck::Wrong, OriginalityCheck::Verified)
}

/// Spec §12 step 0, for a front end that reports the SAK: bit 6 (`20`) says the card speaks
/// ISO/IEC 14443-4. Without it the card cannot hold a DESFire application: `NO_APPLICATION`,
/// and the reader sends nothing more. A front end that does not report the SAK (PC/SC) skips
/// this check.
pub const fn check_sak(sak: u8) -> Result<(), DenyReason> {
    if sak & 0x20 == 0 {
        return Err(DenyReason::NoApplication);
    }
    Ok(())
}

/// Spec §10: `valid_from <= now < valid_until`.
pub fn check_validity(c: &Credential, now: u32) -> Result<(), DenyReason> {
    if now < c.valid_from {
        return Err(DenyReason::NotYetValid);
    }
    if now >= c.valid_until {
        return Err(DenyReason::Expired);
    }
    Ok(())
}

/// Response data bytes between two traffic counts: every R-APDU ends in a 2-byte status word.
fn response_data_len(before: Traffic, after: Traffic) -> usize {
    let frames = after.frames.saturating_sub(before.frames);
    let bytes = after
        .from_card
        .saturating_sub(before.from_card)
        .saturating_sub(frames.saturating_mul(2));
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// Spec §14 default output: `osdp_RAW` format `00`, 64 bits, the credential ID MSB first:
/// `RR 00 40 00 ‖ CredentialID[8]`.
pub fn osdp_raw(c: &Credential, reader: u8) -> [u8; 12] {
    let mut out = [0u8; 12];
    let (head, id) = out.split_at_mut(4);
    head.copy_from_slice(&[reader, 0x00, 0x40, 0x00]);
    id.copy_from_slice(&c.credential_id.to_be_bytes());
    out
}

/// Spec §14 extended output: `osdp_RAW` format `00`, 104 bits (`68 00`):
/// `RR 00 68 00 ‖ SHA-256(IssuerID)[0..4] ‖ CredentialID[8] ‖ IssueNumber[1]`, what a
/// controller needs to revoke by issue number (§10).
pub fn osdp_raw_extended(c: &Credential, reader: u8) -> [u8; 17] {
    use sha2::{Digest, Sha256};
    let issuer: [u8; 32] = Sha256::digest(c.issuer.as_bytes()).into();
    let mut out = [0u8; 17];
    let (head, rest) = out.split_at_mut(4);
    head.copy_from_slice(&[reader, 0x00, 0x68, 0x00]);
    let (hash, rest) = rest.split_at_mut(4);
    let (id, issue) = rest.split_at_mut(8);
    if let Some(h) = issuer.first_chunk::<4>() {
        hash.copy_from_slice(h);
    }
    id.copy_from_slice(&c.credential_id.to_be_bytes());
    issue.copy_from_slice(&[c.issue_number]);
    out
}

/// Spec §14 legacy output: `osdp_RAW` format `01`, bit count `n` (little-endian), the `n`
/// bits of tag 86 MSB first, left-justified ([`crate::encoding::LegacyImage::left_justified`]).
/// Writes into `out` and returns the length; a credential without tag 86 is
/// `NO_LEGACY_IMAGE` (decision 0004 D5) and nothing is written.
pub fn osdp_raw_legacy(
    c: &Credential,
    reader: u8,
    out: &mut [u8; 20],
) -> Result<usize, DenyReason> {
    let img = c.legacy_image.as_ref().ok_or(DenyReason::NoLegacyImage)?;
    let (head, body) = out.split_at_mut(4);
    head.copy_from_slice(&[reader, 0x01, img.bit_len(), 0x00]);
    let body: &mut [u8; 16] = body
        .try_into()
        .map_err(|_| DenyReason::MalformedCredential(CredentialError::BadLegacyImage))?;
    let n = img.left_justified(body);
    Ok(4usize.saturating_add(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §12 step 0: SAK bit 6 (`20`); a DESFire answers `20`, a MIFARE Classic clone `08`.
    #[test]
    fn sak_without_iso_14443_4_is_no_application() {
        assert_eq!(check_sak(0x20), Ok(()));
        assert_eq!(check_sak(0x28), Ok(()));
        assert_eq!(check_sak(0x08), Err(DenyReason::NoApplication));
        assert_eq!(check_sak(0x00), Err(DenyReason::NoApplication));
        assert_eq!(check_sak(0x18), Err(DenyReason::NoApplication));
    }

    /// §13: the numbers run 1..=21 in order, the identifiers are distinct and parse back.
    #[test]
    fn deny_codes_are_the_spec_table() {
        for (i, c) in DenyCode::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(c.id()), i + 1);
            assert_eq!(DenyCode::from_name(c.name()), Some(c));
        }
        assert_eq!(DenyCode::from_name("expired"), None);
        assert_eq!(DenyReason::Revoked.code(), DenyCode::Revoked);
        assert_eq!(DenyReason::Expired.id(), 18);
        assert_eq!(
            DenyReason::CardError(Status::LENGTH_ERROR).name(),
            "CARD_ERROR"
        );
    }
}
