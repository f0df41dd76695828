//! The credential file (file 01) of GEN-PACS v1 (`specs/generic-encoding.md` §8).
//!
//! ```text
//! 0      format major (0x01)    readers reject another major
//! 1      format minor (0x00)    readers accept a higher minor
//! 2..4   L, uint16 BE           length of the TLV area
//! 4..    TLV area: [tag 1B][len 1B, < 128][value] ...; the signature 0x9E is the last TLV
//! then   zero padding to the file size (160 bytes)
//! ```
//!
//! [`ParsedCcf::parse`] applies the structural rules 1-6 of spec §8.5 in the spec's order
//! (the signature rules 7-9 are [`crate::encoding::verify_signature`], rule 10 the reader's
//! validity check). Readers do not interpret the bytes after the TLV area (§8.1);
//! [`ParsedCcf::check_padding`] is the card verifier's separate check that they are zero.
//!
//! [`ParsedCcf::parse`] is the checked view over untrusted bytes; [`Credential`] is the meaning
//! (the "repr") and [`Credential::emit_signed_part`] / [`Credential::encode_with_signature`]
//! write it back.

use crate::wire::{Reader, Writer};

/// Format major version this crate reads and writes.
pub const FORMAT_MAJOR: u8 = 0x01;
/// Format minor version this crate writes; readers accept any minor.
pub const FORMAT_MINOR: u8 = 0x00;
/// Size of the credential file (spec §7); the plaintext a reader parses is exactly this long.
pub const CCF_FILE_SIZE: usize = 160;
/// Header: major, minor, L (uint16 BE).
pub const HEADER_LEN: usize = 4;

/// Tag numbers (spec §8.3).
pub mod tag {
    /// Issuer ID, 1-16 bytes, mandatory.
    pub const ISSUER_ID: u8 = 0x80;
    /// Credential ID, uint64 BE, mandatory.
    pub const CREDENTIAL_ID: u8 = 0x81;
    /// Issue number, 1 byte, mandatory.
    pub const ISSUE_NUMBER: u8 = 0x82;
    /// Valid from, uint32 BE Unix seconds, mandatory.
    pub const VALID_FROM: u8 = 0x83;
    /// Valid until, uint32 BE Unix seconds, mandatory.
    pub const VALID_UNTIL: u8 = 0x84;
    /// Site / facility code, 1-4 bytes, optional.
    pub const SITE_CODE: u8 = 0x85;
    /// Legacy PACS image: bit length + right-justified bits, 2-17 bytes, optional.
    pub const LEGACY_IMAGE: u8 = 0x86;
    /// Credential class, 1 byte, optional.
    pub const CREDENTIAL_CLASS: u8 = 0x87;
    /// Signing key ID, 1-2 bytes, mandatory.
    pub const SIGNING_KEY_ID: u8 = 0x8E;
    /// Signature algorithm, 1 byte, mandatory.
    pub const SIGNATURE_ALGORITHM: u8 = 0x8F;
    /// Signature, 64 bytes, mandatory, last.
    pub const SIGNATURE: u8 = 0x9E;

    /// Unknown tags a reader skips (spec §8.4): `0x88..=0x8D` and `0xA0..=0xBF`. Every other
    /// tag §8.3 does not define is critical and rejects the credential.
    pub const fn is_ignorable(tag: u8) -> bool {
        matches!(tag, 0x88..=0x8D | 0xA0..=0xBF)
    }

    /// Whether §8.3 defines `tag`.
    pub const fn is_defined(tag: u8) -> bool {
        matches!(tag, 0x80..=0x87 | 0x8E | 0x8F | 0x9E)
    }

    /// The allowed value lengths of a defined tag (spec §8.3), `None` for an undefined tag.
    pub const fn length_range(tag: u8) -> Option<(u8, u8)> {
        Some(match tag {
            ISSUER_ID => (1, 16),
            CREDENTIAL_ID => (8, 8),
            ISSUE_NUMBER => (1, 1),
            VALID_FROM | VALID_UNTIL => (4, 4),
            SITE_CODE => (1, 4),
            LEGACY_IMAGE => (2, 17),
            CREDENTIAL_CLASS => (1, 1),
            SIGNING_KEY_ID => (1, 2),
            SIGNATURE_ALGORITHM => (1, 1),
            SIGNATURE => (64, 64),
            _ => return None,
        })
    }
}

/// Why a CCF was rejected. The first check that fails wins, in the order of spec §8.5.
/// [`CredentialError::UnsupportedVersion`] is `UNKNOWN_VERSION`,
/// [`CredentialError::UnknownCriticalTag`] is `UNKNOWN_CRITICAL_TAG`; every other variant is
/// `MALFORMED_CREDENTIAL` (or a builder error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CredentialError {
    /// The header, a TLV header or a TLV value runs past the data (or the TLV area).
    Truncated,
    /// The plaintext is not exactly [`CCF_FILE_SIZE`] bytes (§8.5 rule 1).
    WrongFileSize,
    /// `L` is below 2 or above 156 (§8.5 rule 3).
    BadAreaLength,
    /// Valid-from is not before valid-until (§8.5 rule 6).
    BadValidity,
    /// The credential ID (tag 81) is all-zero (§8.5 rule 6).
    ZeroCredentialId,
    /// Format major version other than 1 (§6.8: readers MUST reject it).
    UnsupportedVersion(u8),
    /// A known tag with a length outside its range, or a length byte of 128 or more.
    BadLength(u8),
    /// A tag (defined or not) appears twice.
    DuplicateTag(u8),
    /// A mandatory tag is missing.
    MissingTag(u8),
    /// An unknown tag outside the ignorable ranges.
    UnknownCriticalTag(u8),
    /// The last TLV is not the signature.
    SignatureNotLast,
    /// Bytes after the TLV area are not zero ([`ParsedCcf::check_padding`], card verifier
    /// only: readers ignore them).
    TrailingData,
    /// The legacy image's bit length does not match its bytes (or unused high bits are set).
    BadLegacyImage,
    /// The output buffer is too small (builder).
    BufferTooSmall,
    /// A field is out of range for encoding (builder): e.g. an empty issuer ID.
    InvalidField,
}

