//! One ECDSA P-256 verification of the GEN-PACS test card (spec §16.2 GEN-PACS-DRAFT9, the
//! draft's §9 card; bytes from specs/vectors/gen-pacs/test-card.json), as
//! `desfire_core::encoding::verify_signature` does it in a reader. TEST KEYS ONLY.

use desfire_core::encoding::credential::{IssuerId, KeyId};
use desfire_core::encoding::{IssuerKey, LAB_AID, ParsedCcf, RealUid, lab, verify_signature};
use hex_literal::hex;

const UID: RealUid = hex!("04782E21801D80");
/// File 01 of GEN-PACS-DRAFT9 (test-card.json `credential.ccf`).
const CCF: [u8; 160] = hex!(
    "01000076800C53453030303030303030303081081A2B3C4D5E6F708182010183046955B900840472BD0C00"
    "86051A020260738E01018F01019E406E43B66D1ED8A69C6D8347506922EC8177DC5C9C56DDCD05E1A9B90C"
    "B91D16436E3C93D892120147D1EF4584C53684CDAD69AD20AE99A9BE8C074AD738BCB71A00000000000000"
    "00000000000000000000000000000000000000000000000000000000000000"
);

/// Parses the test card's file 01 and verifies its signature: true when it verifies.
pub fn verify() -> bool {
    let ccf = core::hint::black_box(&CCF);
    let Some(key) = IssuerKey::from_sec1(
        IssuerId::lab_test(),
        KeyId::one(lab::ISSUER_KEY_ID),
        core::hint::black_box(&lab::ISSUER_PUBLIC),
    ) else {
        return false;
    };
    let Ok(parsed) = ParsedCcf::parse(ccf) else {
        return false;
    };
    verify_signature(&parsed, &UID, LAB_AID, &[key]).is_ok()
}
