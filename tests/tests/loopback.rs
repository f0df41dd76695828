//! Reader ↔ card loopback: `pcd::Desfire` over a transport that calls `picc::Card::process`,
//! both roles of desfire-core in one process, deterministic. Every command in every comm mode
//! it has, with non-zero keys; then a frame fault injector.

use desfire_core::crypto::AesKey;
use desfire_core::crypto::originality;
use desfire_core::pcd::commands::*;
use desfire_core::pcd::{Desfire, Error, FrameSize, ProtocolError, Transport};
use desfire_core::picc::{Card, CardConfig, NVM_LEN, RamNvm, State};
use desfire_core::wire::{Access, AccessRights, Aid, CommMode, FileNo, KeyNo, Status, U24};
use desfire_tests::virtual_card::{Loop, TestRng, VCard};

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

struct Rig<T = Loop> {
    d: Desfire<T>,
    rng: TestRng,
    rx: Vec<u8>,
}

impl Rig {
    fn new(frame: FrameSize) -> Self {
        Self::over(Loop { card: new_card() }, frame)
    }

    /// Provisioned as [`Rig::provisioned_over`] says, over [`Loop`].
    fn provisioned(frame: FrameSize) -> Self {
        Self::provisioned_over(Loop { card: new_card() }, frame)
    }

    fn card(&mut self) -> &mut VCard {
        &mut self.d.transport_mut().card
    }
}

/// The card reached with native frames: the reader's ISO-wrapped `90 INS 00 00 Lc data 00`
/// sent as `INS data`, the card's `status data` handed back as `data 91 status` (ISO/IEC
/// 7816-4 commands, CLA `00`, pass as they are).
struct NativeLoop {
    card: Box<VCard>,
}

impl Transport for NativeLoop {
    type Error = std::convert::Infallible;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Self::Error> {
        let native: Vec<u8> = match capdu {
            [0x90, ins, 0, 0] | [0x90, ins, 0, 0, _] => vec![*ins],
            [0x90, ins, 0, 0, lc, rest @ ..] => {
                let mut n = vec![*ins];
                n.extend_from_slice(&rest[..usize::from(*lc)]);
                n
            }
            _ => return Ok(self.card.process(capdu, rapdu)),
        };
        let mut answer = vec![0u8; rapdu.len()];
        let n = self.card.process(&native, &mut answer);
        let (status, data) = answer[..n]
            .split_first()
            .expect("a native answer has a status");
        rapdu[..data.len()].copy_from_slice(data);
        rapdu[data.len()..data.len() + 2].copy_from_slice(&[0x91, *status]);
        Ok(data.len() + 2)
    }
}