impl core::fmt::Display for CredentialError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Truncated => f.write_str("credential truncated"),
            Self::WrongFileSize => f.write_str("credential file is not 160 bytes"),
            Self::BadAreaLength => f.write_str("TLV area length outside 2..=156"),
            Self::BadValidity => f.write_str("valid-from not before valid-until"),
            Self::ZeroCredentialId => f.write_str("all-zero credential ID"),
            Self::UnsupportedVersion(v) => write!(f, "unsupported format major version {v}"),
            Self::BadLength(t) => write!(f, "bad length of tag {t:02X}"),
            Self::DuplicateTag(t) => write!(f, "duplicate tag {t:02X}"),
            Self::MissingTag(t) => write!(f, "missing mandatory tag {t:02X}"),
            Self::UnknownCriticalTag(t) => write!(f, "unknown critical tag {t:02X}"),
            Self::SignatureNotLast => f.write_str("the last TLV is not the signature"),
            Self::TrailingData => f.write_str("non-zero bytes after the TLV area"),
            Self::BadLegacyImage => f.write_str("malformed legacy PACS image"),
            Self::BufferTooSmall => f.write_str("buffer too small"),
            Self::InvalidField => f.write_str("field out of range"),
        }
    }
}

impl core::error::Error for CredentialError {}

impl From<crate::wire::Error> for CredentialError {
    fn from(_: crate::wire::Error) -> Self {
        Self::Truncated
    }
}

/// Issuer ID (tag 0x80): 1 to 16 opaque bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IssuerId(pub(super) heapless::Vec<u8, 16>);

impl IssuerId {
    /// `None` unless 1 to 16 bytes.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() {
            return None;
        }
        heapless::Vec::from_slice(bytes).ok().map(Self)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Site / facility code (tag 0x85): 1 to 4 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SiteCode(heapless::Vec<u8, 4>);

impl SiteCode {
    /// `None` unless 1 to 4 bytes.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() {
            return None;
        }
        heapless::Vec::from_slice(bytes).ok().map(Self)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Legacy PACS image (tag 0x86, LEAF-style): a bit length and the bits right-justified in
/// `ceil(bits / 8)` bytes, unused high bits zero. `1A 02026073` is H10301 FC 1 / CN 12345.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LegacyImage {
    bit_len: u8,
    bits: heapless::Vec<u8, 16>,
}

impl LegacyImage {
    /// `None` unless `bits` is exactly `ceil(bit_len / 8)` bytes (1 to 16) with the unused high
    /// bits zero.
    pub fn new(bit_len: u8, bits: &[u8]) -> Option<Self> {
        let need = usize::from(bit_len).div_ceil(8);
        if bit_len == 0 || bits.len() != need {
            return None;
        }
        let unused = u32::try_from(need.checked_mul(8)?.checked_sub(usize::from(bit_len))?).ok()?;
        let first = *bits.first()?;
        if unused > 0 && first.checked_shr(8u32.checked_sub(unused)?).unwrap_or(0) != 0 {
            return None;
        }
        Some(Self {
            bit_len,
            bits: heapless::Vec::from_slice(bits).ok()?,
        })
    }

    /// Number of bits.
    pub fn bit_len(&self) -> u8 {
        self.bit_len
    }

    /// The bits, right-justified.
    pub fn bits(&self) -> &[u8] {
        &self.bits
    }

    /// Bit `i` of the image in transmission order: bit 0 is the first bit a Wiegand interface
    /// sends (the most significant of the `n`), as in `osdp_RAW` format `01` (spec §14).
    /// `None` from `i = n` on.
    pub fn bit(&self, i: u8) -> Option<bool> {
        if i >= self.bit_len {
            return None;
        }
        // Right-justified: the first `unused` bits of the first byte are padding.
        let unused = self
            .bits
            .len()
            .checked_mul(8)?
            .checked_sub(usize::from(self.bit_len))?;
        let at = unused.checked_add(usize::from(i))?;
        let byte = *self.bits.get(at / 8)?;
        let shift = 7u32.checked_sub(u32::try_from(at % 8).ok()?)?;
        Some(byte.checked_shr(shift)? & 1 == 1)
    }

    /// The `n` bits in transmission order, as a legacy Wiegand interface sends them (a `true`
    /// is a pulse on DATA1, a `false` on DATA0), spec §14 and R13. The test card's 26-bit
    /// H10301 image `1A 02026073` gives `10000000100110000001110011`.
    pub fn wiegand_bits(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.bit_len).filter_map(|i| self.bit(i))
    }

    /// The `n` bits left-justified (first bit in bit 7 of byte 0, unused low bits of the last
    /// byte zero), as `osdp_RAW` format `01` carries them (spec §14). Returns the bytes used,
    /// ⌈n/8⌉.
    pub fn left_justified(&self, out: &mut [u8; 16]) -> usize {
        *out = [0; 16];
        for (i, bit) in self.wiegand_bits().enumerate() {
            if let Some(b) = out.get_mut(i / 8) {
                *b |= u8::from(bit)
                    .checked_shl(7u32.saturating_sub((i % 8) as u32))
                    .unwrap_or(0);
            }
        }
        self.bits.len()
    }
}

/// Signing key ID (tag 0x8E): 1 or 2 opaque bytes, matched byte for byte (spec §8.3: `01` and
/// `0001` are different IDs). Together with the issuer ID it names an issuer public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KeyId {
    len: u8,
    bytes: [u8; 2],
}

