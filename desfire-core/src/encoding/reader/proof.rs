//! The checks a GRANT rests on, each returning its proof (spec §12).
//!
//! Every check of the procedure that a GRANT depends on is a function of this module, and
//! returns a token whose fields are private to this module: the only way to hold one is to have
//! run the check. [`Grant`] is made from the last of them only, each of which takes the one
//! before, so a reader that skips or reorders a check does not compile:
//!
//! ```text
//! step  check                                   proof              takes
//! 0     acUID against the UID policy (§11)      UidAccepted        acUID, policy
//! 3     AuthenticateEV2First K1                 K1Session          -
//! 4     GetCardUID: Full, 24 bytes, MAC, 7-byte
//!       UID equal to a 7-byte acUID             UidRead (realUID)  &K1Session, &UidAccepted
//! 5-7   GetKeyVersion when generations are held,
//!       K2 diversified from that realUID,
//!       AuthenticateEV2NonFirst K2              K2Session          K1Session, &UidRead
//! 9     ReadData: Full, 184 bytes, MAC, padding CredentialRead     &K2Session
//! 10    §8.5 rules 1-9: structure, algorithm,
//!       issuer key, signature over realUID+AID  SignedCredential   CredentialRead, &UidRead,
//!                                                                  SignatureVerified (§8.6)
//! 10    validity window (§10)                   InWindow           SignedCredential
//! 12    Read_Sig, as the originality policy
//!       requires                                OriginalityPassed  InWindow, &K2Session, &UidRead
//! 11    output formable (tag 86 for legacy)     OutputFormed       OriginalityPassed
//! -     revocation list (§10), last             NotRevoked         OutputFormed
//!                                               Grant              NotRevoked
//! ```
//!
//! The MAC checks themselves are the engine's ([`crate::pcd`]): a Full-mode command in a
//! session returns its data only after the response MAC verified, and steps 4 and 9 take the
//! session's proof and check the answer's length first, so an answer without a MAC is never
//! taken for a verified one. The signature's proof is [`SignatureVerified`], which only
//! [`super::super::signature`] makes. Steps 1, 2 and 8, and the framing's informational
//! commands, decide no GRANT and have no proof.

use super::super::credential::{CredentialError, ParsedCcf};
use super::super::keys::{AppKey, CardKey, KeyProvider};
use super::super::signature::{SignatureError, SignatureVerified, verify_signature_at};
use super::super::{CCF_FILE_NO, Credential, RealUid};
use super::{
    DenyReason, MAC_RESPONSE_LEN, NO_KEY, OriginalityCheck, OriginalityPolicy, OutputFormat,
    PLAIN_RESPONSE_LEN, ProcedureClient, READ_LEN, READ_RESPONSE_LEN, ReaderConfig, TransportFault,
    UID_RESPONSE_LEN, auth_failed, check_revocation, check_validity, common, read_originality,
    response_data_len,
};
use crate::pcd::commands::{KeyVersion, ReadData, Uid, get_card_uid, get_key_version};
use crate::pcd::{Error, Transport};
use crate::wire::{CommMode, U24};

/// Step 0 passed: the anticollision UID is a random ID, or a fixed UID (or none) the policy
/// allows. Carries the 7-byte acUID that step 4 must find again.
pub(super) struct UidAccepted {
    fixed: Option<RealUid>,
}

/// Step 0 (§11, §12 "Step 0 in detail"): a random ID (4 bytes, `08` first) always; a 7-byte
/// UID or no UID only under the policy; anything else (a 4-byte NUID, 10 bytes) never. The SAK
/// is the front end's ([`super::check_sak`]).
#[inline(always)]
pub(super) fn accept_uid(
    anticollision_uid: &[u8],
    allow_fixed_uid: bool,
) -> Result<UidAccepted, DenyReason> {
    let random_id = matches!(anticollision_uid, [0x08, _, _, _]);
    let fixed = RealUid::try_from(anticollision_uid).ok();
    if !random_id && !(allow_fixed_uid && (fixed.is_some() || anticollision_uid.is_empty())) {
        return Err(DenyReason::UidPolicy);
    }
    Ok(UidAccepted { fixed })
}

