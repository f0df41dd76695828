//! The lab profile (spec §16, `specs/profiles/lab.toml`): TEST keys, public, for QEMU and the
//! test lab only. A release build for a real board does not enable the `lab` feature, so none
//! of this is in its image (R15: a production reader refuses these keys and the lab AID).

use crate::osdp::PdConfig;
use desfire_core::crypto::AesKey;
use desfire_core::encoding::{
    IssuerId, IssuerKey, KeyId, LAB_AID, Masters, OutputFormat, ReaderConfig, Revocation,
};

pub use crate::lab_values::{
    LAB_CURRENT_ISSUE, LAB_DENY_LISTED, LAB_SCBK, TEST_ISSUER_ID, TEST_ISSUER_PUBLIC,
};

/// The trusted issuer keys of the lab profile.
pub fn issuer_keys() -> Option<[IssuerKey; 1]> {
    let issuer = IssuerId::new(TEST_ISSUER_ID)?;
    Some([IssuerKey::from_sec1(
        issuer,
        KeyId::one(0x01),
        &TEST_ISSUER_PUBLIC,
    )?])
}

/// The lab controller's revocation list (spec §10, `lab.toml` `[revocation]`): the reference
/// reader holds it so that the audit's T10b (deny-listed) and T10c (superseded issue) cards of
/// §17 are `REVOKED` at the reader, not only at a controller behind it.
pub fn revocation() -> Option<[Revocation; 2]> {
    let issuer = IssuerId::new(TEST_ISSUER_ID)?;
    let (current_id, current_issue) = LAB_CURRENT_ISSUE;
    Some([
        Revocation::DenyListed {
            issuer: issuer.clone(),
            credential_id: LAB_DENY_LISTED,
        },
        Revocation::CurrentIssue {
            issuer,
            credential_id: current_id,
            issue_number: current_issue,
        },
    ])
}

/// The reader configuration of the lab profile over `issuer_keys` and the controller's
/// `revocation` list.
pub fn reader_config<'a>(
    issuer_keys: &'a [IssuerKey],
    revocation: &'a [Revocation],
) -> ReaderConfig<'a> {
    // Short APDUs (the PN532 buffers 262 bytes and runs ISO-DEP chaining itself), Random ID
    // required, osdp_RAW with the credential ID.
    ReaderConfig {
        revocation,
        ..ReaderConfig::new(LAB_AID, issuer_keys)
    }
}

/// The TEST masters (reader side needs K1 and the K2 master; the others are dropped).
pub fn masters() -> Masters {
    let all = Masters::lab_test();
    Masters {
        kuid: all.kuid.clone(),
        read: all.read.clone(),
        ..Masters::new(all.aid, all.system)
    }
}

/// The lab PD: address 0, the lab SCBK.
pub fn pd_config() -> PdConfig {
    PdConfig {
        address: 0,
        scbk: AesKey::new(LAB_SCBK),
        cuid: *b"GENPACS1",
        // 0xFFFFFF: no IEEE OUI registered for this reference design.
        vendor: [0xFF, 0xFF, 0xFF],
        model: [0x01, 0x01],
        serial: 1,
        firmware: [0, 1, 0],
        output: OutputFormat::Osdp,
        // QEMU runs the reader slower than a board and its Secure Channel handshake overlaps
        // the first card reads of the end-to-end test: a lab value, longer than the 2 s
        // default of a real reader (provisioned.rs).
        read_max_age_ms: 5_000,
    }
}