impl KeyId {
    /// A one-byte key ID (the lab issuer key is `KeyId::one(0x01)`).
    pub const fn one(b: u8) -> Self {
        Self {
            len: 1,
            bytes: [b, 0],
        }
    }

    /// A two-byte key ID, as written.
    pub const fn two(b: [u8; 2]) -> Self {
        Self { len: 2, bytes: b }
    }

    /// `None` unless 1 or 2 bytes.
    pub fn new(bytes: &[u8]) -> Option<Self> {
        match *bytes {
            [a] => Some(Self::one(a)),
            [a, b] => Some(Self::two([a, b])),
            _ => None,
        }
    }

    /// The bytes as written in tag 0x8E.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl core::fmt::Display for KeyId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in self.as_bytes() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// Signature algorithm (tag 0x8F); an open code space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SignatureAlgorithm(pub u8);

impl SignatureAlgorithm {
    /// `0x01`: ECDSA P-256 with SHA-256, raw `r || s`.
    pub const ECDSA_P256_SHA256: Self = Self(0x01);
}

/// The content of a credential (every TLV except the signature).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Credential {
    /// Format minor version as read (written as [`FORMAT_MINOR`]).
    pub format_minor: u8,
    /// Tag 0x80.
    pub issuer: IssuerId,
    /// Tag 0x81: the 64-bit credential ID a reader outputs.
    pub credential_id: u64,
    /// Tag 0x82.
    pub issue_number: u8,
    /// Tag 0x83: Unix seconds UTC.
    pub valid_from: u32,
    /// Tag 0x84: Unix seconds UTC.
    pub valid_until: u32,
    /// Tag 0x85.
    pub site_code: Option<SiteCode>,
    /// Tag 0x86.
    pub legacy_image: Option<LegacyImage>,
    /// Tag 0x87.
    pub class: Option<u8>,
    /// Tag 0x8E.
    pub key_id: KeyId,
    /// Tag 0x8F.
    pub algorithm: SignatureAlgorithm,
}

/// A CCF that passed every structural check. The signature is not verified yet: see
/// [`crate::encoding::verify_signature`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCcf<'a> {
    /// The decoded fields.
    pub credential: Credential,
    /// Header and every TLV before the signature TLV: the CCF part of the TBS bytes.
    pub signed_part: &'a [u8],
    /// Tag 0x9E.
    pub signature: [u8; 64],
}

/// Which tags were seen (all 256), to spot duplicates of any tag (§8.5 rule 4).
#[derive(Default)]
struct Seen([u32; 8]);

impl Seen {
    fn slot(tag: u8) -> (usize, u32) {
        (usize::from(tag >> 5), 1u32 << (tag & 0x1F))
    }
    /// Records `tag`; `false` if it was seen before.
    fn insert(&mut self, tag: u8) -> bool {
        let (i, bit) = Self::slot(tag);
        match self.0.get_mut(i) {
            Some(w) if *w & bit == 0 => {
                *w |= bit;
                true
            }
            _ => false,
        }
    }
    fn has(&self, tag: u8) -> bool {
        let (i, bit) = Self::slot(tag);
        self.0.get(i).is_some_and(|w| w & bit != 0)
    }
}

/// `v` as an array, or a bad length of `tag`.
fn exact<const N: usize>(tag: u8, v: &[u8]) -> Result<[u8; N], CredentialError> {
    v.try_into().map_err(|_| CredentialError::BadLength(tag))
}

/// Largest `L` (§8.1): the file less the 4-byte header.
pub const MAX_AREA_LEN: usize = CCF_FILE_SIZE - HEADER_LEN;
/// Smallest `L` (§8.1).
pub const MIN_AREA_LEN: usize = 2;

/// Mandatory tags (§8.3).
const MANDATORY: [u8; 8] = [
    tag::ISSUER_ID,
    tag::CREDENTIAL_ID,
    tag::ISSUE_NUMBER,
    tag::VALID_FROM,
    tag::VALID_UNTIL,
    tag::SIGNING_KEY_ID,
    tag::SIGNATURE_ALGORITHM,
    tag::SIGNATURE,
];

