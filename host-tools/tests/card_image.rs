//! Card image round trips against the real command path: a card provisioned by `pcd::Desfire`
//! commands against `picc::Card` in process, with non-zero keys, is saved as an image and
//! loaded again; the loaded card has the same memory layout and answers the same.

use desfire_core::crypto::AesKey;
use desfire_core::pcd::commands::*;
use desfire_core::pcd::{Desfire, FrameSize};
use desfire_core::picc::state::FileKind as StoredKind;
use desfire_core::picc::{Card, RamNvm, State};
use desfire_core::wire::{Access, AccessRights, Aid, CommMode, FileNo, KeyNo, U24};
use desfire_tests::virtual_card::{Loop, TestRng, VCard};
use host_tools::card_image::{self, CardImage};

const UID: [u8; 7] = [0x04, 0x5A, 0x11, 0x22, 0x33, 0x44, 0x55];
const AID: u32 = 0x0AC501;

fn key(n: u8) -> AesKey {
    AesKey::new(core::array::from_fn(|i| {
        n.wrapping_mul(29).wrapping_add(i as u8 * 11 + 3)
    }))
}
fn k(n: u8) -> KeyNo {
    KeyNo::new(n).unwrap()
}
fn f(n: u8) -> FileNo {
    FileNo::new(n).unwrap()
}
fn u24(v: u32) -> U24 {
    U24::new(v).unwrap()
}
fn rights(read: u8, write: u8, rw: u8, change: u8) -> AccessRights {
    AccessRights {
        read: Access::from_nibble(read),
        write: Access::from_nibble(write),
        read_write: Access::from_nibble(rw),
        change: Access::from_nibble(change),
    }
}

struct Rig {
    d: Desfire<Loop>,
    rng: TestRng,
    rx: Vec<u8>,
}

impl Rig {
    fn on(card: Box<VCard>) -> Self {
        Self {
            d: Desfire::new(Loop { card }, FrameSize::SHORT_APDU),
            rng: TestRng(0xDEAD_BEEF),
            rx: vec![0; 4096],
        }
    }

    fn ok(&mut self, cmd: &desfire_core::pcd::Command<'_>) -> Vec<u8> {
        match self.d.execute(cmd, &mut self.rx) {
            Ok(r) => r.data().to_vec(),
            Err(e) => panic!("{:?} failed: {e:?}", cmd.ins()),
        }
    }

    fn auth(&mut self, n: u8, key: &AesKey) {
        self.d
            .authenticate_ev2_first(k(n), key, &mut self.rng)
            .unwrap();
    }

    fn select(&mut self, aid: u32) {
        self.ok(&select_application(Aid::new(aid).unwrap()));
    }

    fn card(&mut self) -> &mut VCard {
        &mut self.d.transport_mut().card
    }
}

