//! Writes the seed inputs of every fuzz target from what the repository has: the published and
//! own vectors (specs/vectors), the traces (specs/traces), the golden card of spec §9 and its
//! recorded sessions with the host reader and with the firmware reader behind an emulated
//! PN532, the card images of the credential variants, OSDP sessions of a control panel that
//! holds the lab SCBK, PN532 host-link frames both ways, and key records.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds -- DIR` writes `DIR/<target>/…`;
//! scripts/fuzz-seeds.sh minimises them into fuzz/corpus/ with `cargo fuzz cmin`. It also
//! writes the recorded golden sessions the hostile targets check themselves against
//! (fuzz/recorded/), and checks on each that the property its target asserts can fail: with
//! the recorded randomness the card is granted (the PD opens a session), with one byte of it
//! changed it is denied (no session).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use desfire_core::encoding::credential::{IssuerId, KeyId};
use desfire_core::encoding::provision::IsoIdentity;
use desfire_core::encoding::signature::IssuerSigningKey;
use desfire_core::encoding::{
    CCF_FILE_SIZE, Credential, DenyReason, LAB_AID, Masters, Provisioning, ReaderConfig, Verdict,
    lab, read_card,
};
use desfire_core::pcd::{Desfire, FrameSize, Transport};
use desfire_core::picc::{Activation, Card, CardConfig, NVM_LEN, RamNvm, State};
use desfire_fuzz::hostile::{self, GOLDEN_READER_RNG, Input};
use desfire_fuzz::osdp_cp::{CARD, Cp, GOLDEN_PD_RNG};
use desfire_fuzz::rng::{Nudged, TestRng};
use desfire_fuzz::{fw, osdp_cp};
use host_tools::virtual_card::FieldCard;
use pn532::{Hsu, Pn532};
use reader::osdp::Pd;

const UID: [u8; 7] = [0x04, 0x78, 0x2E, 0x21, 0x80, 0x1D, 0x80];

type VCard = Card<RamNvm<NVM_LEN>, TestRng>;

/// Exchanges as recorded: (C-APDU, R-APDU).
type Log = Vec<(Vec<u8>, Vec<u8>)>;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// A transport that hands every frame to the card and keeps both.
struct Rec {
    card: Box<VCard>,
    log: Log,
}

impl Transport for Rec {
    type Error = std::convert::Infallible;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        let n = self.card.process(capdu, rapdu);
        self.log.push((capdu.to_vec(), rapdu[..n].to_vec()));
        Ok(n)
    }
}

fn signer() -> IssuerSigningKey {
    IssuerSigningKey::from_bytes(
        IssuerId::new(lab::ISSUER_ID).unwrap(),
        KeyId::one(lab::ISSUER_KEY_ID),
        &lab::ISSUER_SECRET,
    )
    .unwrap()
}

fn ccf_of(c: &Credential) -> [u8; CCF_FILE_SIZE] {
    let mut out = [0u8; CCF_FILE_SIZE];
    c.encode_signed(&UID, LAB_AID, &signer(), &mut out).unwrap();
    out
}

/// The golden card of spec §9, personalised by the plan; and the APDUs that did it.
fn golden() -> (Box<VCard>, Log) {
    genuine(&Credential::lab_test())
}

/// A genuine card holding `credential`, signed by the TEST issuer key.
fn genuine(credential: &Credential) -> (Box<VCard>, Log) {
    let card = Box::new(
        Card::create(
            RamNvm::<NVM_LEN>::new(),
            TestRng(0x1234_5678),
            CardConfig::default(),
            State::factory(UID),
        )
        .unwrap(),
    );
    let ccf = ccf_of(credential);
    let mut d: Desfire<Rec> = Desfire::new(
        Rec {
            card,
            log: Vec::new(),
        },
        FrameSize::SHORT_APDU,
    );
    let plan = Provisioning {
        aid: LAB_AID,
        uid: UID,
        iso: IsoIdentity::LAB,
        ccf: &ccf,
    };
    plan.execute_all(&mut d, &mut Masters::lab_test(), &mut TestRng(0xC0FFEE))
        .unwrap_or_else(|(step, e)| panic!("{step:?}: {e:?}"));
    let rec = d.into_transport();
    (rec.card, rec.log)
}