impl<'a> ParsedCcf<'a> {
    /// Parses the plaintext of the credential file (exactly 160 bytes) by spec §8.5 rules 1-6,
    /// in that order: file size, major (any minor is accepted), `L` in 2..=156, the TLV walk
    /// (malformed TLV, duplicate tag, defined tag with a length outside its range, unknown
    /// critical tag, in the order the TLVs come; unknown ignorable tags are skipped), mandatory
    /// tags present and `9E` last, then the legacy image, the validity window and a non-zero
    /// credential ID. The bytes
    /// after the TLV area are not interpreted (§8.1).
    pub fn parse(file: &'a [u8]) -> Result<Self, CredentialError> {
        // Rule 1.
        if file.len() != CCF_FILE_SIZE {
            return Err(CredentialError::WrongFileSize);
        }
        let mut r = Reader::new(file);
        let [major, minor] = r.array::<2>()?;
        // Rule 2.
        if major != FORMAT_MAJOR {
            return Err(CredentialError::UnsupportedVersion(major));
        }
        // Rule 3.
        let area_len = usize::from(u16::from_be_bytes(r.array::<2>()?));
        if !(MIN_AREA_LEN..=MAX_AREA_LEN).contains(&area_len) {
            return Err(CredentialError::BadAreaLength);
        }
        let area = r.take(area_len)?;

        // Rule 4: walk the TLVs.
        let mut seen = Seen::default();
        let mut last_tag = None;
        let mut issuer = None;
        let mut credential_id = 0;
        let mut issue_number = 0;
        let mut valid_from = 0;
        let mut valid_until = 0;
        let mut site_code = None;
        let mut legacy = None;
        let mut class = None;
        let mut key_id = None;
        let mut algorithm = SignatureAlgorithm(0);
        let mut signature = [0u8; 64];
        let mut signed_len = HEADER_LEN;
        let mut t = Reader::new(area);
        while !t.is_empty() {
            let tlv_start = area_len
                .checked_sub(t.remaining())
                .ok_or(CredentialError::Truncated)?;
            let [tag, len] = t.array::<2>()?;
            if len >= 0x80 {
                return Err(CredentialError::BadLength(tag));
            }
            let v = t.take(usize::from(len))?;
            if !seen.insert(tag) {
                return Err(CredentialError::DuplicateTag(tag));
            }
            match tag::length_range(tag) {
                Some((lo, hi)) if !(lo..=hi).contains(&len) => {
                    return Err(CredentialError::BadLength(tag));
                }
                Some(_) => {}
                None if tag::is_ignorable(tag) => {}
                None => return Err(CredentialError::UnknownCriticalTag(tag)),
            }
            last_tag = Some(tag);
            let bad = CredentialError::BadLength(tag);
            match tag {
                tag::ISSUER_ID => issuer = Some(IssuerId::new(v).ok_or(bad)?),
                tag::CREDENTIAL_ID => credential_id = u64::from_be_bytes(exact(tag, v)?),
                tag::ISSUE_NUMBER => issue_number = u8::from_be_bytes(exact(tag, v)?),
                tag::VALID_FROM => valid_from = u32::from_be_bytes(exact(tag, v)?),
                tag::VALID_UNTIL => valid_until = u32::from_be_bytes(exact(tag, v)?),
                tag::SITE_CODE => site_code = Some(SiteCode::new(v).ok_or(bad)?),
                tag::LEGACY_IMAGE => legacy = Some(v),
                tag::CREDENTIAL_CLASS => class = Some(u8::from_be_bytes(exact(tag, v)?)),
                tag::SIGNING_KEY_ID => key_id = Some(KeyId::new(v).ok_or(bad)?),
                tag::SIGNATURE_ALGORITHM => {
                    algorithm = SignatureAlgorithm(u8::from_be_bytes(exact(tag, v)?));
                }
                tag::SIGNATURE => {
                    signature = exact::<64>(tag, v)?;
                    signed_len = HEADER_LEN
                        .checked_add(tlv_start)
                        .ok_or(CredentialError::Truncated)?;
                }
                _ => {} // an unknown ignorable tag: skipped (still signed)
            }
        }

        // Rule 5.
        if let Some(m) = MANDATORY.into_iter().find(|m| !seen.has(*m)) {
            return Err(CredentialError::MissingTag(m));
        }
        if last_tag != Some(tag::SIGNATURE) {
            return Err(CredentialError::SignatureNotLast);
        }
        // Rule 6.
        let legacy_image = match legacy {
            None => None,
            Some(v) => {
                let (n, bits) = v.split_first().ok_or(CredentialError::BadLegacyImage)?;
                Some(LegacyImage::new(*n, bits).ok_or(CredentialError::BadLegacyImage)?)
            }
        };
        if valid_from >= valid_until {
            return Err(CredentialError::BadValidity);
        }
        if credential_id == 0 {
            return Err(CredentialError::ZeroCredentialId);
        }
        let (Some(issuer), Some(key_id)) = (issuer, key_id) else {
            return Err(CredentialError::MissingTag(tag::ISSUER_ID));
        };
        let signed_part = file.get(..signed_len).ok_or(CredentialError::Truncated)?;
        Ok(Self {
            credential: Credential {
                format_minor: minor,
                issuer,
                credential_id,
                issue_number,
                valid_from,
                valid_until,
                site_code,
                legacy_image,
                class,
                key_id,
                algorithm,
            },
            signed_part,
            signature,
        })
    }

    /// The card verifier's check of §8.1 (not a reader rule): every byte of `file` after the
    /// TLV area is zero. `file` is the same 160 bytes [`ParsedCcf::parse`] accepted.
    pub fn check_padding(file: &[u8]) -> Result<(), CredentialError> {
        let area = file
            .get(2..HEADER_LEN)
            .and_then(|l| <[u8; 2]>::try_from(l).ok())
            .map(|l| usize::from(u16::from_be_bytes(l)))
            .ok_or(CredentialError::Truncated)?;
        let end = HEADER_LEN
            .checked_add(area)
            .ok_or(CredentialError::Truncated)?;
        let rest = file.get(end..).ok_or(CredentialError::Truncated)?;
        if rest.iter().any(|b| *b != 0) {
            return Err(CredentialError::TrailingData);
        }
        Ok(())
    }
}

/// Length of the signature TLV (tag, length, 64 bytes).
const SIGNATURE_TLV_LEN: usize = 66;

fn tlv(w: &mut Writer<'_>, tag: u8, value: &[u8]) -> Result<(), CredentialError> {
    let len = u8::try_from(value.len())
        .ok()
        .filter(|l| *l < 0x80)
        .ok_or(CredentialError::InvalidField)?;
    w.put(&[tag, len])
        .and_then(|()| w.put(value))
        .map_err(|_| CredentialError::BufferTooSmall)
}

/// An extra TLV for the builder: a tag §8.3 does not define (an ignorable one, or, for test
/// cards only, a critical one) and its value (0-127 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtraTlv<'a> {
    /// The tag; not one §8.3 defines.
    pub tag: u8,
    /// The value.
    pub value: &'a [u8],
}

impl Credential {
    /// Writes the header and every TLV before the signature into `out` (the CCF part of the
    /// TBS bytes); L in the header already counts the 66-byte signature TLV. Returns the
    /// length written. Same as [`Credential::emit_signed_part_with`] without extra tags.
    pub fn emit_signed_part(&self, out: &mut [u8]) -> Result<usize, CredentialError> {
        self.emit_signed_part_with(&[], out)
    }