impl<T: Transport<Error = std::convert::Infallible>> Rig<T> {
    fn over(transport: T, frame: FrameSize) -> Self {
        Self {
            d: Desfire::new(transport, frame),
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
            .unwrap_or_else(|e| panic!("{:?} failed: {e:?}", cmd.ins()))
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
    fn provisioned_over(transport: T, frame: FrameSize) -> Self {
        let mut r = Self::over(transport, frame);
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
fn create_files<T: Transport<Error = std::convert::Infallible>>(
    r: &mut Rig<T>,
    base: u8,
    mode: CommMode,
) {
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

fn exercise_files<T: Transport<Error = std::convert::Infallible>>(
    r: &mut Rig<T>,
    base: u8,
    mode: CommMode,
) {
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
    let value =
        |r: &mut Rig<T>| i32::from_le_bytes(r.ok(&get_value(vf, m))[..].try_into().unwrap());
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
        every_file_command(Rig::provisioned(frame));
    }
}

/// The same with native frames (`INS data`, answered `status data`), as EV1-era readers and
/// libraries send them: the card takes both framings.
#[test]
fn every_file_command_in_every_comm_mode_with_native_frames() {
    for frame in [FrameSize::SHORT_APDU, FrameSize::SMALL_FRAMES] {
        every_file_command(Rig::provisioned_over(
            NativeLoop { card: new_card() },
            frame,
        ));
    }
    // GetVersion, natively: three frames, `AF` then `AF` then `00`.
    let mut card = new_card();
    let mut r = [0u8; 64];
    let n = card.process(&[0x60], &mut r);
    assert_eq!((n, r[0]), (8, 0xAF));
    let n = card.process(&[0xAF], &mut r);
    assert_eq!((n, r[0]), (8, 0xAF));
    let n = card.process(&[0xAF], &mut r);
    assert_eq!((n, r[0]), (15, 0x00));
    // SelectApplication of the PICC level, natively and wrapped.
    assert_eq!(card.process(&[0x5A, 0, 0, 0], &mut r), 1);
    assert_eq!(r[0], 0x00);
    assert_eq!(card.process(&[0x90, 0x5A, 0, 0, 3, 0, 0, 0, 0], &mut r), 2);
    assert_eq!(r[..2], [0x91, 0x00]);
    // A native command the card does not know, and one with a bad length.
    assert_eq!(card.process(&[0x42], &mut r), 1);
    assert_eq!(r[0], Status::ILLEGAL_COMMAND_CODE.0);
    assert_eq!(card.process(&[0x5A, 0], &mut r), 1);
    assert_eq!(r[0], Status::LENGTH_ERROR.0);
    // A reader buffer too small for the answer: a length error, natively.
    let mut tiny = [0u8; 1];
    assert_eq!(card.process(&[0x60], &mut tiny), 1);
    assert_eq!(tiny[0], Status::LENGTH_ERROR.0);
}

fn every_file_command<T: Transport<Error = std::convert::Infallible>>(mut r: Rig<T>) {
    {
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

// ---------------------------------------------------------------------------------------------
// Frame fault injector.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The C-APDU never reaches the card.
    DropCommand,
    /// The card answered, the answer is lost.
    DropResponse,
    /// One bit of the C-APDU flipped.
    CorruptCommand,
    /// One bit of the R-APDU flipped.
    CorruptResponse,
    /// The R-APDU loses its last data byte (status word kept).
    Truncate,
    /// The C-APDU reaches the card twice; the reader sees the second answer.
    Duplicate,
}

#[derive(Debug, PartialEq, Eq)]
struct Lost;

struct Faulty {
    card: Box<VCard>,
    at: usize,
    fault: Fault,
    count: usize,
    bit: usize,
}

impl Transport for Faulty {
    type Error = Lost;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Lost> {
        let n = self.count;
        self.count += 1;
        if n != self.at {
            return Ok(self.card.process(capdu, rapdu));
        }
        let mut cmd = capdu.to_vec();
        match self.fault {
            Fault::DropCommand => return Err(Lost),
            Fault::DropResponse => {
                self.card.process(capdu, rapdu);
                return Err(Lost);
            }
            Fault::CorruptCommand => {
                let i = 4 + self.bit % (cmd.len() - 4);
                cmd[i] ^= 1 << (self.bit % 8);
            }
            _ => {}
        }
        let mut len = self.card.process(&cmd, rapdu);
        match self.fault {
            Fault::CorruptResponse => {
                let i = self.bit % len;
                rapdu[i] ^= 1 << (self.bit % 8);
            }
            Fault::Truncate if len > 2 => {
                rapdu.copy_within(len - 2..len, len - 3);
                len -= 1;
            }
            Fault::Duplicate => len = self.card.process(&cmd, rapdu),
            _ => {}
        }
        Ok(len)
    }
}

/// UID, file data, value as the reader accepted them.
type Credential = (Vec<u8>, Vec<u8>, Vec<u8>);

/// The credential transaction under test: EV2First, GetCardUID, EV2NonFirst, a 160-byte Full
/// ReadData, a MACed GetValue. Returns what the reader accepted.
fn credential(d: &mut Desfire<Faulty>, rng: &mut TestRng) -> Result<Credential, Error<Lost>> {
    let mut rx = [0u8; 512];
    d.execute(&select_application(Aid::new(AID).unwrap()), &mut rx)?;
    d.authenticate_ev2_first(k(1), &key(1), rng)?;
    let uid = d.execute(&get_card_uid(), &mut rx)?.data().to_vec();
    d.authenticate_ev2_non_first(k(3), &key(3), rng)?;
    let data = d
        .execute(
            &ReadData::new(f(0), u24(0), u24(160), CommMode::Full).command(),
            &mut rx,
        )?
        .data()
        .to_vec();
    let value = d
        .execute(&get_value(f(2), CommMode::Mac), &mut rx)?
        .data()
        .to_vec();
    Ok((uid, data, value))
}

#[test]
fn faults_end_in_typed_errors_or_clean_retries_never_wrong_data() {
    // A card with a Full data file (0) and a MAC value file (2).
    let mut r = Rig::provisioned(FrameSize::SMALL_FRAMES);
    let ar = rights(1, 2, 3, 0);
    r.ok(&CreateDataFile {
        file: f(0),
        iso_file_id: None,
        comm_mode: CommMode::Full,
        access_rights: ar,
        size: u24(160),
    }
    .standard()
    .unwrap());
    r.ok(&CreateValueFile {
        file: f(2),
        comm_mode: CommMode::Mac,
        access_rights: ar,
        lower_limit: 0,
        upper_limit: 100,
        value: 42,
        limited_credit: false,
        free_get_value: false,
    }
    .command()
    .unwrap());
    let content: Vec<u8> = (0..160u32).map(|i| (i * 13 + 5) as u8).collect();
    r.auth(2, &key(2));
    r.ok(&WriteData::new(f(0), u24(0), &content, CommMode::Full)
        .command()
        .unwrap());
    let card = std::mem::replace(
        &mut r.d,
        Desfire::new(Loop { card: new_card() }, FrameSize::SMALL_FRAMES),
    )
    .into_transport()
    .card;
    let expected = (UID.to_vec(), content.clone(), 42i32.to_le_bytes().to_vec());

    let mut d = Desfire::new(
        Faulty {
            card,
            at: usize::MAX,
            fault: Fault::Duplicate,
            count: 0,
            bit: 0,
        },
        FrameSize::SMALL_FRAMES,
    );
    let mut rng = TestRng(77);
    d.transport_mut().card.activate();
    assert_eq!(credential(&mut d, &mut rng).unwrap(), expected);
    let frames = d.transport_mut().count;
    assert!(frames >= 10, "{frames} frames");
    let (mut errors, mut survived) = (0, 0);
    for fault in [
        Fault::DropCommand,
        Fault::DropResponse,
        Fault::CorruptCommand,
        Fault::CorruptResponse,
        Fault::Truncate,
        Fault::Duplicate,
    ] {
        for at in 0..frames {
            for bit in [3usize, 17, 250] {
                let t = d.transport_mut();
                t.card.activate();
                t.at = at;
                t.fault = fault;
                t.count = 0;
                t.bit = bit;
                d.end_session();
                match credential(&mut d, &mut rng) {
                    Ok(got) => {
                        assert_eq!(
                            got, expected,
                            "{fault:?} at frame {at}: wrong data accepted"
                        );
                        survived += 1;
                    }
                    Err(_) => errors += 1,
                }
                // Clean retry: the card and the reader recover without the fault.
                let t = d.transport_mut();
                t.at = usize::MAX;
                t.card.activate();
                d.end_session();
                assert_eq!(
                    credential(&mut d, &mut rng).unwrap(),
                    expected,
                    "retry after {fault:?} at {at}"
                );
            }
        }
    }
    assert!(
        errors > 100,
        "{errors} faults detected, {survived} harmless"
    );
}

// ---------------------------------------------------------------------------------------------
// Reference model with power cuts.

mod model {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    pub enum Op {
        WriteStd(u8, u8),
        WriteBackup(u8, u8),
        Credit(u8),
        Debit(u8),
        WriteRecord(u8),
        Commit,
        Abort,
        /// The next operation loses power after this many NVM writes.
        Cut(u8),
    }

    pub fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..28, any::<u8>()).prop_map(|(o, b)| Op::WriteStd(o, b)),
            (0u8..28, any::<u8>()).prop_map(|(o, b)| Op::WriteBackup(o, b)),
            (0u8..60).prop_map(Op::Credit),
            (0u8..60).prop_map(Op::Debit),
            any::<u8>().prop_map(Op::WriteRecord),
            Just(Op::Commit),
            Just(Op::Commit),
            Just(Op::Abort),
            (0u8..40).prop_map(Op::Cut),
        ]
    }

    /// What the card holds, committed.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Committed {
        pub std: Vec<u8>,
        pub backup: Vec<u8>,
        pub value: i32,
        pub records: Vec<Vec<u8>>,
    }

    #[derive(Debug, Clone)]
    pub struct Model {
        pub committed: Committed,
        pub pending: Committed,
        pub dirty: bool,
        /// A WriteRecord of this transaction started a new record.
        pub started: bool,
    }

    impl Model {
        pub fn at(c: Committed) -> Self {
            Self {
                committed: c.clone(),
                pending: c,
                dirty: false,
                started: false,
            }
        }
    }

    const STD: u8 = 0;
    const BACKUP: u8 = 1;
    const VALUE: u8 = 2;
    const RECORDS: u8 = 3;
    const P: CommMode = CommMode::Plain;

    pub fn setup() -> (Box<VCard>, Model) {
        let mut r = Rig::new(FrameSize::SHORT_APDU);
        r.auth(0, &AesKey::zero());
        r.ok(
            &CreateApplication::new(Aid::new(AID).unwrap(), KeySettings::DEFAULT, 1)
                .command()
                .unwrap(),
        );
        r.select(AID);
        let free = rights(0xE, 0xE, 0xE, 0xE);
        let data = CreateDataFile {
            file: f(STD),
            iso_file_id: None,
            comm_mode: P,
            access_rights: free,
            size: u24(32),
        };
        r.ok(&data.standard().unwrap());
        r.ok(&CreateDataFile {
            file: f(BACKUP),
            ..data
        }
        .backup()
        .unwrap());
        r.ok(&CreateValueFile {
            file: f(VALUE),
            comm_mode: P,
            access_rights: free,
            lower_limit: 0,
            upper_limit: 200,
            value: 100,
            limited_credit: false,
            free_get_value: false,
        }
        .command()
        .unwrap());
        r.ok(&CreateRecordFile {
            file: f(RECORDS),
            iso_file_id: None,
            comm_mode: P,
            access_rights: free,
            record_size: u24(4),
            max_records: u24(4),
        }
        .cyclic()
        .unwrap());
        let c = Committed {
            std: vec![0; 32],
            backup: vec![0; 32],
            value: 100,
            records: vec![],
        };
        let card = r.d.into_transport().card;
        (card, Model::at(c))
    }

    pub fn read(card: &mut Box<VCard>) -> Committed {
        card.activate();
        let mut d = Desfire::new(
            Loop {
                card: std::mem::replace(card, new_card()),
            },
            FrameSize::SHORT_APDU,
        );
        let mut rx = vec![0u8; 512];
        let mut run = |d: &mut Desfire<Loop>, c: &desfire_core::pcd::Command<'_>| {
            d.execute(c, &mut rx).map(|r| r.data().to_vec())
        };
        run(&mut d, &select_application(Aid::new(AID).unwrap())).unwrap();
        let std = run(&mut d, &ReadData::new(f(STD), u24(0), u24(32), P).command()).unwrap();
        let backup = run(
            &mut d,
            &ReadData::new(f(BACKUP), u24(0), u24(32), P).command(),
        )
        .unwrap();
        let value = i32::from_le_bytes(
            run(&mut d, &get_value(f(VALUE), P))
                .unwrap()
                .try_into()
                .unwrap(),
        );
        let records = match run(
            &mut d,
            &ReadRecords::new(f(RECORDS), u24(0), u24(0), P).command(),
        ) {
            Ok(all) => all.chunks(4).map(|c| c.to_vec()).collect(),
            Err(Error::Card(Status::BOUNDARY_ERROR)) => vec![],
            Err(e) => panic!("{e:?}"),
        };
        *card = d.into_transport().card;
        Committed {
            std,
            backup,
            value,
            records,
        }
    }

