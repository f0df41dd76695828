//! Reader ↔ card loopback: `pcd::Desfire` over a transport that calls `picc::Card::process`,
//! both roles of desfire-core in one process, deterministic. Every command in every comm mode
//! it has, with non-zero keys; then a frame fault injector.

use desfire_core::crypto::AesKey;
use desfire_core::crypto::originality;
use desfire_core::pcd::commands::*;
use desfire_core::pcd::{Desfire, Error, FrameSize, ProtocolError, Transport};
use desfire_core::picc::{Card, CardConfig, NVM_LEN, RamNvm, State};
use desfire_core::wire::{Access, AccessRights, Aid, CommMode, FileNo, KeyNo, Status, U24};

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

/// A transport that hands every frame to the card.
struct Loop {
    card: Box<VCard>,
}

impl Transport for Loop {
    type Error = std::convert::Infallible;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        Ok(self.card.process(capdu, rapdu))
    }
}

const UID: [u8; 7] = [0x04, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66];

fn new_card() -> Box<VCard> {
    let nvm = RamNvm::<NVM_LEN>::new();
    Box::new(
        Card::create(
            nvm,
            TestRng(0x1234_5678),
            CardConfig::default(),
            State::factory(UID),
        )
        .unwrap(),
    )
}

fn key(n: u8) -> AesKey {
    AesKey::new(core::array::from_fn(|i| {
        n.wrapping_mul(17).wrapping_add(i as u8 * 7 + 1)
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

const AID: u32 = 0x0AC501;
const PICC_KEY: u8 = 0xF0;

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
    fn new(frame: FrameSize) -> Self {
        Self {
            d: Desfire::new(Loop { card: new_card() }, frame),
            rng: TestRng(0xDEAD_BEEF),
            rx: vec![0; 4096],
        }
    }

    fn run(
        &mut self,
        cmd: &desfire_core::pcd::Command<'_>,
    ) -> Result<Vec<u8>, Error<std::convert::Infallible>> {
        let r = self.d.execute(cmd, &mut self.rx)?;
        Ok(r.data().to_vec())
    }

    fn ok(&mut self, cmd: &desfire_core::pcd::Command<'_>) -> Vec<u8> {
        self.run(cmd)
            .unwrap_or_else(|e| panic!("{:?} failed: {e:?}", cmd.ins))
    }

    fn auth(&mut self, n: u8, key: &AesKey) {
        self.d
            .authenticate_ev2_first(k(n), key, &mut self.rng)
            .unwrap();
    }

    fn select(&mut self, aid: u32) {
        self.ok(&select_application(Aid::new(aid).unwrap()));
    }

    /// PICC master key changed to non-zero, one application with 4 non-zero keys.
    fn provisioned(frame: FrameSize) -> Self {
        let mut r = Self::new(frame);
        r.auth(0, &AesKey::zero());
        let ck = ChangeKey {
            target: ChangeKeyTarget::PiccMasterKey,
            old_key: &AesKey::zero(),
            new_key: &key(PICC_KEY),
            new_version: 1,
        };
        r.ok(&ck.command(KeyNo::MASTER));
        assert!(
            r.d.session().is_none(),
            "changing the session key ends the session"
        );
        r.auth(0, &key(PICC_KEY));
        let app = CreateApplication::new(Aid::new(AID).unwrap(), KeySettings::from_byte(0x0F), 4)
            .with_iso(0xE105, DfName::new(b"LOOPBACK").unwrap());
        r.ok(&app.command().unwrap());
        r.select(AID);
        r.auth(0, &AesKey::zero());
        for n in 1..4 {
            let ck = ChangeKey {
                target: ChangeKeyTarget::Application(k(n)),
                old_key: &AesKey::zero(),
                new_key: &key(n),
                new_version: n,
            };
            r.ok(&ck.command(KeyNo::MASTER));
        }
        let ck = ChangeKey {
            target: ChangeKeyTarget::Application(k(0)),
            old_key: &AesKey::zero(),
            new_key: &key(0),
            new_version: 0x10,
        };
        r.ok(&ck.command(KeyNo::MASTER));
        r.auth(0, &key(0));
        r
    }

    fn card(&mut self) -> &mut VCard {
        &mut self.d.transport_mut().card
    }
}

#[test]
fn picc_level_commands() {
    let mut r = Rig::provisioned(FrameSize::SHORT_APDU);
    r.select(0);
    // Unauthenticated (plain) and authenticated (MAC) GetVersion.
    for authenticated in [false, true] {
        if authenticated {
            r.auth(0, &key(PICC_KEY));
        }
        let resp = r.d.execute(&get_version(), &mut r.rx).unwrap();
        let v = Version::parse(&resp).unwrap();
        assert!(v.is_ev3());
        assert_eq!(v.uid, UID);
        assert_eq!(v.hardware.storage_size.bytes(), Some(8192));
    }
    let uid = r.ok(&get_card_uid());
    assert_eq!(uid, UID);
    let mem = r.ok(&get_free_memory());
    let free = u32::from_le_bytes([mem[0], mem[1], mem[2], 0]);
    assert!(free < 8192 && free > 7000, "{free}");
    let ids = r.ok(&get_application_ids());
    assert_eq!(ids, Aid::new(AID).unwrap().to_wire());
    let resp = r.d.execute(&get_df_names(), &mut r.rx).unwrap();
    let names = DfNames::parse(&resp).unwrap();
    assert_eq!(names.iter().next().unwrap().name.as_bytes(), b"LOOPBACK");
    let ks = r.ok(&get_key_settings());
    assert_eq!(ks, [0x0F, 0x81]);
    assert_eq!(r.ok(&get_key_version(KeyNo::MASTER)), [1]);
    // ReadSig, Full mode: verifies with the TEST key, not with NXP's.
    let sig = r.ok(&read_sig());
    assert!(originality::verify(&originality::TEST_KEY, &UID, &sig).unwrap());
    assert_eq!(originality::identify(&UID, &sig).unwrap(), None);
    // Plain ReadSig without a session.
    r.d.end_session();
    r.select(0);
    assert_eq!(r.ok(&read_sig()), sig);
    // GetCardUID is refused by the reader without a session, and by the card.
    assert!(matches!(
        r.run(&get_card_uid()),
        Err(Error::Protocol(ProtocolError::NotAuthenticated))
    ));
    // SetConfiguration: ATS, default key, random ID.
    r.auth(0, &key(PICC_KEY));
    r.ok(&set_configuration(&Configuration::Ats(&[0x05, 0x75, 0x77, 0x81, 0x02])).unwrap());
    r.ok(&set_configuration(&Configuration::DefaultKey {
        key: &key(9),
        version: 9,
    })
    .unwrap());
    r.ok(&set_configuration(&Configuration::Picc(PiccConfiguration {
        disable_format: false,
        random_id: true,
    }))
    .unwrap());
    let act = r.card().activate();
    assert_eq!(act.uid.len(), 4);
    assert_eq!(act.uid[0], 0x08);
    assert_eq!(&act.ats[..], [0x05, 0x75, 0x77, 0x81, 0x02]);
    let again = r.card().activate();
    assert_ne!(act.uid, again.uid, "a new random UID per activation");
    r.d.end_session();
    // Random ID: GetVersion hides the UID, ReadSig needs authentication, GetCardUID tells.
    let resp = r.d.execute(&get_version(), &mut r.rx).unwrap();
    assert_eq!(Version::parse(&resp).unwrap().uid, [0; 7]);
    assert_eq!(
        r.run(&read_sig()).unwrap_err(),
        Error::Card(Status::AUTHENTICATION_ERROR)
    );
    r.auth(0, &key(PICC_KEY));
    assert_eq!(r.ok(&get_card_uid()), UID);
    // A new application gets the default key.
    r.ok(
        &CreateApplication::new(Aid::new(0x123456).unwrap(), KeySettings::DEFAULT, 2)
            .command()
            .unwrap(),
    );
    r.select(0x123456);
    r.auth(1, &key(9));
    r.select(0);
    r.auth(0, &key(PICC_KEY));
    r.ok(&delete_application(Aid::new(0x123456).unwrap()).unwrap());
    // Memory is not given back by a deletion, only by FormatPICC.
    let after_delete = r.ok(&get_free_memory());
    let free_after = u32::from_le_bytes([after_delete[0], after_delete[1], after_delete[2], 0]);
    assert!(free_after < free, "{free_after} {free}");
    r.ok(&format_picc());
    assert_eq!(r.ok(&get_application_ids()), Vec::<u8>::new());
    assert_eq!(r.ok(&get_free_memory()), 8192u32.to_le_bytes()[..3]);
    r.ok(&set_configuration(&Configuration::Picc(PiccConfiguration {
        disable_format: true,
        random_id: true,
    }))
    .unwrap());
    assert_eq!(
        r.run(&format_picc()).unwrap_err(),
        Error::Card(Status::PERMISSION_DENIED)
    );
}

/// Creates the five file types in `mode` with read key 1, write key 2, read-write key 3,
/// change key 0; numbers `base..base+5`.
fn create_files(r: &mut Rig, base: u8, mode: CommMode) {
    let ar = rights(1, 2, 3, 0);
    let data = CreateDataFile {
        file: f(base),
        iso_file_id: Some(0x1000 + u16::from(base)),
        comm_mode: mode,
        access_rights: ar,
        size: u24(300),
    };
    r.ok(&data.standard().unwrap());
    let backup = CreateDataFile {
        file: f(base + 1),
        iso_file_id: None,
        size: u24(64),
        ..data
    };
    r.ok(&backup.backup().unwrap());
    let value = CreateValueFile {
        file: f(base + 2),
        comm_mode: mode,
        access_rights: ar,
        lower_limit: -100,
        upper_limit: 1000,
        value: 10,
        limited_credit: true,
        free_get_value: false,
    };
    r.ok(&value.command().unwrap());
    let rec = CreateRecordFile {
        file: f(base + 3),
        iso_file_id: None,
        comm_mode: mode,
        access_rights: ar,
        record_size: u24(12),
        max_records: u24(3),
    };
    r.ok(&rec.linear().unwrap());
    r.ok(&CreateRecordFile {
        file: f(base + 4),
        ..rec
    }
    .cyclic()
    .unwrap());
}

fn exercise_files(r: &mut Rig, base: u8, mode: CommMode) {
    let m = mode;
    // Standard file: write 200 bytes (chained on small frames), read back.
    let payload: Vec<u8> = (0..200u32)
        .map(|i| (i * 7 + u32::from(base)) as u8)
        .collect();
    r.auth(2, &key(2));
    r.ok(&WriteData::new(f(base), u24(50), &payload, m)
        .command()
        .unwrap());
    let mut wd = WriteData::new(f(base), u24(0), &payload[..10], m);
    wd.chaining = Chaining::Iso;
    r.ok(&wd.command().unwrap());
    r.auth(1, &key(1));
    let got = r.ok(&ReadData::new(f(base), u24(50), u24(200), m).command());
    assert_eq!(got, payload, "{mode}");
    let mut rd = ReadData::new(f(base), u24(0), u24(10), m);
    rd.chaining = Chaining::Iso;
    assert_eq!(r.ok(&rd.command()), payload[..10]);
    // Reading with the wrong key: the card refuses, the session ends.
    r.auth(2, &key(2));
    assert_eq!(
        r.run(&ReadData::new(f(base), u24(0), u24(1), m).command())
            .unwrap_err(),
        Error::Card(Status::AUTHENTICATION_ERROR)
    );
    assert!(r.d.session().is_none());

    // Backup file: pending until commit; abort forgets.
    r.auth(3, &key(3));
    r.ok(&WriteData::new(f(base + 1), u24(0), b"first", m)
        .command()
        .unwrap());
    assert_eq!(
        r.ok(&ReadData::new(f(base + 1), u24(0), u24(5), m).command()),
        [0; 5]
    );
    r.ok(&commit_transaction());
    assert_eq!(
        r.ok(&ReadData::new(f(base + 1), u24(0), u24(5), m).command()),
        b"first"
    );
    r.ok(&WriteData::new(f(base + 1), u24(0), b"again", m)
        .command()
        .unwrap());
    r.ok(&abort_transaction());
    assert_eq!(
        r.ok(&ReadData::new(f(base + 1), u24(0), u24(5), m).command()),
        b"first"
    );
    // A new authentication aborts a pending transaction too.
    r.ok(&WriteData::new(f(base + 1), u24(0), b"third", m)
        .command()
        .unwrap());
    r.auth(3, &key(3));
    assert_eq!(r.run(&commit_transaction()).unwrap(), Vec::<u8>::new());
    assert_eq!(
        r.ok(&ReadData::new(f(base + 1), u24(0), u24(5), m).command()),
        b"first"
    );

    // Value file.
    let vf = f(base + 2);
    let value = |r: &mut Rig| i32::from_le_bytes(r.ok(&get_value(vf, m))[..].try_into().unwrap());
    assert_eq!(value(r), 10);
    r.ok(&credit(vf, 90, m).unwrap());
    r.ok(&commit_transaction());
    assert_eq!(value(r), 100);
    r.ok(&debit(vf, 30, m).unwrap());
    r.ok(&debit(vf, 20, m).unwrap());
    assert_eq!(value(r), 100, "GetValue shows the committed value");
    r.ok(&commit_transaction());
    assert_eq!(value(r), 50);
    assert_eq!(
        r.run(&debit(vf, 151, m).unwrap()).unwrap_err(),
        Error::Card(Status::BOUNDARY_ERROR)
    );
    r.auth(3, &key(3));
    assert_eq!(
        r.run(&credit(vf, 951, m).unwrap()).unwrap_err(),
        Error::Card(Status::BOUNDARY_ERROR)
    );
    // LimitedCredit: up to the debits of the last transaction (50), once; write right suffices.
    r.auth(2, &key(2));
    assert_eq!(
        r.run(&limited_credit(vf, 51, m).unwrap()).unwrap_err(),
        Error::Card(Status::BOUNDARY_ERROR)
    );
    r.auth(2, &key(2));
    r.ok(&limited_credit(vf, 40, m).unwrap());
    r.ok(&commit_transaction());
    assert_eq!(value(r), 90);
    assert_eq!(
        r.run(&limited_credit(vf, 1, m).unwrap()).unwrap_err(),
        Error::Card(Status::BOUNDARY_ERROR)
    );
    // Credit needs read-write: key 2 is refused.
    r.auth(2, &key(2));
    assert_eq!(
        r.run(&credit(vf, 1, m).unwrap()).unwrap_err(),
        Error::Card(Status::AUTHENTICATION_ERROR)
    );

    // Linear record file: three records, then full.
    let lf = f(base + 3);
    r.auth(3, &key(3));
    for i in 0..3u8 {
        r.ok(&WriteRecord::new(lf, u24(0), &[i; 12], m).command().unwrap());
        r.ok(&WriteRecord::new(lf, u24(11), &[0xA0 + i], m)
            .command()
            .unwrap());
        r.ok(&commit_transaction());
    }
    let resp = r.run(&WriteRecord::new(lf, u24(0), &[9; 12], m).command().unwrap());
    assert_eq!(
        resp.unwrap_err(),
        Error::Card(Status::BOUNDARY_ERROR),
        "a full linear file refuses a new record"
    );
    r.auth(1, &key(1));
    let all = r.ok(&ReadRecords::new(lf, u24(0), u24(0), m).command());
    assert_eq!(all.len(), 36);
    assert_eq!(&all[..12], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xA0]);
    assert_eq!(
        r.ok(&ReadRecords::new(lf, u24(0), u24(1), m).command())[0],
        2,
        "record 0 is the newest"
    );
    r.auth(2, &key(2));
    let mut up = UpdateRecord::new(lf, u24(1), u24(0), &[0x55], m);
    r.ok(&up.command().unwrap());
    up.chaining = Chaining::Iso;
    up.record = u24(2);
    r.ok(&up.command().unwrap());
    r.ok(&commit_transaction());
    r.auth(1, &key(1));
    let all = r.ok(&ReadRecords::new(lf, u24(0), u24(0), m).command());
    assert_eq!((all[0], all[12], all[24]), (0x55, 0x55, 2));
    r.auth(3, &key(3));
    r.ok(&clear_record_file(lf));
    r.ok(&commit_transaction());
    assert_eq!(
        r.run(&ReadRecords::new(lf, u24(0), u24(0), m).command())
            .unwrap_err(),
        Error::Card(Status::BOUNDARY_ERROR)
    );

    // Cyclic record file: 3 slots, 2 valid records, the oldest dropped.
    let cf = f(base + 4);
    r.auth(2, &key(2));
    for i in 0..4u8 {
        let rec = [i; 12];
        let mut wr = WriteRecord::new(cf, u24(0), &rec, m);
        wr.chaining = if i % 2 == 0 {
            Chaining::Native
        } else {
            Chaining::Iso
        };
        r.ok(&wr.command().unwrap());
        r.ok(&commit_transaction());
    }
    r.auth(1, &key(1));
    let all = r.ok(&ReadRecords::new(cf, u24(0), u24(0), m).command());
    assert_eq!(all, [[2u8; 12], [3u8; 12]].concat());

    // ChangeFileSettings (change key 0), then GetFileSettings reports it.
    r.auth(0, &key(0));
    let cfs = ChangeFileSettings::new(f(base), mode, rights(1, 2, 3, 0));
    r.ok(&cfs.command().unwrap());
    let resp =
        r.d.execute(&get_file_settings(f(base + 3)), &mut r.rx)
            .unwrap();
    let fs = FileSettings::parse(&resp).unwrap();
    assert_eq!(fs.comm_mode(), mode);
    assert!(
        matches!(fs.kind, FileKind::Record { current_records, .. } if current_records.value() == 0)
    );
}

#[test]
fn every_file_command_in_every_comm_mode() {
    for frame in [FrameSize::SHORT_APDU, FrameSize::SMALL_FRAMES] {
        let mut r = Rig::provisioned(frame);
        for (i, mode) in [CommMode::Plain, CommMode::Mac, CommMode::Full]
            .into_iter()
            .enumerate()
        {
            let base = i as u8 * 5;
            r.auth(0, &key(0));
            create_files(&mut r, base, mode);
            exercise_files(&mut r, base, mode);
        }
        r.auth(0, &key(0));
        assert_eq!(r.ok(&get_file_ids()), (0..15).collect::<Vec<u8>>());
        let iso = r.ok(&get_iso_file_ids());
        assert_eq!(iso, [0x00, 0x10, 0x05, 0x10, 0x0A, 0x10]);
        r.ok(&delete_file(f(14)));
        assert_eq!(r.ok(&get_file_ids()).len(), 14);
        assert_eq!(r.ok(&get_key_settings()), [0x0F, 0xA4]);
        r.ok(&change_key_settings(KeySettings::from_byte(0x0B)));
        assert_eq!(r.ok(&get_key_settings()), [0x0B, 0xA4]);
        assert_eq!(r.ok(&get_key_version(k(3))), [3]);
        // ISOSelectFile by DF name ends the session.
        iso_select_df_name(&mut r.d, b"LOOPBACK").unwrap();
        assert!(r.d.session().is_none());
        assert!(iso_select_df_name(&mut r.d, b"NOPE").is_err());
    }
}
