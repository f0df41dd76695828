//! One GEN-PACS GRANT against the virtual EV3, in process: prints the frames and bytes the
//! reference reader procedure exchanges ("frames N, bytes C->R X, R->C Y"), the time per
//! transaction and the time of one ECDSA P-256 verification. TEST KEYS ONLY (draft §9).
//!
//! It also models the air time of that GRANT at 106 and 424 kbit/s (ISO/IEC 14443 framing and
//! minimum frame delays, card processing time zero; see `gen_pacs/airtime.rs`) and compares
//! the frame count with the minimum of spec §12.
//!
//! ```text
//! cargo bench -p desfire-core --bench gen_pacs
//! ```

#[path = "gen_pacs/airtime.rs"]
mod airtime;

use desfire_core::crypto::AesKey;
use desfire_core::crypto::originality;
use desfire_core::encoding::credential::{IssuerId, KeyId};
use desfire_core::encoding::provision::IsoIdentity;
use desfire_core::encoding::signature::IssuerSigningKey;
use desfire_core::encoding::{
    CCF_FILE_SIZE, Credential, IssuerKey, LAB_AID, Masters, OriginalityPolicy, OutputFormat,
    ParsedCcf, Provisioning, ReaderConfig, RealUid, Revocation, SystemId, Traffic, Verdict, lab,
    read_card, verify_signature,
};
use desfire_core::pcd::{Desfire, FrameSize, Transport};
use desfire_core::picc::{Card, CardConfig, NVM_LEN, RamNvm, State};
use hex_literal::hex;
use std::time::Instant;

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

/// Records the length of every C-APDU and R-APDU (status word included).
struct Recorder<T> {
    inner: T,
    pairs: Vec<airtime::Pair>,
}

impl<T: Transport> Transport for Recorder<T> {
    type Error = T::Error;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.inner.transceive(capdu, rapdu)?;
        self.pairs.push(airtime::Pair {
            command: capdu.len(),
            response: n,
        });
        Ok(n)
    }
}

impl Transport for Loop {
    type Error = std::convert::Infallible;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.card.process(capdu, rapdu))
    }
}

const UID: RealUid = hex!("04782E21801D80");
/// 2028-01-01Z, inside the §9 card's window.
const NOW: u32 = 1_830_297_600;

fn seq(start: u8) -> AesKey {
    AesKey::new(core::array::from_fn(|i| start + i as u8))
}

/// The TEST masters of spec §16.1.
fn issuer_masters() -> Masters {
    Masters::lab_test()
}

/// What a reader holds: K1 and the K2 master.
fn reader_masters() -> Masters {
    Masters {
        kuid: Some(seq(0x10)),
        read: Some(seq(0x20)),
        ..Masters::new(LAB_AID, SystemId::GEN_PACS)
    }
}

fn signer() -> IssuerSigningKey {
    IssuerSigningKey::from_bytes(IssuerId::lab_test(), KeyId::one(1), &lab::ISSUER_SECRET).unwrap()
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
    provisioned(
        &mut issuer_masters(),
        &ccf_for(&UID, &Credential::lab_test()),
    )
}

fn read(card: Box<VCard>, now: u32) -> (Verdict, Traffic, Vec<airtime::Pair>) {
    read_with(card, now, |c| c)
}

/// The optional steps on: 5 (GetKeyVersion, one generation held), 12 (Read_Sig, required,
/// the virtual card's TEST originality key), legacy output, a revocation list.
fn optional_steps(c: ReaderConfig<'_>) -> ReaderConfig<'_> {
    ReaderConfig {
        read_key_generations: &[0x01],
        originality: OriginalityPolicy::Require,
        originality_keys: core::slice::from_ref(&originality::TEST_KEY),
        output: OutputFormat::LegacyWiegand,
        revocation: &*REVOKED,
        ..c
    }
}

/// A deny-list entry and a current issue number, neither revoking the bench card.
static REVOKED: std::sync::LazyLock<[Revocation; 2]> = std::sync::LazyLock::new(|| {
    let issuer = IssuerId::lab_test();
    [
        Revocation::DenyListed {
            issuer: issuer.clone(),
            credential_id: 0x1A2B_3C4D_5E6F_7080,
        },
        Revocation::CurrentIssue {
            issuer,
            credential_id: 0x1A2B_3C4D_5E6F_7081,
            issue_number: 1,
        },
    ]
});

fn read_with(
    card: Box<VCard>,
    now: u32,
    options: impl for<'a> Fn(ReaderConfig<'a>) -> ReaderConfig<'a>,
) -> (Verdict, Traffic, Vec<airtime::Pair>) {
    let mut lp = Recorder {
        inner: Loop { card },
        pairs: Vec::new(),
    };
    let activation = lp.inner.card.activate();
    let keys =
        [IssuerKey::from_sec1(IssuerId::lab_test(), KeyId::one(1), &lab::ISSUER_PUBLIC).unwrap()];
    let config = options(ReaderConfig::new(LAB_AID, &keys));
    let t = read_card(
        &mut lp,
        &config,
        &mut reader_masters(),
        &mut TestRng(0xBEEF),
        &activation.uid,
        now,
    );
    (t.verdict, t.traffic, lp.pairs)
}