/// Step 3 passed: a session with K1 (KUID), TI and CmdCtr 0.
pub(super) struct K1Session(());

/// Step 3: AuthenticateEV2First with K1 (not diversified: the UID is not known yet).
#[inline(always)]
pub(super) fn authenticate_k1<T, K, R>(
    d: &mut ProcedureClient<T>,
    keys: &mut K,
    rng: &mut R,
) -> Result<K1Session, DenyReason>
where
    T: Transport,
    K: KeyProvider + ?Sized,
    R: rand_core::CryptoRng + ?Sized,
{
    let k1_no = AppKey::Kuid.key_no();
    let k1 = keys
        .card_key(CardKey::App(AppKey::Kuid), &[0; 7])
        .map_err(|_| NO_KEY)?;
    d.authenticate_ev2_first(k1_no, &k1, rng)
        .map_err(auth_failed(k1_no))?;
    Ok(K1Session(()))
}

/// Step 4 passed: the real UID, read in Full mode in the K1 session with its MAC verified,
/// 7 bytes, equal to a 7-byte acUID. Diversification and the signature bind to it.
pub(super) struct UidRead {
    uid: RealUid,
}

/// Step 4: GetCardUID (Full). The answer's length decides first (24: 16 ciphertext + 8 MACt),
/// then the MAC (§12 step 4), then the UID.
#[inline(always)]
pub(super) fn read_uid<T: Transport>(
    d: &mut ProcedureClient<T>,
    _k1: &K1Session,
    accepted: &UidAccepted,
    rx: &mut [u8],
) -> Result<UidRead, DenyReason> {
    let before = d.transport_mut().traffic();
    let result = d.execute(&get_card_uid(), rx);
    let answer_len = response_data_len(before, d.transport_mut().traffic());
    let resp = match result {
        Err(Error::Card(s)) => return Err(DenyReason::CardError(s)),
        Err(Error::Transport(_)) => return Err(DenyReason::Transport(TransportFault::Link)),
        _ if answer_len != UID_RESPONSE_LEN => return Err(DenyReason::MalformedResponse),
        r => r.map_err(common)?,
    };
    let uid = Uid::parse(&resp).map_err(|_| DenyReason::MalformedResponse)?;
    let uid: RealUid = uid
        .as_bytes()
        .try_into()
        .map_err(|_| DenyReason::MalformedResponse)?;
    if accepted.fixed.is_some_and(|ac| ac != uid) {
        return Err(DenyReason::MalformedResponse);
    }
    Ok(UidRead { uid })
}

/// Step 7 passed: a session with K2 (KR) diversified from the real UID of step 4 (of the
/// generation step 5 named), TI and CmdCtr carried over from the K1 session.
pub(super) struct K2Session(());

/// Steps 5-7. 5: GetKeyVersion K2 (MAC mode, in the K1 session) when the reader holds
/// generations: an authentication failure would end the session, so the reader cannot try one
/// generation and then the other (decision 0004). 6: K2 of that generation for `uid`.
/// 7: AuthenticateEV2NonFirst, which ends the K1 session.
#[inline(always)]
pub(super) fn authenticate_k2<T, K, R>(
    d: &mut ProcedureClient<T>,
    _k1: K1Session,
    uid: &UidRead,
    config: &ReaderConfig<'_>,
    keys: &mut K,
    rng: &mut R,
    rx: &mut [u8],
) -> Result<K2Session, DenyReason>
where
    T: Transport,
    K: KeyProvider + ?Sized,
    R: rand_core::CryptoRng + ?Sized,
{
    let k2_no = AppKey::Read.key_no();
    let k2 = if config.read_key_generations.is_empty() {
        keys.card_key(CardKey::App(AppKey::Read), &uid.uid)
            .map_err(|_| NO_KEY)?
    } else {
        let resp = d.execute(&get_key_version(k2_no), rx).map_err(common)?;
        let KeyVersion(version) =
            KeyVersion::parse(&resp).map_err(|_| DenyReason::MalformedResponse)?;
        if !config.read_key_generations.contains(&version) {
            return Err(DenyReason::UnknownKeyVersion(version));
        }
        keys.card_key_generation(CardKey::App(AppKey::Read), version, &uid.uid)
            .map_err(|_| NO_KEY)?
    };
    d.authenticate_ev2_non_first(k2_no, &k2, rng)
        .map_err(auth_failed(k2_no))?;
    Ok(K2Session(()))
}