struct Seeds {
    root: PathBuf,
    count: usize,
}

impl Seeds {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
        self.count += 1;
    }
}

fn framed(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        if let Ok(n) = u8::try_from(f.len()) {
            out.push(n);
            out.extend_from_slice(f);
        }
    }
    out
}

/// The golden card read by the host reader with the hostile harness's `flags`, recorded.
fn record_host_read(flags: u8) -> (Vec<u8>, Log) {
    record_genuine_read(&Credential::lab_test(), flags)
}

/// A genuine card with `credential` read by the host reader with `flags`, recorded; it grants.
fn record_genuine_read(credential: &Credential, flags: u8) -> (Vec<u8>, Log) {
    let (mut card, _) = genuine(credential);
    let ac = card.activate().uid.to_vec();
    let mut rec = Rec {
        card,
        log: Vec::new(),
    };
    let config: ReaderConfig<'_> = hostile::config(flags);
    let t = read_card(
        &mut rec,
        &config,
        &mut hostile::reader_keys(),
        &mut TestRng(GOLDEN_READER_RNG),
        &ac,
        hostile::now(flags),
    );
    assert!(
        matches!(t.verdict, Verdict::Grant(_)),
        "flags {flags:02X}: {:?}",
        t.verdict
    );
    let answers: Vec<Vec<u8>> = rec.log.iter().map(|(_, r)| r.clone()).collect();
    (Input::encode(flags, &ac, &answers), rec.log)
}

/// The golden card as the emulated PN532's card.
struct InField(Box<VCard>);

impl FieldCard for InField {
    fn activate(&mut self) -> Activation {
        self.0.activate()
    }
    fn deactivate(&mut self) {
        self.0.deactivate();
    }
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        self.0.process(capdu, rapdu)
    }
}

/// The firmware driver's UART wired to the emulated PN532: both directions recorded.
struct Wire {
    chip: host_tools::pn532::Pn532<InField>,
    rx: VecDeque<u8>,
    from_chip: Vec<u8>,
    to_chip: Vec<u8>,
}

impl Wire {
    fn new() -> Self {
        Self {
            chip: host_tools::pn532::Pn532::new(vec![InField(golden().0)], false),
            rx: VecDeque::new(),
            from_chip: Vec::new(),
            to_chip: Vec::new(),
        }
    }
}

impl embedded_io::ErrorType for Wire {
    type Error = core::convert::Infallible;
}

impl embedded_io::Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        let mut n = 0;
        while n < buf.len() {
            match self.rx.pop_front() {
                Some(b) => {
                    buf[n] = b;
                    n += 1;
                }
                None => break,
            }
        }
        Ok(n)
    }
}

impl embedded_io::ReadReady for Wire {
    fn read_ready(&mut self) -> Result<bool, Self::Error> {
        Ok(!self.rx.is_empty())
    }
}

impl embedded_io::Write for Wire {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.to_chip.extend_from_slice(buf);
        let mut out = Vec::new();
        self.chip.receive(buf, &mut out);
        self.from_chip.extend_from_slice(&out);
        self.rx.extend(out);
        Ok(buf.len())
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A transport to the picc_apdus card that keeps the C-APDUs.
struct PiccRec {
    card: Box<desfire_fuzz::picc::FuzzCard>,
    capdus: Vec<Vec<u8>>,
}

impl Transport for PiccRec {
    type Error = std::convert::Infallible;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        self.capdus.push(capdu.to_vec());
        Ok(self.card.process(capdu, rapdu))
    }
}