fn main() {
    let (verdict, traffic, pairs) = read(golden(), NOW);
    assert!(matches!(verdict, Verdict::Grant(_)), "{verdict:?}");
    println!("GEN-PACS GRANT: {traffic}");
    air_time(&pairs);
    let (verdict, traffic, pairs) = read_with(golden(), NOW, optional_steps);
    assert!(matches!(verdict, Verdict::Grant(_)), "{verdict:?}");
    let lens: Vec<String> = pairs
        .iter()
        .map(|p| format!("{}/{}", p.command, p.response))
        .collect();
    println!(
        "GEN-PACS GRANT with steps 5 and 12, legacy output, revocation list: {traffic}; APDU \
         pairs {} (C/R bytes: {})",
        pairs.len(),
        lens.join(" ")
    );
    for rate in [airtime::KBPS_106, airtime::KBPS_424] {
        let air = airtime::model(&pairs, rate);
        println!(
            "GEN-PACS air with steps 5 and 12 {}: frames {}, air time {:.2} ms",
            rate.name,
            air.frames,
            air.micros / 1e3
        );
    }

    let n = 200;
    let card = golden();
    let mut lp = Loop { card };
    let keys =
        [IssuerKey::from_sec1(IssuerId::lab_test(), KeyId::one(1), &lab::ISSUER_PUBLIC).unwrap()];
    let config = ReaderConfig::new(LAB_AID, &keys);
    let mut masters = reader_masters();
    let mut rng = TestRng(7);
    let t = Instant::now();
    for _ in 0..n {
        let a = lp.card.activate();
        let r = read_card(&mut lp, &config, &mut masters, &mut rng, &a.uid, NOW);
        assert!(matches!(r.verdict, Verdict::Grant(_)));
    }
    println!(
        "GEN-PACS GRANT: {:.1} us per transaction (reader and card)",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );

    let ccf = ccf_for(&UID, &Credential::lab_test());
    let parsed = ParsedCcf::parse(&ccf).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        assert!(verify_signature(std::hint::black_box(&parsed), &UID, LAB_AID, &keys).is_ok());
    }
    println!(
        "ECDSA P-256 verify: {:.1} us",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}

/// Spec §12: the minimum GRANT is 7 command-response pairs (steps 2, 3a, 3b, 4, 7a, 7b, 9)
/// with the optional steps 1, 5, 8 and 12 skipped, plus any `AF` continuation of step 9. Step
/// 9's answer (176 + 8 + 2 = 186 bytes) fits one short R-APDU and one 256-byte I-block, so no
/// continuation is needed by the protocol: 7 pairs, 14 I-blocks.
const MIN_PAIRS: usize = 7;

fn air_time(pairs: &[airtime::Pair]) {
    airtime::self_check();
    let lens: Vec<String> = pairs
        .iter()
        .map(|p| format!("{}/{}", p.command, p.response))
        .collect();
    println!(
        "GEN-PACS GRANT: APDU pairs {} (C/R bytes: {}); spec §12 minimum {} pairs -> {}",
        pairs.len(),
        lens.join(" "),
        MIN_PAIRS,
        if pairs.len() == MIN_PAIRS {
            "at the minimum".to_string()
        } else {
            format!("{} pairs over the minimum", pairs.len() - MIN_PAIRS)
        }
    );
    for rate in [airtime::KBPS_106, airtime::KBPS_424] {
        let air = airtime::model(pairs, rate);
        println!(
            "GEN-PACS air {}: frames {}, bytes PCD->PICC {}, PICC->PCD {}, air time {:.2} ms \
             (ISO 14443-4 I-blocks, FDT min 1172/fc, card time 0)",
            rate.name,
            air.frames,
            air.to_card,
            air.from_card,
            air.micros / 1e3
        );
    }
    // The same procedure with the step 9 answer in one frame (what the protocol allows).
    let mut minimal: Vec<airtime::Pair> = pairs.to_vec();
    if pairs.len() > MIN_PAIRS {
        let read = &pairs[MIN_PAIRS - 1..];
        // Data of all step 9 frames joined, one status word.
        let data: usize = read.iter().map(|p| p.response - 2).sum();
        minimal.truncate(MIN_PAIRS - 1);
        minimal.push(airtime::Pair {
            command: pairs[MIN_PAIRS - 1].command,
            response: data + 2,
        });
    }
    for rate in [airtime::KBPS_106, airtime::KBPS_424] {
        let air = airtime::model(&minimal, rate);
        println!(
            "GEN-PACS air minimum {}: pairs {}, frames {}, bytes PCD->PICC {}, PICC->PCD {}, air time {:.2} ms",
            rate.name,
            minimal.len(),
            air.frames,
            air.to_card,
            air.from_card,
            air.micros / 1e3
        );
    }
}