/// Step 9 passed: the 160 bytes of the credential file, read in Full mode in the K2 session:
/// 184 bytes answered, MAC verified before decryption, padding checked.
pub(super) struct CredentialRead<'a> {
    file: &'a [u8],
}

/// Step 9: ReadData of exactly 160 bytes in Full mode. The answer's length (frames joined,
/// status words removed) decides first: 184 is Full, 160 or 168 a downgrade, anything else
/// malformed; then the MAC (checked before decryption by the session), then the padding.
/// The ISO-chaining code `AD` (spec section 12 allows it): the card may answer in one frame
/// up to the ISO/IEC 14443-4 frame size, where `BD` is answered in 59-byte native frames
/// fetched with `AF` (10 command/response pairs instead of the 7 the procedure needs).
#[inline(always)]
pub(super) fn read_credential<'r, T: Transport>(
    d: &mut ProcedureClient<T>,
    _k2: &K2Session,
    config: &ReaderConfig<'_>,
    rx: &'r mut [u8],
) -> Result<CredentialRead<'r>, DenyReason> {
    let length = if config.framing.read_whole_file {
        0
    } else {
        READ_LEN as u8
    };
    let read = ReadData {
        chaining: config.framing.read_chaining,
        ..ReadData::new(
            CCF_FILE_NO,
            U24::from_wire([0; 3]),
            U24::from_wire([length, 0, 0]),
            CommMode::Full,
        )
    };
    let before = d.transport_mut().traffic();
    let result = d.execute(&read.command(), rx);
    let answer_len = response_data_len(before, d.transport_mut().traffic());
    let file = match result {
        Err(Error::Card(s)) => return Err(DenyReason::CardError(s)),
        Err(Error::Transport(_)) => return Err(DenyReason::Transport(TransportFault::Link)),
        _ if answer_len == PLAIN_RESPONSE_LEN || answer_len == MAC_RESPONSE_LEN => {
            return Err(DenyReason::Downgrade);
        }
        _ if answer_len != READ_RESPONSE_LEN => return Err(DenyReason::MalformedResponse),
        Err(e) => return Err(common(e)),
        Ok(resp) => read
            .parse(&resp)
            .map_err(|_| DenyReason::MalformedResponse)?,
    };
    Ok(CredentialRead { file })
}

/// Step 10 (§8.5 rules 1-9) passed: the credential read in step 9, well formed, signed by a
/// trusted issuer key (valid at `now` where the key has a period) over the real UID of step 4
/// and the application.
pub(super) struct SignedCredential {
    credential: Credential,
    _signature: SignatureVerified,
}

/// Step 10, rules 1-9: structure (1-6), algorithm (7), issuer key (8), signature (9).
#[inline(always)]
pub(super) fn verify_credential(
    read: CredentialRead<'_>,
    uid: &UidRead,
    config: &ReaderConfig<'_>,
    now: u32,
) -> Result<SignedCredential, DenyReason> {
    let ccf = ParsedCcf::parse(read.file).map_err(|e| match e {
        CredentialError::UnsupportedVersion(v) => DenyReason::UnknownVersion(v),
        CredentialError::UnknownCriticalTag(t) => DenyReason::UnknownCriticalTag(t),
        e => DenyReason::MalformedCredential(e),
    })?;
    let signature = verify_signature_at(&ccf, &uid.uid, config.aid, config.issuer_keys, now)
        .map_err(|e| match e {
            SignatureError::UnknownKeyId(k) => DenyReason::UnknownIssuerKey(k),
            SignatureError::UnsupportedAlgorithm(a) => DenyReason::UnsupportedAlgorithm(a),
            SignatureError::BadSignature => DenyReason::BadSignature,
        })?;
    Ok(SignedCredential {
        credential: ccf.credential,
        _signature: signature,
    })
}

