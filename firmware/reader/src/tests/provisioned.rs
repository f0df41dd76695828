//! The key record: round trip, erased flash, torn writes, bad fields, TEST keys refused outside
//! lab builds, known keys refused in every build, and no panic on any bytes.

use crate::lab_values::{LAB_SCBK, SCBK_D, TEST_ISSUER_PUBLIC, TEST_K1, TEST_K2_MASTER};
use crate::provisioned::{Provisioned, RECORD_LEN, RecordError, emit};
use desfire_core::encoding::{AppKey, CardKey, KeyProvider, LAB_AID, SystemId};
use desfire_core::wire::Aid;

const PROD_AID: u32 = 0xF4_8A21;
const K1: [u8; 16] = [0x71; 16];
const K2: [u8; 16] = [0x72; 16];
const SCBK: [u8; 16] = [0x73; 16];

fn prod_record() -> [u8; RECORD_LEN] {
    emit(
        Aid::new(PROD_AID).unwrap(),
        &SystemId(*b"SITE0001"),
        &K1,
        Some(&K2),
        b"SE0000000001",
        &[0x02],
        &TEST_ISSUER_PUBLIC,
        &SCBK,
        0x05,
        false,
    )
    .unwrap()
}

/// `prod_record()` as `firmware/scripts/key_record.py` (Python, zlib's CRC-32) writes it: the
/// provisioning tool and the firmware agree on the layout byte for byte.
const PROD_RECORD: [u8; RECORD_LEN] = hex_literal::hex!(
    "47504B31F48A21534954453030303171717171717171717171717171717171727272727272727272727272"
    "727272720C534530303030303030303031000000000102000460FED4BA255A9D31C961EB74C6356D68C049"
    "B8923B61FA6CE669622E60F29FB67903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4"
    "462299737373737373737373737373737373730500FE53E664"
);

#[test]
fn the_provisioning_tool_writes_the_same_record() {
    assert_eq!(prod_record(), PROD_RECORD);
}

#[test]
fn a_record_round_trips() {
    let mut flash = [0xFFu8; 4096];
    flash[..RECORD_LEN].copy_from_slice(&prod_record());
    // The TEST issuer public key is refused outside lab builds...
    assert_eq!(
        Provisioned::parse(&flash, false).unwrap_err(),
        RecordError::TestKey
    );
    // ...and accepted in one; every field reads back.
    let p = Provisioned::parse(&flash, true).unwrap();
    assert_eq!(p.aid, Aid::new(PROD_AID).unwrap());
    assert_eq!(p.address, 5);
    assert!(!p.allow_fixed_uid);
    assert_eq!(p.scbk.expose(), &SCBK);
    // A real reader keeps a card read for the panel at most the default 2 s.
    assert_eq!(p.pd_config(1).read_max_age_ms, crate::osdp::READ_MAX_AGE_MS);
    let mut m = p.masters.clone();
    assert_eq!(
        m.card_key(CardKey::App(AppKey::Kuid), &[0; 7])
            .unwrap()
            .expose(),
        &K1
    );
    assert!(m.card_key(CardKey::App(AppKey::Read), &[1; 7]).is_ok());
    assert!(m.card_key(CardKey::App(AppKey::Amk), &[1; 7]).is_err());
    assert_eq!(p.pd_config(0x0102_0304).cuid, [1, 2, 3, 4, 1, 2, 3, 4]);
}

#[test]
fn erased_torn_and_invalid_records_are_refused() {
    assert_eq!(
        Provisioned::parse(&[0xFF; 4096], true).unwrap_err(),
        RecordError::Missing
    );
    assert_eq!(
        Provisioned::parse(&[], true).unwrap_err(),
        RecordError::Missing
    );
    let rec = prod_record();
    for i in 4..RECORD_LEN {
        let mut r = rec;
        r[i] ^= 0x01;
        assert_eq!(
            Provisioned::parse(&r, true).unwrap_err(),
            RecordError::Corrupt,
            "{i}"
        );
    }
    // A point not on the curve, with a correct CRC.
    let mut bad = [0u8; 65];
    bad[0] = 0x04;
    let r = emit(
        Aid::new(PROD_AID).unwrap(),
        &SystemId(*b"SITE0001"),
        &K1,
        None,
        b"X",
        &[1],
        &bad,
        &SCBK,
        1,
        false,
    )
    .unwrap();
    assert_eq!(
        Provisioned::parse(&r, true).unwrap_err(),
        RecordError::Invalid
    );
}

#[test]
fn every_test_value_is_refused_in_production() {
    let base = |aid: Aid, k1: &[u8; 16], k2: &[u8; 16], scbk: &[u8; 16]| {
        emit(
            aid,
            &SystemId::GEN_PACS,
            k1,
            Some(k2),
            b"SE1",
            &[1],
            &TEST_ISSUER_PUBLIC,
            scbk,
            0,
            false,
        )
        .unwrap()
    };
    let prod = Aid::new(PROD_AID).unwrap();
    for r in [
        base(LAB_AID, &K1, &K2, &SCBK),
        base(prod, &TEST_K1, &K2, &SCBK),
        base(prod, &K1, &TEST_K2_MASTER, &SCBK),
        base(prod, &K1, &K2, &LAB_SCBK),
    ] {
        assert_eq!(
            Provisioned::parse(&r, false).unwrap_err(),
            RecordError::TestKey
        );
        assert!(Provisioned::parse(&r, true).is_ok());
    }
}

#[test]
fn known_keys_are_refused_in_every_build() {
    let record = |k1: &[u8; 16], k2: Option<&[u8; 16]>, scbk: &[u8; 16]| {
        emit(
            Aid::new(PROD_AID).unwrap(),
            &SystemId(*b"SITE0001"),
            k1,
            k2,
            b"SE0000000001",
            &[0x02],
            &TEST_ISSUER_PUBLIC,
            scbk,
            0,
            false,
        )
        .unwrap()
    };
    let zero = [0u8; 16];
    for (what, r) in [
        ("SCBK-D as SCBK", record(&K1, Some(&K2), &SCBK_D)),
        ("all-zero SCBK", record(&K1, Some(&K2), &zero)),
        ("all-zero (factory) K1", record(&zero, Some(&K2), &SCBK)),
        ("SCBK-D as K1", record(&SCBK_D, Some(&K2), &SCBK)),
        ("SCBK-D as K2 master", record(&K1, Some(&SCBK_D), &SCBK)),
        ("K1 = SCBK", record(&K1, Some(&K2), &K1)),
        ("K2 master = K1", record(&K1, Some(&K1), &SCBK)),
        ("K2 master = SCBK", record(&K1, Some(&SCBK), &SCBK)),
    ] {
        for lab in [false, true] {
            assert_eq!(
                Provisioned::parse(&r, lab).unwrap_err(),
                RecordError::WeakKey,
                "{what}"
            );
        }
    }
    // No K2 master in the record (a secure element holds it) stays valid.
    assert!(Provisioned::parse(&record(&K1, None, &SCBK), true).is_ok());
}

mod hostile {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_flash_contents(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Provisioned::parse(&bytes, false);
            let _ = Provisioned::parse(&bytes, true);
        }
    }
}
