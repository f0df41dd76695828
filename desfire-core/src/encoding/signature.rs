//! The issuer signature over a credential (spec §8.6): ECDSA P-256 / SHA-256, raw `r || s`,
//! over
//!
//! ```text
//! TBS = ASCII "GEN-PACS-CCF1" || realUID[7] || AID_wire[3] || header[4] || TLVs before 0x9E
//! ```
//!
//! Binding the real UID and the AID stops a holder of K3 from copying a valid CCF onto another
//! card. The TBS bytes are hashed as they are streamed, so nothing is buffered.
//!
//! Signing ([`IssuerSigningKey`]) uses RFC 6979 deterministic nonces (no RNG), so the draft's
//! §9 signature is reproduced byte for byte. It is plain code in this module: a reader binary
//! that never calls it does not link it, so no cargo feature is needed to keep it out of flash.

use super::RealUid;
use super::credential::{ExtraTlv, IssuerId, KeyId, ParsedCcf, SignatureAlgorithm};
use crate::crypto::ecdsa_p256::{EcdsaP256, P256, P256Point};
use crate::wire::Aid;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use sha2::{Digest, Sha256};

/// Domain separation prefix of the TBS bytes.
pub const TBS_PREFIX: &[u8; 13] = b"GEN-PACS-CCF1";
/// Length of a raw `r || s` signature.
pub const SIGNATURE_LEN: usize = 64;

/// SHA-256 of the TBS bytes.
pub type TbsDigest = [u8; 32];

/// The parts of the TBS bytes in order; concatenated they are the TBS.
pub fn tbs_parts<'a>(
    uid: &'a RealUid,
    aid_wire: &'a [u8; 3],
    signed_part: &'a [u8],
) -> [&'a [u8]; 4] {
    [TBS_PREFIX, uid, aid_wire, signed_part]
}

/// SHA-256 of the TBS bytes for a card with real UID `uid` and application `aid`;
/// `signed_part` is the CCF header and every TLV before the signature
/// ([`ParsedCcf::signed_part`], [`super::Credential::emit_signed_part`]).
pub fn tbs_digest(uid: &RealUid, aid: Aid, signed_part: &[u8]) -> TbsDigest {
    let wire = aid.to_wire();
    let mut h = Sha256::new();
    for part in tbs_parts(uid, &wire, signed_part) {
        h.update(part);
    }
    h.finalize().into()
}

/// An issuer public key as published to vendors (spec §8.6): the issuer ID (tag 0x80) and key
/// ID (tag 0x8E) that name it, the P-256 point and, optionally, its validity period. Readers look
/// keys up by (issuer ID, key ID), both compared byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerKey {
    /// The key ID credentials name.
    pub key_id: KeyId,
    issuer: IssuerId,
    validity: Option<(u32, u32)>,
    key: P256Point,
}

impl IssuerKey {
    /// From the issuer ID, the key ID and a SEC1 encoded point (65 bytes uncompressed or 33
    /// compressed). `None` if the point is not on the curve. No validity period.
    pub fn from_sec1(issuer: IssuerId, key_id: KeyId, sec1: &[u8]) -> Option<Self> {
        P256::decode_point(sec1).map(|key| Self {
            key_id,
            issuer,
            validity: None,
            key,
        })
    }

    /// The same key with a published validity period `from <= t < until` (Unix seconds),
    /// checked by [`verify_signature_at`].
    #[must_use]
    pub fn with_validity(mut self, from: u32, until: u32) -> Self {
        self.validity = Some((from, until));
        self
    }

    /// The issuer ID this key belongs to.
    pub fn issuer(&self) -> &IssuerId {
        &self.issuer
    }

    /// The point, SEC1 uncompressed (`04 || X || Y`), as profiles publish it.
    pub fn to_sec1_uncompressed(&self) -> [u8; 65] {
        self.key.to_sec1_uncompressed()
    }