    /// Applies `op` to the model; returns the status the card must answer.
    fn apply(m: &mut Model, op: &Op) -> Status {
        let p = &mut m.pending;
        match *op {
            Op::WriteStd(o, b) => {
                let o = usize::from(o);
                m.committed.std[o..o + 4].fill(b);
                p.std[o..o + 4].fill(b);
            }
            Op::WriteBackup(o, b) => {
                let o = usize::from(o);
                p.backup[o..o + 4].fill(b);
                m.dirty = true;
            }
            Op::Credit(n) if p.value + i32::from(n) <= 200 => {
                p.value += i32::from(n);
                m.dirty = true;
            }
            Op::Debit(n) if p.value - i32::from(n) >= 0 => {
                p.value -= i32::from(n);
                m.dirty = true;
            }
            Op::Credit(_) | Op::Debit(_) => return Status::BOUNDARY_ERROR,
            Op::WriteRecord(b) => {
                if !m.started {
                    if p.records.len() == 3 {
                        p.records.remove(0);
                    }
                    p.records.push(vec![0; 4]);
                    m.started = true;
                }
                let last = p.records.last_mut().unwrap();
                last[..2].fill(b);
                m.dirty = true;
            }
            Op::Commit | Op::Abort if !m.dirty => return Status::NO_CHANGES,
            Op::Commit => {
                m.committed = m.pending.clone();
                m.dirty = false;
                m.started = false;
            }
            Op::Abort => {
                m.pending = m.committed.clone();
                m.dirty = false;
                m.started = false;
            }
            Op::Cut(_) => {}
        }
        Status::OPERATION_OK
    }

