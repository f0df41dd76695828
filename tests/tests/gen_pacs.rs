//! GEN-PACS v1 end to end in one process: a virtual EV3 (`picc::Card`) provisioned by executing
//! `encoding::PLAN` through `pcd::Desfire`, then the reader procedure (`encoding::read_card`)
//! against it: GRANT for the golden card, DENY with the right reason for the audit cards the
//! virtual card can be built as (draft §6.14 T0, T2, T3, T7, T8, T9, T10).
//! TEST KEYS ONLY (draft §9).

use desfire_core::crypto::AesKey;
use desfire_core::encoding::credential::{IssuerId, KeyId, LegacyImage, SignatureAlgorithm};
use desfire_core::encoding::provision::IsoIdentity;
use desfire_core::encoding::signature::IssuerSigningKey;
use desfire_core::encoding::{
    CCF_FILE_SIZE, Credential, DenyReason, IssuerKey, LAB_AID, Masters, Provisioning, ReaderConfig,
    RealUid, SystemId, Traffic, Verdict, read_card,
};
use desfire_core::pcd::{Desfire, FrameSize, Transport};
use desfire_core::picc::{Card, CardConfig, NVM_LEN, RamNvm, State};
use hex_literal::hex;

/// A deterministic `CryptoRng` (xorshift64*): fine for tests, never for a card.
#[derive(Debug, Clone)]
struct TestRng(u64);

impl rand_core::RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}
impl rand_core::CryptoRng for TestRng {}

type VCard = Card<RamNvm<NVM_LEN>, TestRng>;

struct Loop {
    card: Box<VCard>,
}

impl Transport for Loop {
    type Error = std::convert::Infallible;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.card.process(capdu, rapdu))
    }
}

const UID: RealUid = hex!("04782E21801D80");
const ISSUER_SECRET: [u8; 32] =
    hex!("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721");
const ISSUER_PUBLIC: [u8; 65] = hex!(
    "0460FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
    "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299"
);
/// 2028-01-01Z, inside the §9 card's window.
const NOW: u32 = 1_830_297_600;

fn seq(start: u8) -> AesKey {
    AesKey::new(core::array::from_fn(|i| start + i as u8))
}

/// The §9 masters, plus a PICC master and a K4 master of our own (the draft gives none).
fn issuer_masters() -> Masters {
    Masters {
        picc: Some(seq(0x50)),
        amk: Some(seq(0x00)),
        kuid: Some(seq(0x10)),
        read: Some(seq(0x20)),
        write: Some(seq(0x30)),
        delegated_read: Some(seq(0x40)),
        ..Masters::new(LAB_AID, SystemId::GEN_PACS)
    }
}

/// What a reader holds: K1 and the K2 master.
fn reader_masters() -> Masters {
    Masters {
        kuid: Some(seq(0x10)),
        read: Some(seq(0x20)),
        ..Masters::new(LAB_AID, SystemId::GEN_PACS)
    }
}

fn credential() -> Credential {
    Credential {
        format_minor: 0,
        issuer: IssuerId::new(b"SE0000000000").unwrap(),
        credential_id: 0x1A2B_3C4D_5E6F_7081,
        issue_number: 1,
        valid_from: 0x6955_B900,
        valid_until: 0x72BD_0C00,
        site_code: None,
        legacy_image: LegacyImage::new(0x1A, &hex!("02026073")),
        class: None,
        key_id: KeyId(1),
        algorithm: SignatureAlgorithm::ECDSA_P256_SHA256,
    }
}

fn signer() -> IssuerSigningKey {
    IssuerSigningKey::from_bytes(KeyId(1), &ISSUER_SECRET).unwrap()
}

fn ccf_for(uid: &RealUid, c: &Credential) -> [u8; CCF_FILE_SIZE] {
    let mut out = [0u8; CCF_FILE_SIZE];
    c.encode_signed(uid, LAB_AID, &signer(), &mut out).unwrap();
    out
}

fn factory_card() -> Box<VCard> {
    Box::new(
        Card::create(
            RamNvm::<NVM_LEN>::new(),
            TestRng(0x1234_5678),
            CardConfig::default(),
            State::factory(UID),
        )
        .unwrap(),
    )
}

/// A card provisioned by executing the plan with `masters`, holding `ccf`.
fn provisioned(masters: &mut Masters, ccf: &[u8; CCF_FILE_SIZE]) -> Box<VCard> {
    let mut d: Desfire<Loop> = Desfire::new(
        Loop {
            card: factory_card(),
        },
        FrameSize::SHORT_APDU,
    );
    let plan = Provisioning {
        aid: LAB_AID,
        uid: UID,
        iso: IsoIdentity::LAB,
        ccf,
    };
    plan.execute_all(&mut d, masters, &mut TestRng(0xC0FFEE))
        .unwrap_or_else(|(step, e)| panic!("{step:?}: {e:?}"));
    d.into_transport().card
}

fn golden() -> Box<VCard> {
    provisioned(&mut issuer_masters(), &ccf_for(&UID, &credential()))
}

fn read(card: Box<VCard>, now: u32) -> (Verdict, Traffic, Vec<u8>) {
    read_with(card, now, false)
}

fn read_with(card: Box<VCard>, now: u32, allow_fixed_uid: bool) -> (Verdict, Traffic, Vec<u8>) {
    let mut lp = Loop { card };
    let activation = lp.card.activate();
    let keys = [IssuerKey::from_sec1(KeyId(1), &ISSUER_PUBLIC).unwrap()];
    let config = ReaderConfig {
        aid: LAB_AID,
        issuer_keys: &keys,
        frame: FrameSize::SHORT_APDU,
        allow_fixed_uid,
    };
    let t = read_card(
        &mut lp,
        &config,
        &mut reader_masters(),
        &mut TestRng(0xBEEF),
        &activation.uid,
        now,
    );
    (t.verdict, t.traffic, activation.uid.to_vec())
}