    /// Writes the header and every TLV before the signature, in the encoder order of spec
    /// §8.3: `80 81 82 83 84`, the optional `85 86 87` present, the `extra` tags (strictly
    /// ascending, none of them a defined tag), then `8E 8F`. Refuses (`InvalidField`) what an
    /// encoder must not write: a zero credential ID, valid-from not before valid-until, extra
    /// tags out of order, duplicated or defined, or an `L` above 156.
    pub fn emit_signed_part_with(
        &self,
        extra: &[ExtraTlv<'_>],
        out: &mut [u8],
    ) -> Result<usize, CredentialError> {
        if self.credential_id == 0 || self.valid_from >= self.valid_until {
            return Err(CredentialError::InvalidField);
        }
        let mut prev: Option<u8> = None;
        for e in extra {
            if tag::is_defined(e.tag) || prev.is_some_and(|p| p >= e.tag) {
                return Err(CredentialError::InvalidField);
            }
            prev = Some(e.tag);
        }
        let mut w = Writer::new(out);
        w.put(&[FORMAT_MAJOR, FORMAT_MINOR, 0, 0])
            .map_err(|_| CredentialError::BufferTooSmall)?;
        tlv(&mut w, tag::ISSUER_ID, self.issuer.as_bytes())?;
        tlv(
            &mut w,
            tag::CREDENTIAL_ID,
            &self.credential_id.to_be_bytes(),
        )?;
        tlv(&mut w, tag::ISSUE_NUMBER, &[self.issue_number])?;
        tlv(&mut w, tag::VALID_FROM, &self.valid_from.to_be_bytes())?;
        tlv(&mut w, tag::VALID_UNTIL, &self.valid_until.to_be_bytes())?;
        if let Some(s) = &self.site_code {
            tlv(&mut w, tag::SITE_CODE, s.as_bytes())?;
        }
        if let Some(l) = &self.legacy_image {
            let mut v = [0u8; 17];
            let n = l
                .bits
                .len()
                .checked_add(1)
                .ok_or(CredentialError::InvalidField)?;
            let (first, rest) = v.split_at_mut(1);
            first.fill(l.bit_len);
            rest.get_mut(..l.bits.len())
                .ok_or(CredentialError::InvalidField)?
                .copy_from_slice(&l.bits);
            tlv(
                &mut w,
                tag::LEGACY_IMAGE,
                v.get(..n).ok_or(CredentialError::InvalidField)?,
            )?;
        }
        if let Some(c) = self.class {
            tlv(&mut w, tag::CREDENTIAL_CLASS, &[c])?;
        }
        for e in extra {
            tlv(&mut w, e.tag, e.value)?;
        }
        tlv(&mut w, tag::SIGNING_KEY_ID, self.key_id.as_bytes())?;
        tlv(&mut w, tag::SIGNATURE_ALGORITHM, &[self.algorithm.0])?;
        let len = w.len();
        let area = len
            .checked_sub(HEADER_LEN)
            .and_then(|n| n.checked_add(SIGNATURE_TLV_LEN))
            .filter(|n| *n <= MAX_AREA_LEN)
            .and_then(|n| u16::try_from(n).ok())
            .ok_or(CredentialError::InvalidField)?;
        let header_l = w
            .buffer_mut()
            .get_mut(2..HEADER_LEN)
            .ok_or(CredentialError::BufferTooSmall)?;
        header_l.copy_from_slice(&area.to_be_bytes());
        Ok(len)
    }

    /// Writes the whole CCF file into `out` with the given signature: the signed part, the
    /// signature TLV (last), then zeros to the end of `out` (the file size). Returns the
    /// length used before the padding.
    pub fn encode_with_signature(
        &self,
        signature: &[u8; 64],
        out: &mut [u8],
    ) -> Result<usize, CredentialError> {
        self.encode_with_signature_and(&[], signature, out)
    }

    /// [`Credential::encode_with_signature`] with extra TLVs (see
    /// [`Credential::emit_signed_part_with`]).
    pub fn encode_with_signature_and(
        &self,
        extra: &[ExtraTlv<'_>],
        signature: &[u8; 64],
        out: &mut [u8],
    ) -> Result<usize, CredentialError> {
        let n = self.emit_signed_part_with(extra, out)?;
        let rest = out.get_mut(n..).ok_or(CredentialError::BufferTooSmall)?;
        let mut w = Writer::new(rest);
        tlv(&mut w, tag::SIGNATURE, signature)?;
        let used = w.len();
        rest.get_mut(used..)
            .ok_or(CredentialError::BufferTooSmall)?
            .fill(0);
        n.checked_add(used).ok_or(CredentialError::BufferTooSmall)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    extern crate std;
    use super::*;
    use hex_literal::hex;

    /// The 160-byte CCF of the draft's §9 test card (TEST KEYS ONLY).
    pub(crate) const CCF: [u8; 160] = hex!(
        "01000076800C53453030303030303030303081081A2B3C4D5E6F708182010183"
        "046955B900840472BD0C0086051A020260738E01018F01019E406E43B66D1ED8"
        "A69C6D8347506922EC8177DC5C9C56DDCD05E1A9B90CB91D16436E3C93D89212"
        "0147D1EF4584C53684CDAD69AD20AE99A9BE8C074AD738BCB71A000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000"
    );
    const SIGNATURE: [u8; 64] = hex!(
        "6E43B66D1ED8A69C6D8347506922EC8177DC5C9C56DDCD05E1A9B90CB91D1643"
        "6E3C93D892120147D1EF4584C53684CDAD69AD20AE99A9BE8C074AD738BCB71A"
    );

    /// Spec §14: the test card's tag 86 `1A 02026073` (26-bit H10301, facility 1, card 12345)
    /// on a Wiegand line and left-justified in `osdp_RAW` format 01 (`80 98 1C C0`).
    #[test]
    fn legacy_image_wiegand_bits_of_the_test_card() {
        let img = LegacyImage::new(0x1A, &hex!("02026073")).unwrap();
        let bits: heapless::String<128> = img
            .wiegand_bits()
            .map(|b| if b { '1' } else { '0' })
            .collect();
        assert_eq!(bits.as_str(), "10000000100110000001110011");
        // H10301: even parity, facility 00000001, card 0011000000111001 (12345), odd parity.
        assert_eq!(&bits[1..9], "00000001");
        assert_eq!(u16::from_str_radix(&bits[9..25], 2).unwrap(), 12345);
        assert_eq!(img.bit(25), Some(true));
        assert_eq!(img.bit(26), None);
        let mut out = [0xFF; 16];
        let n = img.left_justified(&mut out);
        assert_eq!(&out[..n], hex!("80 98 1C C0"));
        assert!(out[n..].iter().all(|&b| b == 0));
    }

    #[test]
    fn legacy_image_bit_order_on_byte_boundaries() {
        // 8 bits: no padding; 1 bit; 128 bits (the maximum).
        let img = LegacyImage::new(8, &[0b1010_0001]).unwrap();
        let v: heapless::Vec<bool, 8> = img.wiegand_bits().collect();
        assert_eq!(v, [true, false, true, false, false, false, false, true]);
        let img = LegacyImage::new(1, &[1]).unwrap();
        assert_eq!(img.wiegand_bits().count(), 1);
        assert_eq!(img.bit(0), Some(true));
        let mut full = [0u8; 16];
        full[15] = 1;
        full[0] = 0x80;
        let img = LegacyImage::new(128, &full).unwrap();
        assert_eq!(img.bit(0), Some(true));
        assert_eq!(img.bit(127), Some(true));
        assert_eq!(img.wiegand_bits().filter(|b| *b).count(), 2);
        let mut out = [0u8; 16];
        assert_eq!(img.left_justified(&mut out), 16);
        assert_eq!(out, full);
    }

    #[test]
    fn parses_the_section_9_card() {
        let p = ParsedCcf::parse(&CCF).unwrap();
        assert_eq!(p.credential, Credential::lab_test());
        assert_eq!(p.signature, SIGNATURE);
        assert_eq!(p.signed_part, &CCF[..56]);
        assert_eq!(p.credential.legacy_image.as_ref().unwrap().bit_len(), 26);
    }

    #[test]
    fn emits_the_section_9_card() {
        let mut out = [0xEE; CCF_FILE_SIZE];
        let used = Credential::lab_test()
            .encode_with_signature(&SIGNATURE, &mut out)
            .unwrap();
        assert_eq!(used, 122);
        assert_eq!(out, CCF);
    }

    #[test]
    fn round_trips_optional_fields_and_wide_key_id() {
        let mut c = Credential::lab_test();
        c.site_code = SiteCode::new(&[1, 2, 3, 4]);
        c.class = Some(2);
        c.key_id = KeyId::two([1, 2]);
        let mut out = [0; CCF_FILE_SIZE];
        c.encode_with_signature(&SIGNATURE, &mut out).unwrap();
        assert_eq!(ParsedCcf::parse(&out).unwrap().credential, c);
    }

    /// The §9 card with its TLV area replaced: header recomputed, zeros to 160 bytes.
    fn with_area(area: &[u8]) -> std::vec::Vec<u8> {
        let mut v = std::vec![1, 0];
        v.extend_from_slice(&(area.len() as u16).to_be_bytes());
        v.extend_from_slice(area);
        v.resize(CCF_FILE_SIZE, 0);
        v
    }

    /// The §9 TLV area up to (not including) the signature.
    fn area_before_signature() -> std::vec::Vec<u8> {
        CCF[4..56].to_vec()
    }

    fn sig_tlv() -> std::vec::Vec<u8> {
        let mut v = std::vec![0x9E, 0x40];
        v.extend_from_slice(&SIGNATURE);
        v
    }

    fn parse(v: &[u8]) -> Result<Credential, CredentialError> {
        ParsedCcf::parse(v).map(|p| p.credential)
    }

    #[test]
    fn the_plaintext_is_exactly_160_bytes() {
        for n in 0..CCF_FILE_SIZE {
            assert_eq!(
                ParsedCcf::parse(&CCF[..n]),
                Err(CredentialError::WrongFileSize),
                "{n}"
            );
        }
        let mut long = CCF.to_vec();
        long.push(0);
        assert_eq!(ParsedCcf::parse(&long), Err(CredentialError::WrongFileSize));
    }

    #[test]
    fn area_length_bounds() {
        for (l, want) in [
            (0u16, CredentialError::BadAreaLength),
            (1, CredentialError::BadAreaLength),
            (157, CredentialError::BadAreaLength),
            (0xFFFF, CredentialError::BadAreaLength),
        ] {
            let mut v = CCF;
            v[2..4].copy_from_slice(&l.to_be_bytes());
            assert_eq!(parse(&v), Err(want), "L = {l}");
        }
        // Rule 2 before rule 3.
        let mut v = CCF;
        v[0] = 2;
        v[2..4].copy_from_slice(&[0, 0]);
        assert_eq!(parse(&v), Err(CredentialError::UnsupportedVersion(2)));
    }

    #[test]
    fn rejects_wrong_area_length() {
        for l in 0u16..=200 {
            if l == 0x76 {
                continue;
            }
            let mut v = CCF;
            v[2..4].copy_from_slice(&l.to_be_bytes());
            assert!(ParsedCcf::parse(&v).is_err(), "accepted L = {l}");
        }
    }

    #[test]
    fn rejects_unknown_major_accepts_higher_minor() {
        let mut v = CCF;
        v[0] = 2;
        assert_eq!(parse(&v), Err(CredentialError::UnsupportedVersion(2)));
        let mut v = CCF;
        v[1] = 7;
        assert_eq!(parse(&v).unwrap().format_minor, 7);
    }

    #[test]
    fn readers_ignore_the_bytes_after_the_area_the_verifier_does_not() {
        assert_eq!(ParsedCcf::check_padding(&CCF), Ok(()));
        for at in [122, 159] {
            let mut v = CCF;
            v[at] = 0x80;
            assert_eq!(parse(&v).unwrap(), Credential::lab_test());
            assert_eq!(
                ParsedCcf::check_padding(&v),
                Err(CredentialError::TrailingData)
            );
        }
    }

    #[test]
    fn validity_window_must_not_be_empty() {
        for until in [0x6955_B900u32, 0x6955_B8FF] {
            let mut v = CCF;
            v[39..43].copy_from_slice(&until.to_be_bytes());
            assert_eq!(parse(&v), Err(CredentialError::BadValidity));
        }
        let mut c = Credential::lab_test();
        c.valid_until = c.valid_from;
        assert_eq!(
            c.encode_with_signature(&SIGNATURE, &mut [0; CCF_FILE_SIZE]),
            Err(CredentialError::InvalidField)
        );
    }

    #[test]
    fn rejects_wrong_lengths_of_every_known_tag() {
        // (offset of the length byte in CCF, tag)
        for (at, t) in [
            (5, 0x80),
            (19, 0x81),
            (29, 0x82),
            (32, 0x83),
            (38, 0x84),
            (44, 0x86),
            (51, 0x8E),
            (54, 0x8F),
            (57, 0x9E),
        ] {
            assert_eq!(CCF[at - 1], t);
            for delta in [-1i16, 1] {
                let mut v = CCF;
                v[at] = (v[at] as i16 + delta) as u8;
                assert!(
                    parse(&v).is_err(),
                    "tag {t:02X} length {:02X} accepted",
                    v[at]
                );
            }
            let mut v = CCF;
            v[at] = 0x81;
            assert!(parse(&v).is_err());
        }
    }

    #[test]
    fn rejects_out_of_range_field_lengths() {
        // The §9 area without the issuer TLV (file 4..18) or without tag 86 (file 43..50), so
        // that the case under test is not also a duplicate.
        let without = |from: usize, to: usize, extra: &[u8]| {
            let mut area = CCF[4..from].to_vec();
            area.extend_from_slice(extra);
            area.extend_from_slice(&CCF[to..56]);
            area.extend_from_slice(&sig_tlv());
            with_area(&area)
        };
        let issuer_cases: &[(&[u8], CredentialError)] = &[
            (&[0x80, 0x00], CredentialError::BadLength(0x80)),
            (
                &[0x80, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                CredentialError::BadLength(0x80),
            ),
        ];
        for (extra, err) in issuer_cases {
            assert_eq!(parse(&without(4, 18, extra)), Err(*err), "{extra:02X?}");
        }
        let cases: &[(&[u8], CredentialError)] = &[
            (&[0x85, 0x00], CredentialError::BadLength(0x85)),
            (
                &[0x85, 0x05, 1, 2, 3, 4, 5],
                CredentialError::BadLength(0x85),
            ),
            (&[0x86, 0x01, 0x08], CredentialError::BadLength(0x86)),
            (&[0x86, 0x02, 0x00, 0x00], CredentialError::BadLegacyImage),
            (&[0x86, 0x02, 0x09, 0x01], CredentialError::BadLegacyImage),
            (
                &[0x86, 0x03, 0x08, 0x00, 0x01],
                CredentialError::BadLegacyImage,
            ),
            (&[0x86, 0x02, 0x04, 0x10], CredentialError::BadLegacyImage),
            (&[0x87, 0x02, 0, 0], CredentialError::BadLength(0x87)),
        ];
        for (extra, err) in cases {
            assert_eq!(parse(&without(43, 50, extra)), Err(*err), "{extra:02X?}");
        }
        // Rule 4 (a critical tag anywhere) wins over rule 6 (a bad legacy image before it).
        let v = without(43, 50, &[0x86, 0x02, 0x04, 0x10, 0x90, 0x00]);
        assert_eq!(parse(&v), Err(CredentialError::UnknownCriticalTag(0x90)));
    }

    #[test]
    fn key_id_is_matched_byte_for_byte() {
        let mut c = Credential::lab_test();
        c.key_id = KeyId::two([0, 1]);
        let mut out = [0; CCF_FILE_SIZE];
        c.encode_with_signature(&SIGNATURE, &mut out).unwrap();
        let got = parse(&out).unwrap().key_id;
        assert_eq!(got.as_bytes(), &[0, 1]);
        assert_ne!(got, KeyId::one(1));
        assert_eq!(KeyId::new(&[]), None);
        assert_eq!(KeyId::new(&[1, 2, 3]), None);
    }

    #[test]
    fn builder_writes_extra_tags_before_8e_and_refuses_bad_ones() {
        let extra = [ExtraTlv {
            tag: 0xA5,
            value: b"lab",
        }];
        let mut out = [0; CCF_FILE_SIZE];
        let used = Credential::lab_test()
            .encode_with_signature_and(&extra, &SIGNATURE, &mut out)
            .unwrap();
        assert_eq!(used, 127);
        assert_eq!(&out[50..55], &[0xA5, 3, b'l', b'a', b'b']);
        assert_eq!(parse(&out).unwrap(), Credential::lab_test());
        for bad in [
            &[ExtraTlv {
                tag: 0x86,
                value: &[],
            }][..],
            &[
                ExtraTlv {
                    tag: 0xA5,
                    value: &[],
                },
                ExtraTlv {
                    tag: 0xA1,
                    value: &[],
                },
            ][..],
            &[
                ExtraTlv {
                    tag: 0xA5,
                    value: &[],
                },
                ExtraTlv {
                    tag: 0xA5,
                    value: &[],
                },
            ][..],
            &[ExtraTlv {
                tag: 0xA5,
                value: &[0; 40],
            }][..],
        ] {
            assert_eq!(
                Credential::lab_test().encode_with_signature_and(bad, &SIGNATURE, &mut [0; 160]),
                Err(CredentialError::InvalidField),
                "{bad:02X?}"
            );
        }
        let mut c = Credential::lab_test();
        c.credential_id = 0;
        assert_eq!(
            c.encode_with_signature(&SIGNATURE, &mut [0; 160]),
            Err(CredentialError::InvalidField)
        );
    }

    #[test]
    fn critical_and_ignorable_unknown_tags() {
        for t in 0u8..=0xFF {
            let known = matches!(t, 0x80..=0x87 | 0x8E | 0x8F | 0x9E);
            if known {
                continue;
            }
            let mut area = std::vec![t, 2, 0xAA, 0xBB];
            area.extend_from_slice(&area_before_signature());
            area.extend_from_slice(&sig_tlv());
            let got = parse(&with_area(&area));
            if tag::is_ignorable(t) {
                assert_eq!(got.unwrap(), Credential::lab_test(), "tag {t:02X}");
            } else {
                assert_eq!(got, Err(CredentialError::UnknownCriticalTag(t)));
            }
        }
    }

    /// §8.5 rule 4: the walk stops at the first TLV that fails, in byte order; a critical tag
    /// and a duplicate in different TLVs are told apart by which comes first.
    #[test]
    fn the_first_faulty_tlv_in_byte_order_decides() {
        // `90 01 00` first, then a second tag 80: UNKNOWN_CRITICAL_TAG.
        let mut area = std::vec![0x90, 1, 0];
        area.extend_from_slice(&area_before_signature());
        area.extend_from_slice(&[0x80, 1, 0x41]);
        area.extend_from_slice(&sig_tlv());
        assert_eq!(
            parse(&with_area(&area)),
            Err(CredentialError::UnknownCriticalTag(0x90))
        );
        // The other way round: the duplicate tag 80 comes first.
        let mut area = area_before_signature();
        area.extend_from_slice(&[0x80, 1, 0x41]);
        area.extend_from_slice(&[0x90, 1, 0]);
        area.extend_from_slice(&sig_tlv());
        assert_eq!(
            parse(&with_area(&area)),
            Err(CredentialError::DuplicateTag(0x80))
        );
        // A TLV running past L after a critical tag: the critical tag comes first.
        let mut area = std::vec![0x90, 0];
        area.extend_from_slice(&area_before_signature());
        area.extend_from_slice(&sig_tlv());
        area.extend_from_slice(&[0xA0, 5]);
        assert_eq!(
            parse(&with_area(&area)),
            Err(CredentialError::UnknownCriticalTag(0x90))
        );
    }

    /// §8.5 rule 6: an all-zero credential ID is malformed, after the validity rule.
    #[test]
    fn an_all_zero_credential_id_is_malformed() {
        let mut file = CCF;
        // Tag 81 of the §9 card: `81 08` at offset 18, the ID at 20..28.
        assert_eq!(file[18..20], [0x81, 0x08]);
        file[20..28].fill(0);
        assert_eq!(parse(&file), Err(CredentialError::ZeroCredentialId));
        file[20 + 7] = 1;
        assert_eq!(parse(&file).unwrap().credential_id, 1);
    }

    /// §8.3: reserved credential classes (`03`-`FF`) are accepted by readers.
    #[test]
    fn reserved_credential_classes_are_accepted() {
        for class in [0x00u8, 0x02, 0x03, 0x7F, 0xFF] {
            let mut area = area_before_signature();
            area.extend_from_slice(&[0x87, 1, class]);
            area.extend_from_slice(&sig_tlv());
            assert_eq!(parse(&with_area(&area)).unwrap().class, Some(class));
        }
    }

    #[test]
    fn duplicate_missing_and_signature_order() {
        let mut area = area_before_signature();
        area.extend_from_slice(&[0x82, 1, 2]);
        area.extend_from_slice(&sig_tlv());
        assert_eq!(
            parse(&with_area(&area)),
            Err(CredentialError::DuplicateTag(0x82))
        );

        let mut area = area_before_signature();
        area.extend_from_slice(&sig_tlv());
        area.extend_from_slice(&[0xA0, 0]);
        assert_eq!(
            parse(&with_area(&area)),
            Err(CredentialError::SignatureNotLast)
        );
        // A critical tag after the signature: the walk (rule 4) comes before rule 5.
        let mut area = area_before_signature();
        area.extend_from_slice(&sig_tlv());
        area.extend_from_slice(&[0x90, 0]);
        assert_eq!(
            parse(&with_area(&area)),
            Err(CredentialError::UnknownCriticalTag(0x90))
        );
        // An ignorable tag twice is a duplicate too.
        let mut area = std::vec![0xA0, 0, 0xA0, 0];
        area.extend_from_slice(&area_before_signature());
        area.extend_from_slice(&sig_tlv());
        assert_eq!(
            parse(&with_area(&area)),
            Err(CredentialError::DuplicateTag(0xA0))
        );

        assert_eq!(
            parse(&with_area(&area_before_signature())),
            Err(CredentialError::MissingTag(0x9E))
        );
        // Drop the issue number (bytes 28..31 of the file, 24..27 of the area).
        let mut area = area_before_signature();
        area.drain(24..27);
        area.extend_from_slice(&sig_tlv());
        assert_eq!(
            parse(&with_area(&area)),
            Err(CredentialError::MissingTag(0x82))
        );
    }

    #[test]
    fn builder_checks_buffer_and_fields() {
        let mut small = [0u8; 121];
        assert_eq!(
            Credential::lab_test().encode_with_signature(&SIGNATURE, &mut small),
            Err(CredentialError::BufferTooSmall)
        );
        assert!(LegacyImage::new(0, &[]).is_none());
        assert!(LegacyImage::new(26, &hex!("04026073")).is_none());
        assert!(IssuerId::new(&[0; 17]).is_none());
    }
}