/// Rule 10 passed: the signed credential is inside its validity window at `now` (with trusted
/// time), or has not ended (without: `NOT_YET_VALID` is then the controller's, §10).
pub(super) struct InWindow(SignedCredential);

/// Rule 10 (§10): `valid_from <= now < valid_until` with trusted time, `now < valid_until`
/// without.
#[inline(always)]
pub(super) fn check_window(
    signed: SignedCredential,
    config: &ReaderConfig<'_>,
    now: u32,
) -> Result<InWindow, DenyReason> {
    let c = &signed.credential;
    if config.trusted_time {
        check_validity(c, now)?;
    } else if now >= c.valid_until {
        return Err(DenyReason::Expired);
    }
    Ok(InWindow(signed))
}

/// Step 12 passed as the policy requires: not run (`off`), run and logged whatever it found
/// (`log`), or run and verified (`require`).
pub(super) struct OriginalityPassed(SignedCredential);

/// Step 12: Read_Sig in the K2 session (Full mode), after step 10 and before any output
/// (§12); `outcome` is what it found, for the log. The framing's inquisitive reader runs it
/// whatever the policy, which alone decides on its result.
#[inline(always)]
pub(super) fn check_originality<T: Transport>(
    d: &mut ProcedureClient<T>,
    valid: InWindow,
    _k2: &K2Session,
    uid: &UidRead,
    config: &ReaderConfig<'_>,
    rx: &mut [u8],
    outcome: &mut OriginalityCheck,
) -> Result<OriginalityPassed, DenyReason> {
    if config.originality != OriginalityPolicy::Off || config.framing.inquisitive {
        *outcome = read_originality(d, config.originality_keys, &uid.uid, rx);
        if config.originality == OriginalityPolicy::Require && !outcome.passed() {
            return Err(DenyReason::OriginalityFailed);
        }
    }
    Ok(OriginalityPassed(valid.0))
}

/// Step 11 passed: the configured output can be formed from the credential.
pub(super) struct OutputFormed(SignedCredential);

/// Step 11: legacy Wiegand carries the tag 86 image and nothing else (decision 0004 D5).
#[inline(always)]
pub(super) fn check_output(
    original: OriginalityPassed,
    output: OutputFormat,
) -> Result<OutputFormed, DenyReason> {
    if output == OutputFormat::LegacyWiegand && original.0.credential.legacy_image.is_none() {
        return Err(DenyReason::NoLegacyImage);
    }
    Ok(OutputFormed(original.0))
}

/// The controller's check passed: no entry of the revocation list names the credential.
pub(super) struct NotRevoked(SignedCredential);

/// The controller's check, last: it decides on what step 11 would send (§10, §13).
#[inline(always)]
pub(super) fn check_not_revoked(
    formed: OutputFormed,
    config: &ReaderConfig<'_>,
) -> Result<NotRevoked, DenyReason> {
    check_revocation(config.revocation, &formed.0.credential)?;
    Ok(NotRevoked(formed.0))
}

/// A GRANT: the credential of a card that passed every check of the procedure (spec §12),
/// authenticated, MAC-verified, well formed, signed by a trusted issuer key for this card,
/// valid now, original where the policy requires it, outputable and not revoked. Only
/// [`super::read_card`] makes one, from the proof of the last check, which holds all others.
/// It reads as the [`Credential`] it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    credential: Credential,
}

impl Grant {
    /// The GRANT that the proof of the last check stands for.
    #[inline(always)]
    pub(super) fn new(proof: NotRevoked) -> Self {
        Self {
            credential: proof.0.credential,
        }
    }

    /// The credential granted.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The credential granted, by value.
    pub fn into_credential(self) -> Credential {
        self.credential
    }
}

impl core::ops::Deref for Grant {
    type Target = Credential;

    fn deref(&self) -> &Credential {
        &self.credential
    }
}
