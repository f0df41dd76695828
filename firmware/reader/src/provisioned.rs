//! The key record a real board reads from its own flash page (written at provisioning, never part
//! of the image): the reader's profile — AID, system identifier, K1, the K2 master, one trusted
//! issuer key, the OSDP SCBK and address. A deployment that follows R6 to the letter keeps the
//! K2 master in a SAM AV3 instead and implements [`desfire_core::encoding::KeyProvider`] over
//! it; the record then carries no master (all zero K2 master = "none").
//!
//! ```text
//! off len
//!   0   4  magic "GPK1"
//!   4   3  AID, most significant byte first
//!   7   8  system identifier
//!  15  16  K1
//!  31  16  K2 master (all zero: no master in flash, keys from a secure element)
//!  47   1  issuer ID length (1..=16), then 16 bytes, zero padded
//!  64   1  issuer key ID length (1 or 2), then 2 bytes
//!  67  65  issuer public key, SEC1 uncompressed
//! 132  16  OSDP SCBK
//! 148   1  OSDP address (0..=0x7E)
//! 149   1  flags: bit 0 policy.allow_fixed_uid (spec §11)
//! 150   4  CRC-32 (ISO-HDLC) of bytes 0..150, little-endian
//! ```
//!
//! Erased flash (all `FF`) or any inconsistency is [`RecordError`]: the reader then refuses to
//! run rather than fall back to anything. Unless the build is a lab build, the TEST values of
//! spec §16 are refused too (R15). In every build, a record is refused that holds a key anyone
//! knows: SCBK-D (OSDP install mode) as any key, an all-zero K1 or SCBK (a DESFire card's
//! factory key is all zero), or one key in two roles ([`RecordError::WeakKey`]).

use crate::lab_values;
use crate::osdp::PdConfig;
use desfire_core::crypto::AesKey;
use desfire_core::encoding::{
    IssuerId, IssuerKey, KeyId, LAB_AID, Masters, OutputFormat, SystemId,
};
use desfire_core::wire::Aid;
use subtle::ConstantTimeEq;

/// The record's length.
pub const RECORD_LEN: usize = 154;
const MAGIC: &[u8; 4] = b"GPK1";
/// Bitwise (no 1 KiB table in flash): the record is checked once, at boot.
const CRC32: crc::Crc<u32, crc::NoTable> =
    crc::Crc::<u32, crc::NoTable>::new(&crc::CRC_32_ISO_HDLC);

/// Why the record cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RecordError {
    /// No record (erased flash, another magic) or too short.
    Missing,
    /// The CRC does not match: a torn or corrupted write.
    Corrupt,
    /// A field is out of range (AID, lengths, key not on the curve, address).
    Invalid,
    /// A TEST key or the lab AID of spec §16 in a production build (R15).
    TestKey,
    /// A key anyone knows or can guess: SCBK-D, all zero (the DESFire factory key), or the
    /// same key as K1, K2 master and SCBK in two roles.
    WeakKey,
}

impl core::fmt::Display for RecordError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Missing => "no key record",
            Self::Corrupt => "key record CRC mismatch",
            Self::Invalid => "key record field out of range",
            Self::TestKey => "TEST key or lab AID in a production key record",
            Self::WeakKey => "known, all-zero or reused key in the key record",
        })
    }
}

impl core::error::Error for RecordError {}

/// Whether `key` is one an attacker would try first: all zero (the factory key of a DESFire
/// card, and of many OSDP panels before configuration) or SCBK-D.
fn known_key(key: &[u8; 16]) -> bool {
    bool::from(key.ct_eq(&[0u8; 16]) | key.ct_eq(&lab_values::SCBK_D))
}

/// A parsed record.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The GEN-PACS application.
    pub aid: Aid,
    /// K1 and, unless it lives in a secure element, the K2 master.
    pub masters: Masters,
    /// The trusted issuer key.
    pub issuer_key: IssuerKey,
    /// The OSDP PD identity and key.
    pub scbk: AesKey,
    /// The OSDP address.
    pub address: u8,
    /// The spec's `policy.allow_fixed_uid`.
    pub allow_fixed_uid: bool,
}

fn field<const N: usize>(rec: &[u8], at: usize) -> Result<[u8; N], RecordError> {
    rec.get(at..at.saturating_add(N))
        .and_then(|s| s.try_into().ok())
        .ok_or(RecordError::Missing)
}