/// A card provisioned through commands: non-zero PICC, default and application keys; an ISO
/// application with a file of each type in several comm modes; data written, value credited
/// and debited, records written past a cyclic file's capacity, backup and record files
/// committed an odd number of times (so their committed region is region 1); a second
/// application; random UID on. Objects are created application by application, each followed
/// by its files: the order a card image loads them in (`specs/card-image.md`).
fn provisioned() -> Rig {
    let card = Card::create(
        RamNvm::new(),
        TestRng(0x1234_5678),
        Default::default(),
        State::factory(UID),
    )
    .unwrap();
    let mut r = Rig::on(Box::new(card));
    r.auth(0, &AesKey::zero());
    r.ok(&ChangeKey {
        target: ChangeKeyTarget::PiccMasterKey,
        old_key: &AesKey::zero(),
        new_key: &key(0xF0),
        new_version: 1,
    }
    .command(KeyNo::MASTER));
    r.auth(0, &key(0xF0));
    r.ok(&set_configuration(&Configuration::DefaultKey {
        key: &key(9),
        version: 9,
    })
    .unwrap());
    r.ok(&set_configuration(&Configuration::Ats(&[0x05, 0x75, 0x77, 0x81, 0x02])).unwrap());
    let app = CreateApplication::new(Aid::new(AID).unwrap(), KeySettings::from_byte(0x0F), 4)
        .with_iso(0xE105, DfName::new(b"IMAGE-TEST").unwrap());
    r.ok(&app.command().unwrap());
    r.select(AID);
    r.auth(0, &key(9));
    for n in 1..4 {
        r.ok(&ChangeKey {
            target: ChangeKeyTarget::Application(k(n)),
            old_key: &key(9),
            new_key: &key(n),
            new_version: n + 0x20,
        }
        .command(KeyNo::MASTER));
    }
    r.ok(&ChangeKey {
        target: ChangeKeyTarget::Application(k(0)),
        old_key: &key(9),
        new_key: &key(0),
        new_version: 0x10,
    }
    .command(KeyNo::MASTER));
    r.auth(0, &key(0));
    let ar = rights(1, 2, 3, 0);
    let data = CreateDataFile {
        file: f(1),
        iso_file_id: Some(0xE101),
        comm_mode: CommMode::Full,
        access_rights: ar,
        size: u24(100),
    };
    r.ok(&data.standard().unwrap());
    r.ok(&CreateDataFile {
        file: f(2),
        iso_file_id: None,
        comm_mode: CommMode::Mac,
        size: u24(40),
        ..data
    }
    .backup()
    .unwrap());
    r.ok(&CreateValueFile {
        file: f(3),
        comm_mode: CommMode::Full,
        access_rights: ar,
        lower_limit: -100,
        upper_limit: 1000,
        value: 10,
        limited_credit: true,
        free_get_value: true,
    }
    .command()
    .unwrap());
    let rec = CreateRecordFile {
        file: f(4),
        iso_file_id: Some(0xE104),
        comm_mode: CommMode::Mac,
        access_rights: ar,
        record_size: u24(12),
        max_records: u24(5),
    };
    r.ok(&rec.linear().unwrap());
    r.ok(&CreateRecordFile {
        file: f(5),
        iso_file_id: None,
        comm_mode: CommMode::Plain,
        access_rights: rights(1, 2, 3, 0xE),
        max_records: u24(3),
        ..rec
    }
    .cyclic()
    .unwrap());

    r.auth(3, &key(3));
    let payload: Vec<u8> = (0..80u8).map(|i| i.wrapping_mul(7) ^ 0x5A).collect();
    r.ok(&WriteData::new(f(1), u24(10), &payload, CommMode::Full)
        .command()
        .unwrap());
    for text in [
        b"backup, first commit",
        b"backup, third commit",
        b"backup, fifth commit",
    ] {
        r.ok(&WriteData::new(f(2), u24(0), text, CommMode::Mac)
            .command()
            .unwrap());
        r.ok(&commit_transaction());
    }
    r.ok(&credit(f(3), 500, CommMode::Full).unwrap());
    r.ok(&commit_transaction());
    r.ok(&debit(f(3), 120, CommMode::Full).unwrap());
    r.ok(&commit_transaction());
    for i in 0..3u8 {
        r.ok(
            &WriteRecord::new(f(4), u24(0), &[0x40 + i; 12], CommMode::Mac)
                .command()
                .unwrap(),
        );
        r.ok(&commit_transaction());
    }
    for i in 0..5u8 {
        r.ok(
            &WriteRecord::new(f(5), u24(0), &[0xC0 + i; 12], CommMode::Plain)
                .command()
                .unwrap(),
        );
        r.ok(&commit_transaction());
    }
    // Something pending at the end: volatile, so not part of the state.
    r.ok(
        &WriteData::new(f(2), u24(0), b"never committed", CommMode::Mac)
            .command()
            .unwrap(),
    );

    r.select(0);
    r.auth(0, &key(0xF0));
    // A second application, with the default key.
    r.ok(
        &CreateApplication::new(Aid::new(0x123456).unwrap(), KeySettings::DEFAULT, 2)
            .command()
            .unwrap(),
    );
    r.ok(&set_configuration(&Configuration::Picc(PiccConfiguration {
        disable_format: false,
        random_id: true,
    }))
    .unwrap());
    r
}

