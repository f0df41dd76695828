//! The lab profile (spec §16, `specs/profiles/lab.toml`): TEST keys, public, for QEMU and the
//! test lab only. A release build for a real board does not enable the `lab` feature, so none
//! of this is in its image (R15: a production reader refuses these keys and the lab AID).

use crate::osdp::PdConfig;
use desfire_core::crypto::AesKey;
use desfire_core::encoding::{IssuerId, IssuerKey, KeyId, LAB_AID, Masters, ReaderConfig};
use desfire_core::pcd::FrameSize;
use hex_literal::hex;

/// The TEST issuer public key of spec §16.1 (P-256, RFC 6979 A.2.5), `lab.toml`
/// `[[issuer.public_keys]]` key ID 01.
pub const TEST_ISSUER_PUBLIC: [u8; 65] = hex!(
    "0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
    "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299"
);
/// The TEST issuer ID (`lab.toml` `[issuer] id`).
pub const TEST_ISSUER_ID: &[u8] = b"SE0000000000";

/// The lab OSDP Secure Channel base key: a public TEST value (`firmware/README.md`), not
/// SCBK-D (which the PD refuses) and not derived from any master. Never for a real line.
pub const LAB_SCBK: [u8; 16] = hex!("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF");

/// The trusted issuer keys of the lab profile.
pub fn issuer_keys() -> Option<[IssuerKey; 1]> {
    let issuer = IssuerId::new(TEST_ISSUER_ID)?;
    Some([IssuerKey::from_sec1(
        issuer,
        KeyId::one(0x01),
        &TEST_ISSUER_PUBLIC,
    )?])
}

/// The reader configuration of the lab profile over `issuer_keys`.
pub fn reader_config(issuer_keys: &[IssuerKey]) -> ReaderConfig<'_> {
    ReaderConfig {
        aid: LAB_AID,
        issuer_keys,
        // The PN532 buffers 262 bytes and runs ISO-DEP chaining itself.
        frame: FrameSize::SHORT_APDU,
        allow_fixed_uid: false,
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
    }
}