    /// Whether this key is (issuer, key ID) and, when `now` is given, inside its validity.
    pub fn names(&self, issuer: &IssuerId, key_id: KeyId, now: Option<u32>) -> bool {
        let in_window = match (self.validity, now) {
            (Some((from, until)), Some(t)) => from <= t && t < until,
            _ => true,
        };
        self.issuer == *issuer && self.key_id == key_id && in_window
    }

    /// Whether `signature` is this key's signature of `digest` ([`P256`]: the Cortex-M4
    /// code with the feature `p256-cm4` on ARM, RustCrypto otherwise). `r` and `s` outside
    /// `[1, n-1]` do not verify.
    pub fn verifies(&self, digest: &TbsDigest, signature: &[u8; SIGNATURE_LEN]) -> bool {
        P256::verify_prehash(&self.key, digest, signature)
    }

    /// The public point.
    pub fn point(&self) -> &P256Point {
        &self.key
    }
}

/// Why a signature check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SignatureError {
    /// No trusted issuer key with the credential's (issuer ID, key ID), or it is outside its
    /// validity (`UNKNOWN_ISSUER_KEY`).
    UnknownKeyId(KeyId),
    /// The algorithm byte is not ECDSA P-256 / SHA-256.
    UnsupportedAlgorithm(SignatureAlgorithm),
    /// The signature does not verify (tampered content, or a CCF of another card).
    BadSignature,
}

impl core::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::UnknownKeyId(k) => write!(f, "no trusted issuer key with ID {k}"),
            Self::UnsupportedAlgorithm(a) => {
                write!(f, "unsupported signature algorithm {:02X}", a.0)
            }
            Self::BadSignature => f.write_str("bad issuer signature"),
        }
    }
}

impl core::error::Error for SignatureError {}

/// Proof that a credential's signature verified; only [`verify_signature`] and
/// [`verify_signature_at`] make one. The reader procedure keeps it with the credential it is
/// the proof for ([`super::reader::proof`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureVerified(());

/// Verifies the issuer signature of `ccf` read from the card with real UID `uid` in
/// application `aid` (spec §8.5 rules 7-9): the algorithm, then the key `issuers` has for the
/// credential's (issuer ID, key ID), then the signature. Key validity periods are not checked:
/// readers use [`verify_signature_at`].
pub fn verify_signature(
    ccf: &ParsedCcf<'_>,
    uid: &RealUid,
    aid: Aid,
    issuers: &[IssuerKey],
) -> Result<SignatureVerified, SignatureError> {
    verify(ccf, uid, aid, issuers, None)
}

/// [`verify_signature`] that also refuses a key outside its validity period at trusted time
/// `now` (rule 8: `UNKNOWN_ISSUER_KEY`).
pub fn verify_signature_at(
    ccf: &ParsedCcf<'_>,
    uid: &RealUid,
    aid: Aid,
    issuers: &[IssuerKey],
    now: u32,
) -> Result<SignatureVerified, SignatureError> {
    verify(ccf, uid, aid, issuers, Some(now))
}

fn verify(
    ccf: &ParsedCcf<'_>,
    uid: &RealUid,
    aid: Aid,
    issuers: &[IssuerKey],
    now: Option<u32>,
) -> Result<SignatureVerified, SignatureError> {
    let c = &ccf.credential;
    if c.algorithm != SignatureAlgorithm::ECDSA_P256_SHA256 {
        return Err(SignatureError::UnsupportedAlgorithm(c.algorithm));
    }
    let key = issuers
        .iter()
        .find(|k| k.names(&c.issuer, c.key_id, now))
        .ok_or(SignatureError::UnknownKeyId(c.key_id))?;
    let digest = tbs_digest(uid, aid, ccf.signed_part);
    if key.verifies(&digest, &ccf.signature) {
        Ok(SignatureVerified(()))
    } else {
        Err(SignatureError::BadSignature)
    }
}

/// Whoever signs credentials for an issuer: a key in memory ([`IssuerSigningKey`]) or a key
/// in a hardware security module. The TBS digest is computed by the caller; the signer only
/// signs it.
pub trait IssuerSigner {
    /// The issuer ID credentials signed with this key carry.
    fn issuer(&self) -> &IssuerId;
    /// The key ID credentials signed with this key carry.
    fn key_id(&self) -> KeyId;
    /// The raw `r || s` ECDSA P-256 signature of `digest`; `None` when signing failed.
    fn sign_digest(&self, digest: &TbsDigest) -> Option<[u8; SIGNATURE_LEN]>;
}