    fn send(card: &mut VCard, op: &Op) -> Status {
        let apdu: Vec<u8> = match *op {
            Op::WriteStd(o, b) => vec![0x90, 0x3D, 0, 0, 11, STD, o, 0, 0, 4, 0, 0, b, b, b, b, 0],
            Op::WriteBackup(o, b) => vec![
                0x90, 0x3D, 0, 0, 11, BACKUP, o, 0, 0, 4, 0, 0, b, b, b, b, 0,
            ],
            Op::Credit(n) => vec![0x90, 0x0C, 0, 0, 5, VALUE, n, 0, 0, 0, 0],
            Op::Debit(n) => vec![0x90, 0xDC, 0, 0, 5, VALUE, n, 0, 0, 0, 0],
            Op::WriteRecord(b) => vec![0x90, 0x3B, 0, 0, 9, RECORDS, 0, 0, 0, 2, 0, 0, b, b, 0],
            Op::Commit => vec![0x90, 0xC7, 0, 0, 0],
            Op::Abort => vec![0x90, 0xA7, 0, 0, 0],
            Op::Cut(_) => unreachable!(),
        };
        let mut rapdu = [0u8; 64];
        let n = card.process(&apdu, &mut rapdu);
        assert_eq!(n, 2, "no data expected");
        assert_eq!(rapdu[0], 0x91);
        Status(rapdu[1])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        #[test]
        fn power_cuts_leave_the_state_before_or_after(ops in proptest::collection::vec(op(), 1..40)) {
            let (mut card, mut m) = setup();
            let mut cut = None;
            let mut cuts = 0;
            for op in &ops {
                if let Op::Cut(n) = op {
                    cut = Some(u64::from(*n));
                    continue;
                }
                if let Some(n) = cut.take() {
                    card.nvm_mut().cut_after(n);
                }
                let before = m.committed.clone();
                let expected = apply(&mut m, op);
                let status = send(&mut card, op);
                if card.nvm().is_cut() {
                    cuts += 1;
                    prop_assert_eq!(status, Status::MEMORY_ERROR);
                    let (mut nvm, rng) = std::mem::replace(&mut card, new_card()).into_parts();
                    nvm.power_on();
                    *card = Card::open(nvm, rng, CardConfig::default()).unwrap();
                    let got = read(&mut card);
                    prop_assert!(got == before || got == m.committed, "{:?} torn: {:?} vs before {:?} / after {:?}", op, got, before, m.committed);
                    m = Model::at(got);
                } else {
                    card.nvm_mut().power_on();
                    prop_assert_eq!(status, expected, "{:?}", op);
                }
            }
            prop_assert!(card.image_matches());
            card.activate();
            prop_assert_eq!(read(&mut card), m.committed);
            let _ = cuts;
        }
    }

