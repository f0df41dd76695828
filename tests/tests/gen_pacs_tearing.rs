//! Tearing during GEN-PACS personalisation (issue 4 items 4 and 5): for every NVM write a full
//! personalisation makes, a virtual EV3 (`picc::Card` on a `RamNvm`) loses power during that
//! write while `encoding::PLAN` runs through `pcd::Desfire`; the card is powered up again
//! from the same memory and must show every key at its delivery or its final value (never a
//! key nobody knows); `Provisioning::resume` must then complete it, and the reference reader
//! (`encoding::read_card`) must GRANT the credential ID.
//! TEST KEYS ONLY (spec §16).

use desfire_core::crypto::AesKey;
use desfire_core::encoding::credential::{IssuerId, KeyId};
use desfire_core::encoding::keys::{AppKey, CardKey};
use desfire_core::encoding::provision::{IsoIdentity, KeyValue};
use desfire_core::encoding::signature::IssuerSigningKey;
use desfire_core::encoding::{
    CCF_FILE_SIZE, Credential, IssuerKey, LAB_AID, Masters, PLAN, Provisioning, ReaderConfig,
    RealUid, SystemId, Verdict, lab, read_card,
};
use desfire_core::pcd::commands::select_application;
use desfire_core::pcd::{Desfire, Error};
use desfire_core::picc::{Card, CardConfig};
use desfire_core::wire::{Aid, Status};
use desfire_tests::virtual_card::{Loop, TestRng, VCard, desfire, factory_card_with};
use hex_literal::hex;

const UID: RealUid = hex!("04782E21801D80");
/// 2028-01-01Z, inside the credential's window.
const NOW: u32 = 1_830_297_600;

fn seq(start: u8) -> AesKey {
    AesKey::new(core::array::from_fn(|i| start + i as u8))
}

fn issuer() -> IssuerId {
    IssuerId::lab_test()
}

fn ccf() -> [u8; CCF_FILE_SIZE] {
    let signer =
        IssuerSigningKey::from_bytes(issuer(), KeyId::one(1), &lab::ISSUER_SECRET).unwrap();
    let mut out = [0u8; CCF_FILE_SIZE];
    Credential::lab_test()
        .encode_signed(&UID, LAB_AID, &signer, &mut out)
        .unwrap();
    out
}

fn factory_card() -> Box<VCard> {
    factory_card_with(UID)
}

/// Runs `PLAN` until a step fails; returns the card and how many steps succeeded.
fn run_plan(plan: &Provisioning<'_>, card: Box<VCard>) -> (Box<VCard>, usize) {
    let mut d = desfire(card);
    let mut keys = Masters::lab_test();
    let mut rng = TestRng(0xC0FFEE);
    let done = PLAN
        .iter()
        .take_while(|s| plan.execute(**s, &mut d, &mut keys, &mut rng).is_ok())
        .count();
    (d.into_transport().card, done)
}

/// Power off and on: the card again from the same memory, as the cut left it.
fn power_cycle(card: Box<VCard>) -> Box<VCard> {
    let (mut nvm, rng) = card.into_parts();
    nvm.power_on();
    Box::new(Card::open(nvm, rng, CardConfig::default()).expect("the card opens after a cut"))
}

/// Every key of the card authenticates with its delivery or its final value. Returns the
/// values found (PICC master key, then K0-K5 when the application exists).
fn key_values(plan: &Provisioning<'_>, d: &mut Desfire<Loop>) -> Vec<(CardKey, KeyValue)> {
    let mut keys = Masters::lab_test();
    let mut rng = TestRng(0xFACE);
    let mut rx = [0u8; 64];
    let mut out = Vec::new();
    d.execute(&select_application(Aid::PICC), &mut rx).unwrap();
    let picc = plan
        .key_value(CardKey::PiccMaster, d, &mut keys, &mut rng)
        .unwrap_or_else(|e| panic!("PICC master key: {e:?}"));
    out.push((CardKey::PiccMaster, picc));
    match d.execute(&select_application(LAB_AID), &mut rx) {
        Ok(_) => {
            for k in AppKey::ALL {
                let v = plan
                    .key_value(CardKey::App(k), d, &mut keys, &mut rng)
                    .unwrap_or_else(|e| panic!("{k:?}: {e:?}"));
                out.push((CardKey::App(k), v));
            }
        }
        Err(Error::Card(Status::APPLICATION_NOT_FOUND)) => {}
        Err(e) => panic!("SelectApplication: {e:?}"),
    }
    out
}