impl IssuerSigner for IssuerSigningKey {
    fn issuer(&self) -> &IssuerId {
        &self.issuer
    }

    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn sign_digest(&self, digest: &TbsDigest) -> Option<[u8; SIGNATURE_LEN]> {
        IssuerSigningKey::sign_digest(self, digest)
    }
}

/// `r || s` as the credential carries it (§8.6) from a signature made elsewhere (a PKCS#11
/// token's `CKM_ECDSA` gives `r || s`, each 32 bytes big-endian for P-256): `None` unless both
/// are in `[1, n-1]`; `s` is normalised to the low half, which verifies the same.
pub fn normalise_signature(raw: &[u8]) -> Option<[u8; SIGNATURE_LEN]> {
    let sig = Signature::from_slice(raw).ok()?;
    let sig = sig.normalize_s().unwrap_or(sig);
    Some(sig.to_bytes().into())
}

/// An issuer signing key (encoder only). Zeroized on drop by `p256`.
#[derive(Debug, Clone)]
pub struct IssuerSigningKey {
    issuer: IssuerId,
    key_id: KeyId,
    key: SigningKey,
}

impl IssuerSigningKey {
    /// From the issuer ID, the key ID and the 32-byte big-endian scalar. `None` if the scalar
    /// is zero or not below the group order.
    pub fn from_bytes(issuer: IssuerId, key_id: KeyId, scalar: &[u8; 32]) -> Option<Self> {
        SigningKey::from_slice(scalar).ok().map(|key| Self {
            issuer,
            key_id,
            key,
        })
    }

    /// The issuer ID credentials signed with this key carry.
    pub fn issuer(&self) -> &IssuerId {
        &self.issuer
    }

    /// The key ID credentials signed with this key carry.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Writes the private scalar (32 bytes big-endian) into `out`: only for moving the key
    /// into a key store (a hardware security module); the caller zeroizes `out`.
    pub fn export_scalar(&self, out: &mut [u8; 32]) {
        let mut bytes = self.key.to_bytes();
        out.copy_from_slice(&bytes);
        let bytes: &mut [u8] = &mut bytes;
        zeroize::Zeroize::zeroize(bytes);
    }

    /// The matching public key.
    pub fn issuer_key(&self) -> IssuerKey {
        let point = self.key.verifying_key().to_encoded_point(false);
        // A signing key's public point is never the identity: its uncompressed encoding is
        // `04 || x || y`. The zero fallback is unreachable and would verify nothing.
        let xy: [u8; 64] = point
            .as_bytes()
            .get(1..)
            .and_then(|xy| xy.try_into().ok())
            .unwrap_or([0; 64]);
        IssuerKey {
            key_id: self.key_id,
            issuer: self.issuer.clone(),
            validity: None,
            key: P256Point::from_verified(xy),
        }
    }

    /// Signs `digest` (RFC 6979 deterministic nonce); raw `r || s`.
    pub fn sign_digest(&self, digest: &TbsDigest) -> Option<[u8; SIGNATURE_LEN]> {
        let sig: Signature = self.key.sign_prehash(digest).ok()?;
        Some(sig.to_bytes().into())
    }
}

impl super::Credential {
    /// Encodes the whole CCF file into `out` (its size is the file size), signed by `signer`
    /// for the card with real UID `uid` and application `aid`. The credential's issuer ID, key
    /// ID and algorithm must match the signer. Returns the bytes used before the zero padding.
    pub fn encode_signed<S: IssuerSigner + ?Sized>(
        &self,
        uid: &RealUid,
        aid: Aid,
        signer: &S,
        out: &mut [u8],
    ) -> Result<usize, super::CredentialError> {
        self.encode_signed_with(&[], uid, aid, signer, out)
    }

