//! The GEN-PACS credential parser on arbitrary bytes (the credential file as read from a card),
//! then the signature check against the spec's §16 TEST issuer key and the outputs of §14 (the
//! legacy image's Wiegand bits and `osdp_RAW` forms). Nothing may panic; whatever parses must
//! re-encode and parse back to the same fields.
#![no_main]

use desfire_core::encoding::credential::{IssuerId, KeyId};
use desfire_core::encoding::{
    IssuerKey, LAB_AID, ParsedCcf, osdp_raw, osdp_raw_extended, osdp_raw_legacy, verify_signature,
};
use libfuzzer_sys::fuzz_target;

const ISSUER_PUBLIC: [u8; 65] = [
    0x04, 0x60, 0xFE, 0xD4, 0xBA, 0x25, 0x5A, 0x9D, 0x31, 0xC9, 0x61, 0xEB, 0x74, 0xC6, 0x35, 0x6D,
    0x68, 0xC0, 0x49, 0xB8, 0x92, 0x3B, 0x61, 0xFA, 0x6C, 0xE6, 0x69, 0x62, 0x2E, 0x60, 0xF2, 0x9F,
    0xB6, 0x79, 0x03, 0xFE, 0x10, 0x08, 0xB8, 0xBC, 0x99, 0xA4, 0x1A, 0xE9, 0xE9, 0x56, 0x28, 0xBC,
    0x64, 0xF2, 0xF1, 0xB2, 0x0C, 0x2D, 0x7E, 0x9F, 0x51, 0x77, 0xA3, 0xC2, 0x94, 0xD4, 0x46, 0x22,
    0x99,
];
const UID: [u8; 7] = [0x04, 0x78, 0x2E, 0x21, 0x80, 0x1D, 0x80];

fuzz_target!(|data: &[u8]| {
    // The card verifier's padding check (§8.1), which the reader does not apply.
    let _ = ParsedCcf::check_padding(data);
    let ccf = match ParsedCcf::parse(data) {
        Ok(ccf) => ccf,
        Err(e) => {
            // The reason prints (the audit log and `card verify` show it).
            assert!(!format!("{e}").is_empty());
            return;
        }
    };
    let _ = format!("{}", ccf.credential.key_id);
    // Round trip: what parsed re-encodes (canonical order, ignorable tags dropped, minor 0)
    // and parses back to the same fields.
    let mut out = [0u8; 160];
    if ccf
        .credential
        .encode_with_signature(&ccf.signature, &mut out)
        .is_ok()
    {
        let again = ParsedCcf::parse(&out).expect("re-encoded credential must parse");
        assert_eq!(
            ParsedCcf::check_padding(&out),
            Ok(()),
            "re-encoded with zero padding"
        );
        let mut want = ccf.credential.clone();
        want.format_minor = 0;
        assert_eq!(again.credential, want);
        assert_eq!(again.signature, ccf.signature);
    }
    // §14: the legacy image's bits, n of them, agree with its left-justified form.
    let _ = (
        osdp_raw(&ccf.credential, 0),
        osdp_raw_extended(&ccf.credential, 0),
    );
    let mut raw = [0u8; 20];
    if let Some(img) = &ccf.credential.legacy_image {
        let n = osdp_raw_legacy(&ccf.credential, 0, &mut raw).expect("tag 86 present");
        assert_eq!(n, 4 + img.bits().len());
        assert_eq!(img.wiegand_bits().count(), usize::from(img.bit_len()));
        for (i, bit) in img.wiegand_bits().enumerate() {
            assert_eq!(raw[4 + i / 8] >> (7 - i % 8) & 1 == 1, bit);
        }
    } else {
        assert!(osdp_raw_legacy(&ccf.credential, 0, &mut raw).is_err());
    }
    let issuer = IssuerId::new(b"SE0000000000").expect("12 bytes");
    if let Some(key) = IssuerKey::from_sec1(issuer, KeyId::one(1), &ISSUER_PUBLIC) {
        let _ = verify_signature(&ccf, &UID, LAB_AID, &[key]);
    }
});