    /// A commit of a backup write, a credit and a new record, cut after every N NVM writes.
    #[test]
    fn commit_cut_after_every_write() {
        let mut n = 0;
        loop {
            let (mut card, mut m) = setup();
            for op in [
                Op::WriteBackup(3, 0xAB),
                Op::Credit(7),
                Op::WriteRecord(0x5C),
                Op::WriteStd(0, 1),
            ] {
                assert_eq!(send(&mut card, &op), apply(&mut m, &op));
            }
            let before = m.committed.clone();
            apply(&mut m, &Op::Commit);
            card.nvm_mut().cut_after(n);
            let status = send(&mut card, &Op::Commit);
            if !card.nvm().is_cut() {
                assert_eq!(status, Status::OPERATION_OK);
                assert_eq!(read(&mut card), m.committed);
                assert!(n > 4, "the commit took {n} writes");
                break;
            }
            let (mut nvm, rng) = std::mem::replace(&mut card, new_card()).into_parts();
            nvm.power_on();
            let mut card = Box::new(Card::open(nvm, rng, CardConfig::default()).unwrap());
            let got = read(&mut card);
            assert!(
                got == before || got == m.committed,
                "cut after {n}: {got:?}"
            );
            n += 1;
        }
    }
}

// Stable-toolchain twin of fuzz/fuzz_targets/picc_apdus.rs: random APDU sequences (biased to
// native commands the card knows) never panic and never let the NVM image diverge.
mod random_apdus {
    use proptest::prelude::*;