    /// [`Self::encode_signed`] with extra TLVs between the optional tags and `8E` (spec §8.3;
    /// see [`super::Credential::emit_signed_part_with`]).
    pub fn encode_signed_with<S: IssuerSigner + ?Sized>(
        &self,
        extra: &[ExtraTlv<'_>],
        uid: &RealUid,
        aid: Aid,
        signer: &S,
        out: &mut [u8],
    ) -> Result<usize, super::CredentialError> {
        if self.key_id != signer.key_id()
            || self.issuer != *signer.issuer()
            || self.algorithm != SignatureAlgorithm::ECDSA_P256_SHA256
        {
            return Err(super::CredentialError::InvalidField);
        }
        let n = self.emit_signed_part_with(extra, out)?;
        let signed = out.get(..n).ok_or(super::CredentialError::BufferTooSmall)?;
        let sig = signer
            .sign_digest(&tbs_digest(uid, aid, signed))
            .ok_or(super::CredentialError::InvalidField)?;
        self.encode_with_signature_and(extra, &sig, out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    extern crate std;
    use super::*;
    use crate::encoding::credential::tests::CCF;
    use crate::encoding::{CCF_FILE_SIZE, LAB_AID};
    use crate::encoding::{Credential, lab};
    use hex_literal::hex;

    const UID: RealUid = hex!("04782E21801D80");
    const TBS: [u8; 79] = hex!(
        "47454E2D504143532D4343463104782E21801D8001C50A01000076800C5345303030303030303030"
        "3081081A2B3C4D5E6F708182010183046955B900840472BD0C0086051A020260738E01018F0101"
    );
    const TBS_SHA256: [u8; 32] =
        hex!("80F272E1B9280C2BD25004BB7C6C6449439C147F769BD7F3F0C2D150FA9712A0");

    fn issuer() -> IssuerId {
        IssuerId::lab_test()
    }

    fn signer() -> IssuerSigningKey {
        IssuerSigningKey::from_bytes(issuer(), KeyId::one(1), &lab::ISSUER_SECRET).unwrap()
    }

    #[test]
    fn section_9_tbs_and_digest() {
        let mut signed = [0u8; 64];
        let n = Credential::lab_test()
            .emit_signed_part(&mut signed)
            .unwrap();
        let wire = LAB_AID.to_wire();
        let tbs: std::vec::Vec<u8> = tbs_parts(&UID, &wire, &signed[..n]).concat();
        assert_eq!(tbs, TBS);
        assert_eq!(tbs_digest(&UID, LAB_AID, &signed[..n]), TBS_SHA256);
    }

    #[test]
    fn section_9_public_key_and_signature_byte_for_byte() {
        let pk = signer().issuer_key();
        assert_eq!(pk.to_sec1_uncompressed(), lab::ISSUER_PUBLIC);
        assert_eq!(
            pk,
            IssuerKey::from_sec1(issuer(), KeyId::one(1), &lab::ISSUER_PUBLIC).unwrap()
        );
        let mut out = [0u8; CCF_FILE_SIZE];
        let used = Credential::lab_test()
            .encode_signed(&UID, LAB_AID, &signer(), &mut out)
            .unwrap();
        assert_eq!(used, 122);
        assert_eq!(out, CCF);
    }

    #[test]
    fn verifies_the_section_9_card_and_rejects_changes() {
        let keys = [IssuerKey::from_sec1(issuer(), KeyId::one(1), &lab::ISSUER_PUBLIC).unwrap()];
        let ccf = ParsedCcf::parse(&CCF).unwrap();
        assert!(verify_signature(&ccf, &UID, LAB_AID, &keys).is_ok());

        let mut other_uid = UID;
        other_uid[6] ^= 1;
        assert_eq!(
            verify_signature(&ccf, &other_uid, LAB_AID, &keys),
            Err(SignatureError::BadSignature)
        );
        let other_aid = Aid::new(0x0AC502).unwrap();
        assert_eq!(
            verify_signature(&ccf, &UID, other_aid, &keys),
            Err(SignatureError::BadSignature)
        );
        let mut v = CCF;
        v[27] ^= 1; // last byte of the credential ID
        let tampered = ParsedCcf::parse(&v).unwrap();
        assert_eq!(
            verify_signature(&tampered, &UID, LAB_AID, &keys),
            Err(SignatureError::BadSignature)
        );
        let mut v = CCF;
        v[100] ^= 1; // inside s
        let tampered = ParsedCcf::parse(&v).unwrap();
        assert_eq!(
            verify_signature(&tampered, &UID, LAB_AID, &keys),
            Err(SignatureError::BadSignature)
        );
        let other_id =
            [IssuerKey::from_sec1(issuer(), KeyId::one(2), &lab::ISSUER_PUBLIC).unwrap()];
        assert_eq!(
            verify_signature(&ccf, &UID, LAB_AID, &other_id),
            Err(SignatureError::UnknownKeyId(KeyId::one(1)))
        );
        let mut v = CCF;
        v[55] = 2; // algorithm byte
        let alg2 = ParsedCcf::parse(&v).unwrap();
        assert_eq!(
            verify_signature(&alg2, &UID, LAB_AID, &keys),
            Err(SignatureError::UnsupportedAlgorithm(SignatureAlgorithm(2)))
        );
    }

    #[test]
    fn keys_are_named_by_issuer_and_key_id_and_checked_in_their_validity() {
        let ccf = ParsedCcf::parse(&CCF).unwrap();
        let key = IssuerKey::from_sec1(issuer(), KeyId::one(1), &lab::ISSUER_PUBLIC).unwrap();
        let other_issuer = IssuerKey::from_sec1(
            IssuerId::new(b"SE0000000001").unwrap(),
            KeyId::one(1),
            &lab::ISSUER_PUBLIC,
        )
        .unwrap();
        let wide_id =
            IssuerKey::from_sec1(issuer(), KeyId::two([0, 1]), &lab::ISSUER_PUBLIC).unwrap();
        for keys in [&[other_issuer][..], &[wide_id][..]] {
            assert_eq!(
                verify_signature(&ccf, &UID, LAB_AID, keys),
                Err(SignatureError::UnknownKeyId(KeyId::one(1)))
            );
        }
        let windowed = [key.with_validity(100, 200)];
        for (now, ok) in [(99, false), (100, true), (199, true), (200, false)] {
            assert_eq!(
                verify_signature_at(&ccf, &UID, LAB_AID, &windowed, now).is_ok(),
                ok,
                "{now}"
            );
        }
        assert!(verify_signature(&ccf, &UID, LAB_AID, &windowed).is_ok());
    }

    #[test]
    fn the_exported_scalar_is_the_key() {
        let mut out = [0u8; 32];
        signer().export_scalar(&mut out);
        assert_eq!(out, lab::ISSUER_SECRET);
    }

    #[test]
    fn signatures_made_elsewhere_are_normalised_to_low_s() {
        let digest = TBS_SHA256;
        let sig = signer().sign_digest(&digest).unwrap();
        assert_eq!(normalise_signature(&sig), Some(sig));
        // s' = n - s verifies the same; it comes back as s.
        let parsed = Signature::from_slice(&sig).unwrap();
        let (r, s) = parsed.split_scalars();
        let high = Signature::from_scalars(r, -*s).unwrap();
        let high_bytes: [u8; 64] = high.to_bytes().into();
        assert_ne!(high_bytes, sig);
        assert_eq!(normalise_signature(&high_bytes), Some(sig));
        assert_eq!(normalise_signature(&[0u8; 64]), None);
        assert_eq!(normalise_signature(&sig[..63]), None);
    }

    #[test]
    fn zero_signature_is_rejected_not_a_panic() {
        let keys = [IssuerKey::from_sec1(issuer(), KeyId::one(1), &lab::ISSUER_PUBLIC).unwrap()];
        let mut v = CCF;
        v[58..122].fill(0);
        let ccf = ParsedCcf::parse(&v).unwrap();
        assert_eq!(
            verify_signature(&ccf, &UID, LAB_AID, &keys),
            Err(SignatureError::BadSignature)
        );
    }
}