impl Provisioned {
    /// Reads the record at the start of `flash`. `allow_test_keys` only in lab builds.
    pub fn parse(flash: &[u8], allow_test_keys: bool) -> Result<Self, RecordError> {
        let rec = flash.get(..RECORD_LEN).ok_or(RecordError::Missing)?;
        if field::<4>(rec, 0)? != *MAGIC {
            return Err(RecordError::Missing);
        }
        let (body, crc) = rec.split_at_checked(150).ok_or(RecordError::Missing)?;
        let crc: [u8; 4] = crc.try_into().map_err(|_| RecordError::Missing)?;
        if CRC32.checksum(body) != u32::from_le_bytes(crc) {
            return Err(RecordError::Corrupt);
        }
        let [a0, a1, a2] = field::<3>(rec, 4)?;
        let aid = Aid::new(u32::from_be_bytes([0, a0, a1, a2])).ok_or(RecordError::Invalid)?;
        let system = SystemId(field::<8>(rec, 7)?);
        let k1 = AesKey::new(field::<16>(rec, 15)?);
        let k2 = field::<16>(rec, 31)?;
        let k2 = (k2 != [0; 16]).then(|| AesKey::new(k2));
        let [id_len] = field::<1>(rec, 47)?;
        let issuer = rec
            .get(48..48usize.saturating_add(usize::from(id_len)))
            .filter(|_| (1..=16).contains(&id_len))
            .and_then(IssuerId::new)
            .ok_or(RecordError::Invalid)?;
        let [kid_len, k0, k1b] = field::<3>(rec, 64)?;
        let key_id = match kid_len {
            1 => KeyId::one(k0),
            2 => KeyId::two([k0, k1b]),
            _ => return Err(RecordError::Invalid),
        };
        let public = field::<65>(rec, 67)?;
        let issuer_key =
            IssuerKey::from_sec1(issuer, key_id, &public).ok_or(RecordError::Invalid)?;
        let scbk = AesKey::new(field::<16>(rec, 132)?);
        let [address, flags] = field::<2>(rec, 148)?;
        if address > 0x7E {
            return Err(RecordError::Invalid);
        }
        // An all-zero K2 master means "in a secure element" (above); K1 and the SCBK are always
        // in the record.
        let k2_known = k2.as_ref().is_some_and(|k| {
            known_key(k.expose())
                || bool::from(k.expose().ct_eq(k1.expose()) | k.expose().ct_eq(scbk.expose()))
        });
        if known_key(k1.expose())
            || known_key(scbk.expose())
            || bool::from(k1.expose().ct_eq(scbk.expose()))
            || k2_known
        {
            return Err(RecordError::WeakKey);
        }
        if !allow_test_keys
            && (aid == LAB_AID
                || bool::from(k1.expose().ct_eq(&lab_values::TEST_K1))
                || k2
                    .as_ref()
                    .is_some_and(|k| bool::from(k.expose().ct_eq(&lab_values::TEST_K2_MASTER)))
                || public == lab_values::TEST_ISSUER_PUBLIC
                || bool::from(scbk.expose().ct_eq(&lab_values::LAB_SCBK)))
        {
            return Err(RecordError::TestKey);
        }
        Ok(Self {
            aid,
            masters: Masters {
                kuid: Some(k1),
                read: k2,
                ..Masters::new(aid, system)
            },
            issuer_key,
            scbk,
            address,
            allow_fixed_uid: flags & 1 != 0,
        })
    }

    /// The OSDP PD configuration of this reader.
    pub fn pd_config(&self, serial: u32) -> PdConfig {
        PdConfig {
            address: self.address,
            scbk: self.scbk.clone(),
            cuid: serial.to_be_bytes().repeat_into(),
            vendor: [0xFF, 0xFF, 0xFF],
            model: [0x01, 0x01],
            serial,
            firmware: [0, 1, 0],
            output: OutputFormat::Osdp,
            read_max_age_ms: crate::osdp::pd::READ_MAX_AGE_MS,
        }
    }
}

trait RepeatInto {
    fn repeat_into(self) -> [u8; 8];
}

impl RepeatInto for [u8; 4] {
    /// The client UID of osdp_CCRYPT from the serial number: `serial || serial`.
    fn repeat_into(self) -> [u8; 8] {
        let [a, b, c, d] = self;
        [a, b, c, d, a, b, c, d]
    }
}

/// Builds a record (provisioning tools and tests).
#[allow(clippy::too_many_arguments)]
pub fn emit(
    aid: Aid,
    system: &SystemId,
    k1: &[u8; 16],
    k2_master: Option<&[u8; 16]>,
    issuer: &[u8],
    key_id: &[u8],
    issuer_public: &[u8; 65],
    scbk: &[u8; 16],
    address: u8,
    allow_fixed_uid: bool,
) -> Option<[u8; RECORD_LEN]> {
    let mut r = [0u8; RECORD_LEN];
    let mut put = |at: usize, bytes: &[u8]| -> Option<()> {
        r.get_mut(at..at.checked_add(bytes.len())?)?
            .copy_from_slice(bytes);
        Some(())
    };
    put(0, MAGIC)?;
    let [w0, w1, w2] = aid.to_wire();
    put(4, &[w2, w1, w0])?;
    put(7, &system.0)?;
    put(15, k1)?;
    put(31, k2_master.unwrap_or(&[0; 16]))?;
    if issuer.is_empty() || issuer.len() > 16 || !(1..=2).contains(&key_id.len()) {
        return None;
    }
    put(47, &[u8::try_from(issuer.len()).ok()?])?;
    put(48, issuer)?;
    put(64, &[u8::try_from(key_id.len()).ok()?])?;
    put(65, key_id)?;
    put(67, issuer_public)?;
    put(132, scbk)?;
    put(148, &[address, u8::from(allow_fixed_uid)])?;
    let crc = CRC32.checksum(r.get(..150)?);
    r.get_mut(150..)?.copy_from_slice(&crc.to_le_bytes());
    Some(r)
}