/// The C-APDUs of a long session with the picc_apdus card (errors are part of it).
fn picc_session() -> Vec<Vec<u8>> {
    use desfire_core::crypto::AesKey;
    use desfire_core::pcd::Command;
    use desfire_core::pcd::commands::*;
    use desfire_core::wire::{Aid, CommMode, FileNo, KeyNo, U24};

    let mut d: Desfire<PiccRec> = Desfire::new(
        PiccRec {
            card: desfire_fuzz::picc::card(),
            capdus: Vec::new(),
        },
        FrameSize::SHORT_APDU,
    );
    let f = |n| FileNo::new(n).unwrap();
    let u = |n| U24::new(n).unwrap();
    let zero = AesKey::zero();
    let one = AesKey::new([0x11; 16]);
    let mut rx = [0u8; 1024];
    let file_ops = |mode: CommMode| -> Vec<Command<'static>> {
        vec![
            ReadData::new(f(0), u(0), u(0), mode).command(),
            WriteData {
                file: f(0),
                offset: u(2),
                data: &[0x5A; 40],
                comm_mode: mode,
                chaining: Chaining::Native,
            }
            .command()
            .unwrap(),
            ReadData::new(f(0), u(2), u(40), mode).command(),
            ReadData::new(f(1), u(0), u(8), mode).command(),
            get_value(f(2), mode),
            credit(f(2), 10, mode).unwrap(),
            debit(f(2), 3, mode).unwrap(),
            limited_credit(f(2), 1, mode).unwrap(),
            commit_transaction(),
            get_value(f(2), mode),
            WriteRecord::new(f(3), u(0), &[1, 2, 3, 4], mode)
                .command()
                .unwrap(),
            commit_transaction(),
            ReadRecords::new(f(3), u(0), u(0), mode).command(),
            clear_record_file(f(3)),
            abort_transaction(),
            get_file_settings(f(0)),
            get_file_settings(f(2)),
            get_file_settings(f(3)),
            get_file_ids(),
            get_iso_file_ids(),
            get_key_settings(),
            get_key_version(KeyNo::new(1).unwrap()),
            get_card_uid(),
            read_sig(),
            get_free_memory(),
        ]
    };
    let app = Aid::new(0x00_0001).unwrap();
    for cmd in [get_version(), get_application_ids(), get_df_names()] {
        let _ = d.execute(&cmd, &mut rx);
    }
    let _ = d.execute(&select_application(app), &mut rx);
    for cmd in file_ops(CommMode::Plain) {
        let _ = d.execute(&cmd, &mut rx);
    }
    for mode in [CommMode::Plain, CommMode::Mac, CommMode::Full] {
        let _ = d.execute(&select_application(app), &mut rx);
        let _ = d.authenticate_ev2_first(KeyNo::MASTER, &zero, &mut TestRng(7));
        for cmd in file_ops(mode) {
            let _ = d.execute(&cmd, &mut rx);
        }
    }
    let _ = d.authenticate_ev2_first(KeyNo::MASTER, &zero, &mut TestRng(8));
    let change = ChangeKey {
        target: ChangeKeyTarget::Application(KeyNo::new(1).unwrap()),
        old_key: &zero,
        new_key: &one,
        new_version: 1,
    };
    let _ = d.execute(&change.command(KeyNo::MASTER), &mut rx);
    let _ = d.authenticate_ev2_non_first(KeyNo::new(1).unwrap(), &one, &mut TestRng(9));
    let _ = d.execute(&get_key_version(KeyNo::new(1).unwrap()), &mut rx);
    let _ = d.authenticate_ev2_first(KeyNo::MASTER, &zero, &mut TestRng(10));
    let _ = d.execute(&delete_file(f(1)), &mut rx);
    let _ = d.execute(&select_application(Aid::new(0).unwrap()), &mut rx);
    let _ = d.authenticate_ev2_first(KeyNo::MASTER, &zero, &mut TestRng(11));
    for cmd in [
        get_card_uid(),
        get_free_memory(),
        read_sig(),
        get_key_settings(),
    ] {
        let _ = d.execute(&cmd, &mut rx);
    }
    let _ = d.execute(&delete_application(app).unwrap(), &mut rx);
    let _ = d.execute(&format_picc(), &mut rx);
    d.into_transport().capdus
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .expect("usage: seeds DIR (the seed inputs go to DIR/<target>/)");
    let mut s = Seeds {
        root: PathBuf::from(root),
        count: 0,
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let recorded = repo.join("fuzz/recorded");
    std::fs::create_dir_all(&recorded).unwrap();

    // The golden card: its personalisation, and the host reader's read of it with every
    // optional step, recorded. With the recorded randomness each grants; with one byte of it
    // changed, each is denied at AuthenticateEV2First (RndA' does not match).
    let (_, personalisation) = golden();
    let mut read_log = Vec::new();
    for flags in [0x00u8, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x6C] {
        let (seed, log) = record_host_read(flags);
        let input = Input::parse(&seed).unwrap();
        assert!(matches!(
            hostile::read(input, &mut TestRng(GOLDEN_READER_RNG)).verdict,
            Verdict::Grant(_)
        ));
        assert_eq!(
            hostile::read(input, &mut Nudged::new(TestRng(GOLDEN_READER_RNG))).verdict,
            Verdict::Deny(DenyReason::AuthFailed(
                desfire_core::encoding::AppKey::Kuid.key_no()
            ))
        );
        if flags == 0 {
            std::fs::write(recorded.join("hostile_card.bin"), &seed).unwrap();
            read_log = log;
        }
        s.put("hostile_card", &format!("golden-{flags:02x}"), &seed);
        let mut replay = seed.clone();
        replay[0] |= 0x80;
        s.put(
            "hostile_card",
            &format!("golden-replay-{flags:02x}"),
            &replay,
        );
    }

    // Other genuine cards (spec §17 T10b, a card without tag 86) and the golden card out of
    // its window, replayed: the DENY reasons that come after the signature.
    let no_legacy = Credential {
        legacy_image: None,
        ..Credential::lab_test()
    };
    let deny_listed = Credential {
        credential_id: 0x1A2B_3C4D_5E6F_70FF,
        ..Credential::lab_test()
    };
    let golden_seed = record_host_read(0).0;
    for (name, credential, flags, want) in [
        ("no-legacy", &no_legacy, 0xA0u8, DenyReason::NoLegacyImage),
        ("deny-listed", &deny_listed, 0xC0, DenyReason::Revoked),
        (
            "before-window",
            &Credential::lab_test(),
            0x86,
            DenyReason::NotYetValid,
        ),
        (
            "after-window",
            &Credential::lab_test(),
            0xB0,
            DenyReason::Expired,
        ),
    ] {
        let mut seed = if name.ends_with("window") {
            golden_seed.clone()
        } else {
            record_genuine_read(credential, 0).0
        };
        if !name.ends_with("window") {
            std::fs::write(recorded.join(format!("hostile_card_{name}.bin")), &seed).unwrap();
        }
        seed[0] = flags;
        let input = Input::parse(&seed).unwrap();
        assert_eq!(
            hostile::read(input, &mut TestRng(GOLDEN_READER_RNG)).verdict,
            Verdict::Deny(want),
            "{name}"
        );
        s.put("hostile_card", &format!("replay-{name}"), &seed);
    }

    // The firmware reader behind the emulated PN532, reading the golden card.
    let mut wire = Wire::new();
    let out = fw::run(&mut wire, TestRng(GOLDEN_READER_RNG), false, false);
    assert_eq!(out.grants, 1, "{:?}", out.events);
    let mut fw_seed = vec![0x00];
    fw_seed.extend_from_slice(&wire.from_chip);
    std::fs::write(recorded.join("fw_hostile_card.bin"), &fw_seed).unwrap();
    let replayed = fw::run(
        fw::Line {
            rx: &wire.from_chip,
        },
        TestRng(GOLDEN_READER_RNG),
        false,
        false,
    );
    assert_eq!(replayed.grants, 1, "{:?}", replayed.events);
    let nudged = fw::run(
        fw::Line {
            rx: &wire.from_chip,
        },
        Nudged::new(TestRng(GOLDEN_READER_RNG)),
        false,
        false,
    );
    assert_eq!(nudged.grants, 0, "{:?}", nudged.events);
    s.put("fw_hostile_card", "golden", &fw_seed);
    fw_seed[0] = 0x01;
    s.put("fw_hostile_card", "golden-replay", &fw_seed);
    fw_seed[0] = 0x05;
    s.put("fw_hostile_card", "golden-replay-wiegand-panel", &fw_seed);
    // What the driver sent the PN532: the emulated chip's input.
    for split in [0x00u8, 0x3F, 0xC8] {
        let mut v = vec![split];
        v.extend_from_slice(&wire.to_chip);
        s.put("pn532_chip", &format!("reader-session-{split:02x}"), &v);
    }
    s.put("fw_pn532_driver", "reader-session", &wire.from_chip);

    // Every command the emulated PN532 knows, as libnfc sends them, with and without a card
    // activated, and an InDataExchange chained with the MI bit; split three ways.
    let mut host = Vec::new();
    let mut frame = |data: &[u8]| {
        host_tools::pn532::frame::information(0xD4, data, &mut host).unwrap();
    };
    for cmd in [
        &[0x00, 0x00, 0x01, 0x02][..],
        &[0x00, 0x06],
        &[0x02],
        &[0x04],
        &[0x06, 0x63, 0x05, 0x63, 0x3D],
        &[0x08, 0x63, 0x05, 0x40, 0x63, 0x3D, 0x00],
        &[0x08, 0x63],
        &[0x12, 0x14],
        &[0x12],
        &[0x14, 0x01, 0x14, 0x01],
        &[0x14],
        &[0x32, 0x01, 0x01],
        &[0x32, 0x05, 0xFF, 0x01, 0x02],
        &[0x40, 0x01, 0x90, 0x60, 0x00, 0x00, 0x00],
        &[0x4A, 0x01, 0x00],
        &[0x04],
        &[0x00, 0x06],
        &[0x40, 0x41, 0x90, 0x5A, 0x00, 0x00, 0x03],
        &[0x40, 0x01, 0x00, 0x00, 0x01, 0x00],
        &[0x40, 0x01, 0x90, 0xAF, 0x00, 0x00, 0x00],
        &[0x40, 0x02, 0x90, 0x60, 0x00, 0x00, 0x00],
        &[0x42, 0x26],
        &[0x44, 0x01],
        &[0x54, 0x01],
        &[0x52, 0x00],
        &[0x44, 0x01],
        &[0x16, 0x20],
        &[0x7F],
    ] {
        frame(cmd);
    }
    host.extend_from_slice(&[0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00]);
    for split in [0x00u8, 0x05, 0xC3] {
        let mut v = vec![split];
        v.extend_from_slice(&host);
        s.put("pn532_chip", &format!("every-command-{split:02x}"), &v);
    }

    // The driver's own sequence (init, poll, one exchange, release), both directions.
    let mut wire = Wire::new();
    {
        let mut p = Pn532::new(Hsu::new(&mut wire), fw::Tick(0));
        p.init().unwrap();
        let target = p.list_passive_target().unwrap().unwrap();
        let mut rx = [0u8; 64];
        p.data_exchange(target.tg, &[0x90, 0x60, 0x00, 0x00, 0x00], &mut rx)
            .unwrap();
        p.release(target.tg).unwrap();
    }
    s.put("fw_pn532_driver", "driver-sequence", &wire.from_chip);
    let mut v = vec![0x01];
    v.extend_from_slice(&wire.to_chip);
    s.put("pn532_chip", "driver-sequence", &v);

    // Sessions with the picc_apdus target's own card, recorded through the reader engine:
    // every file and value command in the clear, then AuthenticateEV2First with the zero key
    // and the same in the session, key and settings changes, and the PICC level.
    s.put("picc_apdus", "engine-session", &framed(&picc_session()));

    // The golden card's exchanges as C-APDU sequences for the virtual card.
    let capdus = |log: &[(Vec<u8>, Vec<u8>)]| -> Vec<Vec<u8>> {
        log.iter().map(|(c, _)| c.clone()).collect()
    };
    s.put(
        "picc_apdus",
        "personalisation",
        &framed(&capdus(&personalisation)),
    );
    s.put("picc_apdus", "reader-session", &framed(&capdus(&read_log)));
    // One exchange per recorded pair: INS, chunk 59, body, a 256-byte buffer, the answer.
    for (i, (c, r)) in personalisation.iter().chain(read_log.iter()).enumerate() {
        let body = c.get(5..c.len().saturating_sub(1)).unwrap_or_default();
        let Ok(body_len) = u8::try_from(body.len()) else {
            continue;
        };
        let mut v = vec![c[1], 59, body_len, 64];
        v.extend_from_slice(body);
        v.extend_from_slice(&framed(std::slice::from_ref(r)));
        s.put("exchange", &format!("golden-{i:02}"), &v);
    }

    // Plain responses of the golden card to every parser of response_parsers (selector first).
    let (mut card, _) = golden();
    card.activate();
    let mut ask = |capdus: &[&str]| -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut data = Vec::new();
        let mut frames = Vec::new();
        for c in capdus {
            let mut r = [0u8; 300];
            let n = card.process(&hex(c), &mut r);
            data.extend_from_slice(&r[..n - 2]);
            frames.push(r[..n].to_vec());
        }
        (data, frames)
    };
    let plain: [(u8, &[&str]); 12] = [
        (0, &["9060000000", "90AF000000", "90AF000000"]),
        (2, &["906E000000"]),
        (3, &["906A000000"]),
        (4, &["906D000000", "90AF000000"]),
        (5, &["9045000000"]),
        (6, &["906400000100"]),
        (14, &["903C0000010000"]),
        (7, &["905A00000301C50A00", "906F000000"]),
        (8, &["9061000000"]),
        (9, &["90F500000101 00"]),
        (15, &["00A4040007D276000085010100"]),
        (12, &["90BB0000070100000000000000"]),
    ];
    for (sel, apdus) in plain {
        let (data, frames) = ask(apdus);
        let mut v = vec![sel];
        v.extend_from_slice(&data);
        s.put("response_parsers", &format!("golden-{sel:02}-data"), &v);
        let mut v = vec![sel];
        v.extend_from_slice(&framed(&frames));
        s.put("response_parsers", &format!("golden-{sel:02}-frames"), &v);
    }
    for (sel, data) in [
        (1u8, UID.to_vec()),
        (10, vec![0x64, 0, 0, 0]),
        (11, vec![0x11; 32]),
        (
            13,
            vec![1, 0, 0, 0, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x11, 0x22],
        ),
        (16, vec![0x0F]),
    ] {
        let mut v = vec![sel];
        v.extend_from_slice(&data);
        s.put("response_parsers", &format!("value-{sel:02}"), &v);
    }

    // Published (AN12196) and own (ev2-nonzero.json) authentications, and the responses of
    // the sessions they open.
    let mut an = vec![0x00];
    an.extend_from_slice(&[0; 16]);
    an.extend_from_slice(&hex("13C5DB8A5930439FC3DEF9A4C675360F"));
    an.extend_from_slice(&framed(&[
        hex("A04C124213C186F22399D33AC2A3021591AF"),
        hex("3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F081206639100"),
    ]));
    s.put("auth_handshake", "an12196-t14", &an);
    let nonzero: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join("specs/vectors/ev2-nonzero.json")).unwrap(),
    )
    .unwrap();
    for v in nonzero["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let steps = v["steps"].as_array().unwrap();
        let mut apdus = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let frames = step["frames"].as_array().unwrap();
            for f in frames {
                apdus.push(hex(f["capdu"].as_str().unwrap()));
            }
            if step["step"] == "authenticate_ev2_first"
                || step["step"] == "authenticate_ev2_nonfirst"
            {
                let non_first = step["step"] == "authenticate_ev2_nonfirst";
                let mut seed =
                    vec![step["key_no"].as_u64().unwrap() as u8 | if non_first { 0x80 } else { 0 }];
                seed.extend_from_slice(&hex(step["key"].as_str().unwrap()));
                seed.extend_from_slice(&hex(step["rnd_a"].as_str().unwrap()));
                // The handshake's two answers, then each single-frame answer of the session
                // it opens (until the next authentication), with the selector of its mode.
                let mut rapdus: Vec<Vec<u8>> = step["frames"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| hex(f["rapdu"].as_str().unwrap()))
                    .collect();
                for later in steps[i + 1..].iter().take_while(|l| l["step"] == "command") {
                    let frames = later["frames"].as_array().unwrap();
                    if frames.len() != 1 {
                        break;
                    }
                    let mode = match later["mode"].as_str().unwrap() {
                        "plain" => 0u8,
                        "mac" => 1,
                        _ => 2,
                    };
                    let data = later["data"].as_str().is_some_and(|d| !d.is_empty());
                    let mut r = vec![mode | if data { 0x04 } else { 0 }];
                    r.extend_from_slice(&hex(frames[0]["rapdu"].as_str().unwrap()));
                    rapdus.push(r);
                }
                seed.extend_from_slice(&framed(&rapdus));
                s.put("auth_handshake", &format!("{name}-{i}"), &seed);
            }
        }
        s.put("picc_apdus", name, &framed(&apdus));
    }

    // Credential files: the four vectors of test-card.json, and the golden credential with
    // and without its optional parts.
    let cards: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join("specs/vectors/gen-pacs/test-card.json")).unwrap(),
    )
    .unwrap();
    for v in cards["vectors"].as_array().unwrap() {
        let ccf = hex(v["credential"]["ccf"].as_str().unwrap());
        s.put("credential_parser", v["id"].as_str().unwrap(), &ccf);
    }
    let golden_credential = Credential::lab_test();
    s.put("credential_parser", "golden", &ccf_of(&golden_credential));
    let bare = Credential {
        legacy_image: None,
        ..Credential::lab_test()
    };
    s.put("credential_parser", "no-legacy-image", &ccf_of(&bare));

    // Traces.
    for entry in std::fs::read_dir(repo.join("specs/traces")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "trace") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            s.put("trace_decode", &name, &std::fs::read(&path).unwrap());
        }
    }

    // vpcd's socket: ATR request, power on, reset, APDUs of the reader session, the GET DATA
    // pseudo-APDU, power off.
    let mut stream = Vec::new();
    let mut msg = |m: &[u8]| {
        stream.extend_from_slice(&(m.len() as u16).to_be_bytes());
        stream.extend_from_slice(m);
    };
    msg(&[0x04]);
    msg(&[0x01]);
    msg(&[0x02]);
    msg(&hex("FFCA000000"));
    for c in capdus(&read_log).iter().take(4) {
        msg(c);
    }
    msg(&[0x00]);
    s.put("vpcd_stream", "session", &stream);
    // An APDU and GET DATA before power on, an empty and an overlong message.
    let mut cold = Vec::new();
    for m in [
        &hex("9060000000")[..],
        &hex("FFCA000000"),
        &[],
        &[0x09],
        &[0x01],
    ] {
        cold.extend_from_slice(&(m.len() as u16).to_be_bytes());
        cold.extend_from_slice(m);
    }
    cold.extend_from_slice(&[0xFF, 0xFF, 0x00]);
    s.put("vpcd_stream", "cold", &cold);

    // OSDP: a control panel with the lab SCBK against the PD (one card read queued).
    let mut pd = Pd::new(reader::lab::pd_config());
    pd.report_raw(&CARD).unwrap();
    let mut cp = Cp::new(reader::lab::LAB_SCBK);
    let raws = cp.serve(&mut pd, &mut TestRng(GOLDEN_PD_RNG)).unwrap();
    assert_eq!(raws, vec![CARD.to_vec()]);
    let session = cp.sent.clone();
    // Replayed with the recorded randomness the session opens and the read leaves; with one
    // byte of it changed, neither.
    for (nudge, want) in [(false, true), (true, false)] {
        let mut pd = Pd::new(reader::lab::pd_config());
        pd.report_raw(&CARD).unwrap();
        let mut out = [0u8; 300];
        let mut rng: Box<dyn rand_core::CryptoRng> = if nudge {
            Box::new(Nudged::new(TestRng(GOLDEN_PD_RNG)))
        } else {
            Box::new(TestRng(GOLDEN_PD_RNG))
        };
        let mut raw_sent = false;
        for b in &session {
            if let Some(n) = pd.on_byte(*b, &mut *rng, &mut out) {
                raw_sent |= reader::osdp::packet::Packet::parse(&out[..n]).unwrap().code == 0x50;
            }
        }
        assert_eq!((pd.is_secure(), raw_sent), (want, want));
    }
    std::fs::write(recorded.join("fw_osdp_attacker.bin"), &session).unwrap();
    for target in ["fw_osdp_attacker", "fw_osdp_pd"] {
        s.put(target, "lab-panel-session", &session);
    }
    // Every command in the session (osdp_ID, CAP, LSTAT, LED, BUZ, ACURXSIZE, KEEPACTIVE, an
    // unknown one), and a packet with a broken MAC, which ends the session.
    let mut pd = Pd::new(reader::lab::pd_config());
    pd.report_raw(&CARD).unwrap();
    let mut rng = TestRng(GOLDEN_PD_RNG);
    let mut cp = Cp::new(reader::lab::LAB_SCBK);
    cp.serve(&mut pd, &mut rng).unwrap();
    for (code, data) in [
        (0x60u8, &[][..]),
        (0x61, &[0x00][..]),
        (0x62, &[0x00][..]),
        (0x64, &[][..]),
        (0x6A, &[0x00, 0x02, 0x05, 0x05, 0x03][..]),
        (0x7B, &[0x00, 0x01][..]),
        (0xA7, &[0xE8, 0x03][..]),
        (0x6B, &[][..]),
    ] {
        cp.command(&mut pd, &mut rng, code, data, 1).unwrap();
    }
    let mut all = cp.sent.clone();
    // The last packet again with one byte of its MAC changed.
    let mut broken = cp.sent[cp.sent.len() - 14..].to_vec();
    broken[8] ^= 0x01;
    all.extend_from_slice(&broken);
    for target in ["fw_osdp_attacker", "fw_osdp_pd"] {
        s.put(target, "lab-panel-every-command", &all);
    }

    // osdp_CHLNG asking for the default key SCBK-D (install mode), which the PD refuses.
    let mut chlng = vec![0x53, 0x00, 0x13, 0x00, 0x0C, 0x03, 0x11, 0x00, 0x76];
    chlng.extend_from_slice(&osdp_cp::RND_A);
    let crc = reader::osdp::packet::crc16(&chlng);
    chlng.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(chlng.len(), 0x13);
    for target in ["fw_osdp_attacker", "fw_osdp_pd"] {
        s.put(target, "scbk-d-challenge", &chlng);
    }

    // The same panel with a wrong SCBK.
    for (name, scbk) in [("wrong-scbk", [0x5Au8; 16])] {
        let mut pd = Pd::new(reader::lab::pd_config());
        let mut cp = Cp::new(scbk);
        let r = cp.serve(&mut pd, &mut TestRng(GOLDEN_PD_RNG));
        assert_eq!(r, Err(osdp_cp::CpError::Crypto));
        for target in ["fw_osdp_attacker", "fw_osdp_pd"] {
            s.put(target, name, &cp.sent);
        }
    }

    // Key records: lab and production layouts, and erased flash.
    use desfire_core::encoding::SystemId;
    use reader::lab_values::{LAB_SCBK, TEST_ISSUER_PUBLIC, TEST_K1, TEST_K2_MASTER};
    let lab_record = reader::provisioned::emit(
        LAB_AID,
        &SystemId::GEN_PACS,
        &TEST_K1,
        Some(&TEST_K2_MASTER),
        lab::ISSUER_ID,
        &[lab::ISSUER_KEY_ID],
        &TEST_ISSUER_PUBLIC,
        &LAB_SCBK,
        0,
        false,
    )
    .unwrap();
    s.put("fw_key_record", "lab", &lab_record);
    let prod = reader::provisioned::emit(
        desfire_core::wire::Aid::new(0xF4_8A21).unwrap(),
        &SystemId(*b"SITE0001"),
        &[0x71; 16],
        None,
        b"SE0000000001",
        &[0x02],
        &TEST_ISSUER_PUBLIC,
        &[0x73; 16],
        5,
        true,
    )
    .unwrap();
    s.put("fw_key_record", "production-no-k2", &prod);
    // A two-byte key ID, and a production record that holds the lab SCBK only (refused). Its
    // issuer key is the P-256 base point G (SEC 2), a valid point that is no TEST key.
    let g: [u8; 65] = hex(
        "04 6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
            4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
    )
    .try_into()
    .unwrap();
    for (name, key_id, scbk) in [
        ("production-key-id-2", &[0x02u8, 0x07][..], [0x73u8; 16]),
        ("production-lab-scbk", &[0x02][..], LAB_SCBK),
    ] {
        let record = reader::provisioned::emit(
            desfire_core::wire::Aid::new(0xF4_8A21).unwrap(),
            &SystemId(*b"SITE0001"),
            &[0x71; 16],
            Some(&[0x72; 16]),
            b"SE0000000001",
            key_id,
            &g,
            &scbk,
            5,
            false,
        )
        .unwrap();
        s.put("fw_key_record", name, &record);
    }
    s.put("fw_key_record", "erased", &vec![0xFF; prod.len()]);

    eprintln!("{} seed inputs under {}", s.count, s.root.display());
}