/// The state the card would have had if every committed region were region 0 and every shadow
/// region fresh memory: what the image describes. Written from the card's layout rules, not
/// with the image code.
fn canonical(s: &State) -> State {
    let mut c = s.clone();
    for (i, file) in s.files.iter().enumerate() {
        let (offset, len, active) = match file.kind {
            StoredKind::Data {
                size,
                offset,
                active,
                backup,
            } => {
                if !backup {
                    continue;
                }
                (offset, size, active)
            }
            StoredKind::Record {
                size,
                max,
                offset,
                active,
                ..
            } => (offset, size * max, active),
            StoredKind::Value { .. } => continue,
        };
        let committed = s
            .region(offset + u32::from(active) * len, len)
            .unwrap()
            .to_vec();
        c.region_mut(offset, len)
            .unwrap()
            .copy_from_slice(&committed);
        c.region_mut(offset + len, len).unwrap().fill(0);
        match &mut c.files[i].kind {
            StoredKind::Data { active, .. } | StoredKind::Record { active, .. } => *active = 0,
            StoredKind::Value { .. } => {}
        }
    }
    c
}

/// What a reader sees of the card with the right keys: every read command of every file, key
/// versions, key settings, settings of every file.
fn observe(r: &mut Rig) -> Vec<Vec<u8>> {
    let mut seen = Vec::new();
    r.card().activate();
    r.select(0);
    r.auth(0, &key(0xF0));
    seen.push(r.ok(&get_card_uid()));
    seen.push(r.ok(&get_key_settings()));
    seen.push(r.ok(&get_key_version(KeyNo::MASTER)));
    seen.push(r.ok(&get_application_ids()));
    seen.push(r.ok(&get_free_memory()));
    r.select(AID);
    r.auth(0, &key(0));
    seen.push(r.ok(&get_key_settings()));
    for n in 0..4 {
        seen.push(r.ok(&get_key_version(k(n))));
    }
    seen.push(r.ok(&get_file_ids()));
    seen.push(r.ok(&get_iso_file_ids()));
    for n in 1..=5 {
        seen.push(r.ok(&get_file_settings(f(n))));
    }
    r.auth(1, &key(1));
    seen.push(r.ok(&ReadData::new(f(1), u24(0), u24(0), CommMode::Full).command()));
    seen.push(r.ok(&ReadData::new(f(2), u24(0), u24(0), CommMode::Mac).command()));
    seen.push(r.ok(&get_value(f(3), CommMode::Full)));
    seen.push(r.ok(&ReadRecords::new(f(4), u24(0), u24(0), CommMode::Mac).command()));
    seen.push(r.ok(&ReadRecords::new(f(5), u24(0), u24(0), CommMode::Plain).command()));
    // LimitedCredit is allowed up to the last transaction's debits (120), once.
    r.auth(2, &key(2));
    r.ok(&limited_credit(f(3), 120, CommMode::Full).unwrap());
    r.ok(&commit_transaction());
    r.auth(1, &key(1));
    seen.push(r.ok(&get_value(f(3), CommMode::Full)));
    seen
}