    fn apdu() -> impl Strategy<Value = Vec<u8>> {
        let ins = prop_oneof![
            Just(0x71u8),
            Just(0xAF),
            Just(0x5A),
            Just(0xCA),
            Just(0xCD),
            Just(0xCB),
            Just(0xCC),
            Just(0xC0),
            Just(0x3D),
            Just(0xBD),
            Just(0x0C),
            Just(0xDC),
            Just(0x3B),
            Just(0xBB),
            Just(0xC7),
            Just(0xA7),
            Just(0xDF),
            Just(0xDA),
            Just(0xFC),
            Just(0x5F),
            Just(0xC4),
            any::<u8>()
        ];
        (
            prop_oneof![Just(0x90u8), Just(0x90), Just(0x00), any::<u8>()],
            ins,
            proptest::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(cla, ins, data)| {
                let mut a = vec![cla, ins, 0, 0];
                if !data.is_empty() {
                    a.push(data.len() as u8);
                    a.extend(&data);
                }
                a.push(0);
                a
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn never_panics_never_diverges(seq in proptest::collection::vec(apdu(), 1..30)) {
            let (mut card, _) = super::model::setup();
            let mut r = [0u8; 300];
            for a in &seq {
                let n = card.process(a, &mut r);
                // A native frame (first byte neither `90` nor `00`) is answered with a status
                // byte first; a wrapped one ends in a status word.
                let native = !matches!(a.first(), Some(0x90 | 0x00));
                let least = if native { 1 } else { 2 };
                prop_assert!(n >= least);
                prop_assert!(card.image_matches());
            }
        }
    }
}