fn deny(card: Box<VCard>, now: u32) -> DenyReason {
    match read(card, now).0 {
        Verdict::Deny(r) => r,
        Verdict::Grant(c) => panic!("granted {c:?}"),
    }
}

#[test]
fn t0_golden_card_grants_with_the_credential_id() {
    let (verdict, traffic, uid) = read(golden(), NOW);
    assert_eq!(uid.len(), 4, "Random ID is on");
    assert_eq!(uid[0], 0x08);
    let Verdict::Grant(c) = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(c.credential_id, 0x1A2B_3C4D_5E6F_7081);
    assert_eq!(format!("{:016X}", c.credential_id), "1A2B3C4D5E6F7081");
    assert_eq!(c, credential());
    // Select 1, auth 2, GetCardUID 1, auth 2, ReadData 1 (184 bytes in one short APDU frame
    // would exceed the card's 59-byte native frames: 4 frames).
    assert!(traffic.frames >= 7, "{traffic}");
    println!("GEN-PACS GRANT: {traffic}");
}

#[test]
fn golden_card_grants_on_the_window_edges() {
    assert!(matches!(read(golden(), 0x6955_B900).0, Verdict::Grant(_)));
    assert!(matches!(read(golden(), 0x72BD_0C00).0, Verdict::Grant(_)));
}

#[test]
fn t2_card_without_the_application() {
    // A delivery-state card shows its fixed 7-byte UID: refused by policy before any command,
    // and, where the policy allows fixed UIDs, for lacking the application.
    assert_eq!(deny(factory_card(), NOW), DenyReason::RandomIdRequired);
    let (verdict, traffic, _) = read_with(factory_card(), NOW, true);
    assert_eq!(verdict, Verdict::Deny(DenyReason::NoApplication));
    assert_eq!(traffic.frames, 1, "one SelectApplication, no UID fallback");
}

#[test]
fn t14_fixed_uid_golden_card_grants_only_when_allowed() {
    // Provisioned without the card-level steps: Random ID stays off.
    let mut d: Desfire<Loop> = Desfire::new(
        Loop {
            card: factory_card(),
        },
        FrameSize::SHORT_APDU,
    );
    let ccf = ccf_for(&UID, &credential());
    let plan = Provisioning {
        aid: LAB_AID,
        uid: UID,
        iso: IsoIdentity::LAB,
        ccf: &ccf,
    };
    let mut rng = TestRng(1);
    for step in &desfire_core::encoding::PLAN[..15] {
        plan.execute(*step, &mut d, &mut issuer_masters(), &mut rng)
            .unwrap();
    }
    let card = d.into_transport().card;
    let (verdict, _, uid) = read_with(card, NOW, true);
    assert_eq!(uid, UID);
    assert!(matches!(verdict, Verdict::Grant(c) if c.credential_id == 0x1A2B_3C4D_5E6F_7081));
}

#[test]
fn t3_wrong_read_key() {
    let mut m = issuer_masters();
    m.read = Some(seq(0x60));
    let card = provisioned(&mut m, &ccf_for(&UID, &credential()));
    assert_eq!(
        deny(card, NOW),
        DenyReason::AuthenticationFailed(desfire_core::wire::KeyNo::new(2).unwrap())
    );
}

#[test]
fn wrong_uid_key() {
    let mut m = issuer_masters();
    m.kuid = Some(seq(0x70));
    let card = provisioned(&mut m, &ccf_for(&UID, &credential()));
    assert_eq!(
        deny(card, NOW),
        DenyReason::AuthenticationFailed(desfire_core::wire::KeyNo::new(1).unwrap())
    );
}

#[test]
fn t9_expired() {
    assert_eq!(deny(golden(), 0x72BD_0C01), DenyReason::Expired);
}

#[test]
fn t10_not_yet_valid() {
    assert_eq!(deny(golden(), 0x6955_B8FF), DenyReason::NotYetValid);
}

#[test]
fn t7_tampered_credential() {
    let mut ccf = ccf_for(&UID, &credential());
    ccf[27] ^= 0x01; // last byte of the credential ID, old signature kept
    let card = provisioned(&mut issuer_masters(), &ccf);
    assert_eq!(deny(card, NOW), DenyReason::BadSignature);
}

#[test]
fn t8_transplanted_credential() {
    let other: RealUid = hex!("04112233445566");
    let card = provisioned(&mut issuer_masters(), &ccf_for(&other, &credential()));
    assert_eq!(deny(card, NOW), DenyReason::BadSignature);
}

#[test]
fn t11_unknown_major_version() {
    let mut ccf = ccf_for(&UID, &credential());
    ccf[0] = 2;
    let card = provisioned(&mut issuer_masters(), &ccf);
    assert_eq!(deny(card, NOW), DenyReason::UnknownVersion(2));
}

#[test]
fn unknown_signing_key() {
    let mut c = credential();
    c.key_id = KeyId(7);
    let mut ccf = [0u8; CCF_FILE_SIZE];
    let s = IssuerSigningKey::from_bytes(KeyId(7), &ISSUER_SECRET).unwrap();
    c.encode_signed(&UID, LAB_AID, &s, &mut ccf).unwrap();
    let card = provisioned(&mut issuer_masters(), &ccf);
    assert_eq!(deny(card, NOW), DenyReason::UnknownSigningKey(KeyId(7)));
}