#[test]
fn a_card_provisioned_by_commands_round_trips_through_json() {
    let mut original = provisioned();
    let s0 = original.card().state().clone();
    let image = CardImage::from_card(original.card());
    let json = serde_json::to_string_pretty(&image).unwrap();
    let parsed: CardImage = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed, image);
    let s1 = parsed.to_state().unwrap();

    // Same memory layout as the card built it: same `used`, same offsets, same contents.
    assert_eq!(s1, canonical(&s0));
    assert_eq!(s1.used, s0.used);
    assert!(
        s0.files.iter().any(|f| matches!(
            f.kind,
            StoredKind::Data { active: 1, .. } | StoredKind::Record { active: 1, .. }
        )),
        "the test must cover committed regions other than region 0"
    );
    // Loading what was loaded is exact.
    assert_eq!(CardImage::from_state(&s1).to_state().unwrap(), s1);
    assert_eq!(CardImage::from_state(&s1), image);

    let mut loaded = Rig::on(Box::new(parsed.into_card(TestRng(0x1234_5678)).unwrap()));
    assert_eq!(loaded.card().state(), &s1);
    let act = loaded.card().activate();
    assert_eq!(act.uid.len(), 4, "random UID survives the image");
    assert_eq!(&act.ats[..], [0x05, 0x75, 0x77, 0x81, 0x02]);
    let want = observe(&mut original);
    let got = observe(&mut loaded);
    assert_eq!(got, want);
    // Spot checks that the observation is the real contents, not two equal failures.
    assert_eq!(want[0], UID);
    assert_eq!(want[17].len(), 100);
    assert_eq!(&want[18][..20], b"backup, fifth commit");
    assert_eq!(want[19], 390i32.to_le_bytes());
    assert_eq!(want[20].len(), 36);
    assert_eq!(want[21], [[0xC3u8; 12], [0xC4; 12]].concat());
    assert_eq!(want[22], 510i32.to_le_bytes());
}

#[test]
fn the_lab_example_runs_as_a_card() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/cards/lab-example.json");
    let image = card_image::load(&path).unwrap();
    let hexkey = |s: &str| AesKey::from_slice(&hex::decode(s).unwrap()).unwrap();
    let picc = hexkey(image.picc.master_key.key.expose());
    let app_keys: Vec<AesKey> = image.applications[0]
        .keys
        .iter()
        .map(|k| hexkey(k.key.expose()))
        .collect();
    let mut r = Rig::on(Box::new(image.into_card(TestRng(7)).unwrap()));
    assert_eq!(
        &r.card().activate().uid[..],
        hex::decode("04A1B2C3D4E5F6").unwrap()
    );
    r.auth(0, &picc);
    assert_eq!(r.ok(&get_key_version(KeyNo::MASTER)), [1]);
    r.select(AID);
    // File 1 is free to read.
    let data = r.ok(&ReadData::new(f(1), u24(0), u24(16), CommMode::Plain).command());
    assert_eq!(data, b"Hello, lab card!");
    r.auth(1, &app_keys[1]);
    assert_eq!(r.ok(&get_value(f(3), CommMode::Full)), 250i32.to_le_bytes());
    let recs = r.ok(&ReadRecords::new(f(4), u24(0), u24(0), CommMode::Mac).command());
    assert_eq!(recs, b"ENTRY-01ENTRY-02");
    let recs = r.ok(&ReadRecords::new(f(5), u24(0), u24(0), CommMode::Full).command());
    assert_eq!(recs, [0, 0, 0, 1, 0, 0, 0, 2]);
    r.auth(0, &app_keys[0]);
    assert_eq!(r.ok(&get_key_version(k(0))), [16]);
    assert_eq!(r.ok(&get_key_version(k(3))), [3]);
    assert_eq!(r.ok(&get_key_settings()), [0x0B, 0xA4]);
}

#[test]
fn save_and_load_keep_a_card() {
    let mut original = provisioned();
    let dir = std::env::temp_dir().join(format!("card-image-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("card.json");
    card_image::save(&path, &CardImage::from_card(original.card())).unwrap();
    let loaded = card_image::load(&path).unwrap();
    let mut again = Rig::on(Box::new(loaded.into_card(TestRng(0x1234_5678)).unwrap()));
    assert_eq!(observe(&mut again), observe(&mut original));
    std::fs::remove_dir_all(&dir).unwrap();
}