fn grants(mut card: Box<VCard>) -> bool {
    let ac_uid = card.activate().uid.to_vec();
    let trusted = [IssuerKey::from_sec1(issuer(), KeyId::one(1), &lab::ISSUER_PUBLIC).unwrap()];
    let config = ReaderConfig::new(LAB_AID, &trusted);
    let mut reader_keys = Masters {
        kuid: Some(seq(0x10)),
        read: Some(seq(0x20)),
        ..Masters::new(LAB_AID, SystemId::GEN_PACS)
    };
    let mut t = Loop { card };
    let tr = read_card(
        &mut t,
        &config,
        &mut reader_keys,
        &mut TestRng(0xBEEF),
        &ac_uid,
        NOW,
    );
    matches!(tr.verdict, Verdict::Grant(c) if c.credential_id == Credential::lab_test().credential_id)
}

#[test]
fn resume_on_a_complete_card_does_nothing_and_on_a_factory_card_everything() {
    let ccf = ccf();
    let plan = Provisioning {
        aid: LAB_AID,
        uid: UID,
        iso: IsoIdentity::LAB,
        ccf: &ccf,
    };
    let mut d = desfire(factory_card());
    let ran = plan
        .resume(&mut d, &mut Masters::lab_test(), &mut TestRng(1))
        .unwrap();
    // CreateApplication, CreateCcfFile, K1-K5, WriteData + Commit, K0, SetConfiguration,
    // ChangeKeySettings, PICC master key.
    assert_eq!(ran, 13);
    let ran = plan
        .resume(&mut d, &mut Masters::lab_test(), &mut TestRng(2))
        .unwrap();
    assert_eq!(ran, 0);
    assert!(grants(d.into_transport().card));
}

#[test]
fn a_card_torn_at_every_nvm_write_of_personalisation_resumes_to_a_granting_card() {
    let ccf = ccf();
    let plan = Provisioning {
        aid: LAB_AID,
        uid: UID,
        iso: IsoIdentity::LAB,
        ccf: &ccf,
    };

    // How many NVM writes a whole personalisation makes.
    let card = factory_card();
    let before = card.nvm().writes();
    let (card, done) = run_plan(&plan, card);
    assert_eq!(done, PLAN.len());
    let total = card.nvm().writes() - before;
    assert!(grants(card));
    assert!(total > 20, "{total} writes");

    let mut tested = 0u64;
    let mut seen_states = std::collections::BTreeSet::new();
    for n in 0..total {
        let mut card = factory_card();
        card.nvm_mut().cut_after(n);
        let (card, done) = run_plan(&plan, card);
        assert!(card.nvm().is_cut(), "cut after {n}: no cut");
        assert!(done < PLAN.len(), "cut after {n}: the plan went through");

        // The state the cut left: every key at its delivery or final value.
        let mut d = desfire(power_cycle(card));
        let values = key_values(&plan, &mut d);
        seen_states.insert(format!("{values:?}"));

        // Re-run: resume completes the card.
        d.transport_mut().card.deactivate();
        plan.resume(&mut d, &mut Masters::lab_test(), &mut TestRng(0xD00D + n))
            .unwrap_or_else(|(step, e)| panic!("cut after {n}: resume at {step:?}: {e:?}"));
        let card = d.into_transport().card;
        assert!(grants(card), "cut after {n}: no GRANT after resume");
        tested += 1;
    }
    println!(
        "tearing: {tested} cut points (of {total} NVM writes), {} distinct key states",
        seen_states.len()
    );
    assert_eq!(tested, total);
    // Delivery everywhere, each of K1-K5, K0, the PICC master key final: the cuts reach every
    // phase of the plan.
    assert!(seen_states.len() >= 8, "{seen_states:?}");
}
