//! File management: GetFileIDs, GetISOFileIDs, GetFileSettings, ChangeFileSettings, the five
//! Create*File commands and DeleteFile (MF3D(H)x3 "Application level commands";
//! NT4H2421Gx §10.7).

use super::application::reject_reserved_fid;
use super::{Hex, InvalidParameter, Rights, fixed, inline, with_header};
use crate::pcd::command::{Command, CommandMode, MAX_HEADER, Response};
use crate::wire::{
    AccessRights, CommMode, Error, FileKind, FileNo, FileSettings, FileType, Ins, U24, Writer,
};

/// Most files an application holds (file numbers 0 to 31).
const MAX_FILES: usize = 32;

/// Most additional access rights that ChangeFileSettings sets: with the primary set, up to
/// eight access conditions per file (EV2 and later).
pub const MAX_ADDITIONAL_ACCESS_RIGHTS: usize = 7;

/// `GetFileIDs` (`6F`): the file numbers of the selected application. MACed when
/// authenticated.
pub fn get_file_ids() -> Command<'static> {
    fixed(Ins::GET_FILE_IDS, [])
}

/// The GetFileIDs response: one byte per file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FileIds(heapless::Vec<FileNo, MAX_FILES>);

impl FileIds {
    /// Parses the response. A number above 31 or a repeated number is [`Error::BadValue`];
    /// more than 32 numbers cannot be distinct, so they are a repeat.
    pub fn parse(resp: &Response<'_>) -> Result<Self, Error> {
        let mut ids = heapless::Vec::new();
        for b in resp.data() {
            let file = FileNo::new(*b).ok_or(Error::BadValue)?;
            if ids.contains(&file) {
                return Err(Error::BadValue);
            }
            ids.push(file).map_err(|_| Error::BadValue)?;
        }
        Ok(Self(ids))
    }

    /// The file numbers, in card order.
    pub fn as_slice(&self) -> &[FileNo] {
        &self.0
    }

    /// Whether `file` exists.
    pub fn contains(&self, file: FileNo) -> bool {
        self.0.contains(&file)
    }
}

impl core::fmt::Display for FileIds {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no files");
        }
        for (i, file) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{file}")?;
        }
        Ok(())
    }
}

/// `GetISOFileIDs` (`61`): the ISO file identifiers of the selected application's files.
/// MACed when authenticated.
pub fn get_iso_file_ids() -> Command<'static> {
    fixed(Ins::GET_ISO_FILE_IDS, [])
}

/// The GetISOFileIDs response: two bytes per file, LSB first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IsoFileIds<'a>(&'a [u8]);

impl<'a> IsoFileIds<'a> {
    /// Parses the response.
    pub fn parse(resp: &Response<'a>) -> Result<Self, Error> {
        let data = resp.data();
        if data.as_chunks::<2>().1.is_empty() {
            Ok(Self(data))
        } else {
            Err(Error::BadLength)
        }
    }

    /// The identifiers, in card order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + 'a {
        self.0
            .as_chunks::<2>()
            .0
            .iter()
            .map(|c| u16::from_le_bytes(*c))
    }

    /// How many files have an ISO identifier.
    pub const fn len(&self) -> usize {
        self.0.len() / 2
    }

    /// Whether none has.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl core::fmt::Display for IsoFileIds<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.is_empty() {
            return f.write_str("no ISO file identifiers");
        }
        for (i, fid) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{fid:04X}")?;
        }
        Ok(())
    }
}

/// `GetFileSettings` (`F5`). MACed when authenticated (AN12196 Table 8).
pub fn get_file_settings(file: FileNo) -> Command<'static> {
    fixed(Ins::GET_FILE_SETTINGS, [file.value()])
}

impl<'a> FileSettings<'a> {
    /// Parses the GetFileSettings response ([`FileSettings::decode`] of its verified data).
    ///
    /// [`Error::BadValue`]: an unknown file type, a value file whose lower limit is above its
    /// upper limit, or a record file with more records than it can hold.
    pub fn parse(resp: &Response<'a>) -> Result<Self, Error> {
        Self::decode(resp.data())
    }
}

fn file_type_name(t: FileType) -> &'static str {
    match t {
        FileType::StdData => "standard data file",
        FileType::BackupData => "backup data file",
        FileType::Value => "value file",
        FileType::LinearRecord => "linear record file",
        FileType::CyclicRecord => "cyclic record file",
        FileType::TransactionMac => "transaction MAC file",
    }
}

impl core::fmt::Display for FileSettings<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{}, comm mode {}, {}",
            file_type_name(self.file_type),
            self.comm_mode(),
            Rights(self.access_rights)
        )?;
        match self.kind {
            FileKind::Data { size } => write!(f, ", {} bytes", size.value())?,
            FileKind::Value {
                lower_limit,
                upper_limit,
                limited_credit_value,
                limited_credit_enabled,
                free_get_value,
            } => {
                write!(f, ", limits {lower_limit}..={upper_limit}")?;
                if limited_credit_enabled {
                    write!(f, ", limited credit {limited_credit_value}")?;
                }
                if free_get_value {
                    f.write_str(", free GetValue")?;
                }
            }
            FileKind::Record {
                record_size,
                max_records,
                current_records,
            } => write!(
                f,
                ", {}/{} records of {} bytes",
                current_records.value(),
                max_records.value(),
                record_size.value()
            )?,
            FileKind::TransactionMac { raw } => write!(f, ", {}", Hex(raw))?,
        }
        for (i, rights) in self.additional_access_rights.iter().enumerate() {
            write!(
                f,
                "; additional {}: {}",
                i.saturating_add(1),
                Rights(rights)
            )?;
        }
        match self.sdm {
            Some(sdm) => write!(f, "; SDM {}", Hex(sdm)),
            None => Ok(()),
        }
    }
}

/// `ChangeFileSettings` (`5F`): new comm mode and access rights of a file.
///
/// Header `FileNo`; data `FileOption AccessRights(2) [NrAddARs AddARs(2 each)]`. Sent in Full
/// mode and refused without a session, unless the file's change right is free (`E`): then the
/// card takes it Plain and the caller sets [`Self::mode`] to [`CommandMode::Plain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChangeFileSettings<'r> {
    /// The file.
    pub file: FileNo,
    /// Its new comm mode.
    pub comm_mode: CommMode,
    /// Its new access rights.
    pub access_rights: AccessRights,
    /// Additional access rights, up to [`MAX_ADDITIONAL_ACCESS_RIGHTS`].
    pub additional: &'r [AccessRights],
    /// How the command travels: [`CommandMode::Full`] unless the change right is free.
    pub mode: CommandMode,
}

impl<'r> ChangeFileSettings<'r> {
    /// New settings for `file`, sent in Full mode, without additional access rights.
    pub const fn new(file: FileNo, comm_mode: CommMode, access_rights: AccessRights) -> Self {
        Self {
            file,
            comm_mode,
            access_rights,
            additional: &[],
            mode: CommandMode::Full,
        }
    }

    /// The command.
    pub fn command(&self) -> Result<Command<'static>, InvalidParameter> {
        if self.additional.len() > MAX_ADDITIONAL_ACCESS_RIGHTS {
            return Err(InvalidParameter::TooManyAccessRights);
        }
        let rights = self.access_rights.to_wire();
        let mut option = self.comm_mode.bits();
        let count = if self.additional.is_empty() {
            None
        } else {
            option |= FileSettings::OPTION_ADDITIONAL_RIGHTS;
            u8::try_from(self.additional.len()).ok()
        };
        let additional = self.additional.iter().flat_map(|r| r.to_wire());
        let data = inline(
            [option]
                .into_iter()
                .chain(rights)
                .chain(count)
                .chain(additional),
        );
        let cmd = Command {
            mode: self.mode,
            ..fixed(Ins::CHANGE_FILE_SETTINGS, [self.file.value()])
        }
        .with_data(data);
        Ok(match self.mode {
            CommandMode::Plain => cmd,
            CommandMode::Mac | CommandMode::Full => cmd.requiring_session(),
        })
    }
}

/// `CreateStdDataFile` (`CD`) or `CreateBackupDataFile` (`CB`). MACed when authenticated.
///
/// Header: `FileNo [ISOFileID(2)] FileOption AccessRights(2) FileSize(3)`. The ISO file
/// identifier is given exactly when the application was created with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CreateDataFile {
    /// The new file's number.
    pub file: FileNo,
    /// Its ISO file identifier.
    pub iso_file_id: Option<u16>,
    /// Its comm mode.
    pub comm_mode: CommMode,
    /// Its access rights.
    pub access_rights: AccessRights,
    /// Its size in bytes (not zero).
    pub size: U24,
}

impl CreateDataFile {
    /// A standard data file.
    pub fn standard(&self) -> Result<Command<'static>, InvalidParameter> {
        self.command(Ins::CREATE_STD_DATA_FILE)
    }

    /// A backup data file: writes take effect on CommitTransaction.
    pub fn backup(&self) -> Result<Command<'static>, InvalidParameter> {
        self.command(Ins::CREATE_BACKUP_DATA_FILE)
    }

    fn command(&self, ins: Ins) -> Result<Command<'static>, InvalidParameter> {
        if self.size.value() == 0 {
            return Err(InvalidParameter::Zero);
        }
        let mut header = [0u8; MAX_HEADER];
        let mut w = Writer::new(&mut header);
        file_head(
            &mut w,
            self.file,
            self.iso_file_id,
            self.comm_mode,
            self.access_rights,
        )?;
        w.put(&self.size.to_wire())
            .map_err(|_| InvalidParameter::TooLong)?;
        with_header(ins, w.written())
    }
}

/// `FileNo [ISOFileID(2)] FileOption AccessRights(2)`, common to the Create*File headers.
fn file_head(
    w: &mut Writer<'_>,
    file: FileNo,
    iso_file_id: Option<u16>,
    comm_mode: CommMode,
    rights: AccessRights,
) -> Result<(), InvalidParameter> {
    let too_long = |_| InvalidParameter::TooLong;
    w.put_u8(file.value()).map_err(too_long)?;
    if let Some(fid) = iso_file_id {
        reject_reserved_fid(fid)?;
        w.put(&fid.to_le_bytes()).map_err(too_long)?;
    }
    w.put_u8(comm_mode.bits()).map_err(too_long)?;
    w.put(&rights.to_wire()).map_err(too_long)
}

/// `CreateValueFile` (`CC`). MACed when authenticated.
///
/// Header: `FileNo FileOption AccessRights(2) LowerLimit(4) UpperLimit(4) Value(4)
/// LimitedCreditEnabled(1)`, numbers little endian, signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CreateValueFile {
    /// The new file's number.
    pub file: FileNo,
    /// Its comm mode.
    pub comm_mode: CommMode,
    /// Its access rights.
    pub access_rights: AccessRights,
    /// Lowest value (at most `upper_limit`).
    pub lower_limit: i32,
    /// Highest value.
    pub upper_limit: i32,
    /// Initial value, within the limits.
    pub value: i32,
    /// Bit 0 of the last byte: LimitedCredit allowed.
    pub limited_credit: bool,
    /// Bit 1 of the last byte: GetValue without authentication.
    pub free_get_value: bool,
}

impl CreateValueFile {
    /// The command.
    pub fn command(&self) -> Result<Command<'static>, InvalidParameter> {
        if self.lower_limit > self.upper_limit
            || !(self.lower_limit..=self.upper_limit).contains(&self.value)
        {
            return Err(InvalidParameter::ValueLimits);
        }
        let mut header = [0u8; MAX_HEADER];
        let mut w = Writer::new(&mut header);
        file_head(&mut w, self.file, None, self.comm_mode, self.access_rights)?;
        let flags = u8::from(self.limited_credit) | (u8::from(self.free_get_value) << 1);
        let too_long = |_| InvalidParameter::TooLong;
        w.put(&self.lower_limit.to_le_bytes()).map_err(too_long)?;
        w.put(&self.upper_limit.to_le_bytes()).map_err(too_long)?;
        w.put(&self.value.to_le_bytes()).map_err(too_long)?;
        w.put_u8(flags).map_err(too_long)?;
        with_header(Ins::CREATE_VALUE_FILE, w.written())
    }
}

/// `CreateLinearRecordFile` (`C1`) or `CreateCyclicRecordFile` (`C0`). MACed when
/// authenticated.
///
/// Header: `FileNo [ISOFileID(2)] FileOption AccessRights(2) RecordSize(3) MaxNoOfRecords(3)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CreateRecordFile {
    /// The new file's number.
    pub file: FileNo,
    /// Its ISO file identifier (exactly when the application has one).
    pub iso_file_id: Option<u16>,
    /// Its comm mode.
    pub comm_mode: CommMode,
    /// Its access rights.
    pub access_rights: AccessRights,
    /// Size of one record (not zero).
    pub record_size: U24,
    /// Records the file holds (at least 1; at least 2 for a cyclic file).
    pub max_records: U24,
}

impl CreateRecordFile {
    /// A linear record file: full when `max_records` are written.
    pub fn linear(&self) -> Result<Command<'static>, InvalidParameter> {
        self.command(Ins::CREATE_LINEAR_RECORD_FILE, 1)
    }

    /// A cyclic record file: the oldest record is overwritten; one record is always kept free
    /// for the next write, so it needs two at least.
    pub fn cyclic(&self) -> Result<Command<'static>, InvalidParameter> {
        self.command(Ins::CREATE_CYCLIC_RECORD_FILE, 2)
    }

    fn command(&self, ins: Ins, min_records: u32) -> Result<Command<'static>, InvalidParameter> {
        if self.record_size.value() == 0 || self.max_records.value() == 0 {
            return Err(InvalidParameter::Zero);
        }
        if self.max_records.value() < min_records {
            return Err(InvalidParameter::CyclicRecordCount);
        }
        let mut header = [0u8; MAX_HEADER];
        let mut w = Writer::new(&mut header);
        file_head(
            &mut w,
            self.file,
            self.iso_file_id,
            self.comm_mode,
            self.access_rights,
        )?;
        let too_long = |_| InvalidParameter::TooLong;
        w.put(&self.record_size.to_wire()).map_err(too_long)?;
        w.put(&self.max_records.to_wire()).map_err(too_long)?;
        with_header(ins, w.written())
    }
}

/// `DeleteFile` (`DF`). MACed when authenticated.
pub fn delete_file(file: FileNo) -> Command<'static> {
    fixed(Ins::DELETE_FILE, [file.value()])
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{response, show};
    use super::*;
    use crate::wire::{Access, KeyNo, emit_capdu};
    use hex_literal::hex;

    fn file(n: u8) -> FileNo {
        FileNo::new(n).unwrap()
    }

    fn u24(v: u32) -> U24 {
        U24::new(v).unwrap()
    }

    /// Read key 1, write key 2, read-write key 3, change key 0: wire `30 12`.
    const RIGHTS: AccessRights = AccessRights {
        read: Access::Key(KeyNo::new(1).unwrap()),
        write: Access::Key(KeyNo::new(2).unwrap()),
        read_write: Access::Key(KeyNo::new(3).unwrap()),
        change: Access::Key(KeyNo::new(0).unwrap()),
    };

    #[test]
    fn file_ids() {
        let cmd = get_file_ids();
        assert_eq!((cmd.ins, cmd.mode), (Ins::GET_FILE_IDS, CommandMode::Mac));
        assert!(cmd.header.is_empty());
        let ids = FileIds::parse(&response(&hex!("00 01 1F"))).unwrap();
        assert_eq!(ids.as_slice(), [file(0), file(1), file(31)]);
        assert!(ids.contains(file(31)) && !ids.contains(file(2)));
        assert_eq!(show(&ids), "00 01 1F");
        assert_eq!(show(&FileIds::parse(&response(&[])).unwrap()), "no files");
        let all: [u8; 32] = core::array::from_fn(|i| i as u8);
        assert_eq!(
            FileIds::parse(&response(&all)).unwrap().as_slice().len(),
            32
        );
        assert_eq!(
            FileIds::parse(&response(&hex!("00 20"))),
            Err(Error::BadValue)
        );
        assert_eq!(
            FileIds::parse(&response(&hex!("01 02 01"))),
            Err(Error::BadValue)
        );
    }

    #[test]
    fn iso_file_ids() {
        let cmd = get_iso_file_ids();
        assert_eq!(
            (cmd.ins, cmd.mode),
            (Ins::GET_ISO_FILE_IDS, CommandMode::Mac)
        );
        let data = hex!("03E1 04E1");
        let resp = response(&data);
        let ids = IsoFileIds::parse(&resp).unwrap();
        assert_eq!(ids.len(), 2);
        let mut it = ids.iter();
        assert_eq!(
            (it.next(), it.next(), it.next()),
            (Some(0xE103), Some(0xE104), None)
        );
        assert_eq!(show(&ids), "E103 E104");
        assert!(IsoFileIds::parse(&response(&[])).unwrap().is_empty());
        assert_eq!(
            IsoFileIds::parse(&response(&data[..3])),
            Err(Error::BadLength)
        );
    }

    /// AN12196 Rev. 1.8 §5.3 Table 8 (EV2-MAC-GETFILESETTINGS-AN12196-T8): file 02 of an
    /// NTAG 424 DNA, with Secure Dynamic Messaging on.
    const AN12196_T8: [u8; 25] = hex!("0040EEEE000100D1FE001F00004400004400002000006A0000");

    #[test]
    fn get_file_settings_an12196_t8() {
        let cmd = get_file_settings(file(2));
        assert_eq!(cmd.ins, Ins::GET_FILE_SETTINGS);
        assert_eq!(&cmd.header[..], [0x02]);
        assert_eq!(cmd.mode, CommandMode::Mac);
        assert!(!cmd.needs_session);
        let mut apdu = [0u8; 8];
        let n = emit_capdu(cmd.ins, &cmd.header, &mut apdu).unwrap();
        assert_eq!(&apdu[..n], hex!("90F50000010200"));

        let s = FileSettings::parse(&response(&AN12196_T8)).unwrap();
        assert_eq!(s.file_type, FileType::StdData);
        assert_eq!(s.option, 0x40);
        assert_eq!(s.comm_mode(), CommMode::Plain);
        let free = AccessRights {
            read: Access::Free,
            write: Access::Free,
            read_write: Access::Free,
            change: Access::Free,
        };
        assert_eq!(s.access_rights, free);
        assert_eq!(s.kind, FileKind::Data { size: u24(0x100) });
        assert!(s.additional_access_rights.is_empty());
        assert_eq!(
            s.sdm,
            Some(&hex!("D1FE001F00004400004400002000006A0000")[..])
        );
        assert_eq!(
            show(&s),
            "standard data file, comm mode plain, read free, write free, read-write free, \
             change free, 256 bytes; SDM D1FE001F00004400004400002000006A0000"
        );
    }

    #[test]
    fn get_file_settings_by_type() {
        let backup = FileSettings::parse(&response(&hex!("01 03 3012 200000"))).unwrap();
        assert_eq!(backup.file_type, FileType::BackupData);
        assert_eq!(backup.comm_mode(), CommMode::Full);
        assert_eq!(backup.access_rights, RIGHTS);
        assert_eq!(backup.kind, FileKind::Data { size: u24(32) });
        assert_eq!(backup.sdm, None);

        let value =
            FileSettings::parse(&response(&hex!("02 01 3012 9CFFFFFF E8030000 0A000000 03")))
                .unwrap();
        assert_eq!(value.comm_mode(), CommMode::Mac);
        assert_eq!(
            value.kind,
            FileKind::Value {
                lower_limit: -100,
                upper_limit: 1000,
                limited_credit_value: 10,
                limited_credit_enabled: true,
                free_get_value: true,
            }
        );
        assert_eq!(
            show(&value),
            "value file, comm mode mac, read key 1, write key 2, read-write key 3, change key 0, \
             limits -100..=1000, limited credit 10, free GetValue"
        );

        let cyclic =
            FileSettings::parse(&response(&hex!("04 00 3012 100000 050000 020000"))).unwrap();
        assert_eq!(cyclic.file_type, FileType::CyclicRecord);
        assert_eq!(
            cyclic.kind,
            FileKind::Record {
                record_size: u24(16),
                max_records: u24(5),
                current_records: u24(2),
            }
        );
        assert!(show(&cyclic).ends_with(", 2/5 records of 16 bytes"));
        let linear =
            FileSettings::parse(&response(&hex!("03 00 3012 100000 050000 050000"))).unwrap();
        assert_eq!(linear.file_type, FileType::LinearRecord);

        let tmac = FileSettings::parse(&response(&hex!("05 00 3012 02 00"))).unwrap();
        assert_eq!(tmac.kind, FileKind::TransactionMac { raw: &[0x02, 0x00] });
        assert!(show(&tmac).ends_with(", 0200"));
    }

    #[test]
    fn get_file_settings_with_additional_access_rights() {
        // Option 0x83: Full, two additional sets (E1 23 and 45 F6), then nothing.
        let data = hex!("00 83 3012 400000 02 E123 45F6");
        let s = FileSettings::parse(&response(&data)).unwrap();
        assert_eq!(s.comm_mode(), CommMode::Full);
        assert_eq!(s.kind, FileKind::Data { size: u24(64) });
        assert_eq!(s.additional_access_rights.len(), 2);
        let extra: heapless::Vec<AccessRights, 4> = s.additional_access_rights.iter().collect();
        assert_eq!(extra[0], AccessRights::from_wire([0xE1, 0x23]));
        assert_eq!(
            (extra[1].read, extra[1].write),
            (Access::Never, Access::Key(KeyNo::new(6).unwrap()))
        );
        assert_eq!(
            (extra[1].read_write, extra[1].change),
            (
                Access::Key(KeyNo::new(4).unwrap()),
                Access::Key(KeyNo::new(5).unwrap())
            )
        );
        assert!(
            show(&s).ends_with(
                "; additional 2: read never, write key 6, read-write key 4, change key 5"
            )
        );
        assert_eq!(
            FileSettings::parse(&response(&data[..data.len() - 1])),
            Err(Error::Truncated)
        );
        // Additional rights and SDM together: the rights first.
        let both =
            FileSettings::parse(&response(&hex!("00 C0 EEEE 000100 01 E123 01 EE EE"))).unwrap();
        assert_eq!(both.additional_access_rights.len(), 1);
        assert_eq!(both.sdm, Some(&hex!("01EEEE")[..]));
    }

    #[test]
    fn get_file_settings_errors() {
        for n in 0..AN12196_T8.len().min(7) {
            assert_eq!(
                FileSettings::parse(&response(&AN12196_T8[..n])),
                Err(Error::Truncated),
                "{n}"
            );
        }
        // SDM settings shorter than SDMOptions + SDMAccessRights.
        assert_eq!(
            FileSettings::parse(&response(&AN12196_T8[..9])),
            Err(Error::Truncated)
        );
        assert_eq!(
            FileSettings::parse(&response(&hex!("00 00 EEEE 000100 00"))),
            Err(Error::TrailingData)
        );
        assert_eq!(
            FileSettings::parse(&response(&hex!("06 00 EEEE 000100"))),
            Err(Error::BadValue)
        );
        // Lower limit 10 above upper limit 5.
        assert_eq!(
            FileSettings::parse(&response(&hex!("02 00 EEEE 0A000000 05000000 00000000 00"))),
            Err(Error::BadValue)
        );
        // 6 records in a file of 5.
        assert_eq!(
            FileSettings::parse(&response(&hex!("03 00 EEEE 100000 050000 060000"))),
            Err(Error::BadValue)
        );
        assert_eq!(
            FileSettings::parse(&response(&hex!("03 00 EEEE 100000 050000 0500"))),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn change_file_settings_data() {
        let cmd = ChangeFileSettings::new(file(1), CommMode::Full, RIGHTS)
            .command()
            .unwrap();
        assert_eq!(cmd.ins, Ins::CHANGE_FILE_SETTINGS);
        assert_eq!(&cmd.header[..], [0x01]);
        assert_eq!(cmd.data.as_bytes(), hex!("03 3012"));
        assert_eq!(cmd.mode, CommandMode::Full);
        assert!(cmd.needs_session);

        let extra = [
            AccessRights::from_wire([0xE1, 0x23]),
            AccessRights::from_wire([0x45, 0xF6]),
        ];
        let cmd = ChangeFileSettings {
            additional: &extra,
            ..ChangeFileSettings::new(file(1), CommMode::Mac, RIGHTS)
        }
        .command()
        .unwrap();
        assert_eq!(cmd.data.as_bytes(), hex!("81 3012 02 E123 45F6"));

        let free = ChangeFileSettings {
            mode: CommandMode::Plain,
            ..ChangeFileSettings::new(file(2), CommMode::Plain, RIGHTS)
        }
        .command()
        .unwrap();
        assert_eq!(free.mode, CommandMode::Plain);
        assert!(!free.needs_session);
        assert_eq!(
            (&free.header[..], free.data.as_bytes()),
            (&[0x02][..], &hex!("003012")[..])
        );
        let mut apdu = [0u8; 16];
        let n = emit_capdu(free.ins, &hex!("02 003012"), &mut apdu).unwrap();
        assert_eq!(&apdu[..n], hex!("905F00000402003012 00"));

        let seven = [RIGHTS; MAX_ADDITIONAL_ACCESS_RIGHTS];
        let cmd = ChangeFileSettings {
            additional: &seven,
            ..ChangeFileSettings::new(file(1), CommMode::Plain, RIGHTS)
        }
        .command()
        .unwrap();
        assert_eq!(
            cmd.data.as_bytes().len(),
            4 + 2 * MAX_ADDITIONAL_ACCESS_RIGHTS
        );
        let eight = [RIGHTS; MAX_ADDITIONAL_ACCESS_RIGHTS + 1];
        assert_eq!(
            ChangeFileSettings {
                additional: &eight,
                ..ChangeFileSettings::new(file(1), CommMode::Plain, RIGHTS)
            }
            .command()
            .unwrap_err(),
            InvalidParameter::TooManyAccessRights
        );
    }

    #[test]
    fn create_data_files() {
        let spec = CreateDataFile {
            file: file(1),
            iso_file_id: None,
            comm_mode: CommMode::Full,
            access_rights: RIGHTS,
            size: u24(0x000100),
        };
        let std = spec.standard().unwrap();
        assert_eq!(std.ins, Ins::CREATE_STD_DATA_FILE);
        assert_eq!(&std.header[..], hex!("01 03 3012 000100"));
        assert_eq!(std.mode, CommandMode::Mac);
        assert!(!std.needs_session);
        let mut apdu = [0u8; 16];
        let n = emit_capdu(std.ins, &std.header, &mut apdu).unwrap();
        assert_eq!(&apdu[..n], hex!("90CD0000070103301200010000"));

        let backup = CreateDataFile {
            iso_file_id: Some(0xE104),
            ..spec
        }
        .backup()
        .unwrap();
        assert_eq!(backup.ins, Ins::CREATE_BACKUP_DATA_FILE);
        assert_eq!(&backup.header[..], hex!("01 04E1 03 3012 000100"));

        assert_eq!(
            CreateDataFile {
                size: u24(0),
                ..spec
            }
            .standard()
            .err(),
            Some(InvalidParameter::Zero)
        );
        assert_eq!(
            CreateDataFile {
                iso_file_id: Some(0x3F00),
                ..spec
            }
            .standard()
            .err(),
            Some(InvalidParameter::ReservedFileId)
        );
    }

    #[test]
    fn create_value_file() {
        let spec = CreateValueFile {
            file: file(2),
            comm_mode: CommMode::Mac,
            access_rights: RIGHTS,
            lower_limit: -100,
            upper_limit: 1000,
            value: 10,
            limited_credit: true,
            free_get_value: false,
        };
        let cmd = spec.command().unwrap();
        assert_eq!(cmd.ins, Ins::CREATE_VALUE_FILE);
        assert_eq!(
            &cmd.header[..],
            hex!("02 01 3012 9CFFFFFF E8030000 0A000000 01")
        );
        assert_eq!(cmd.mode, CommandMode::Mac);
        let flags = CreateValueFile {
            limited_credit: false,
            free_get_value: true,
            ..spec
        }
        .command()
        .unwrap();
        assert_eq!(flags.header.last(), Some(&0x02));
        assert_eq!(
            CreateValueFile {
                lower_limit: 1001,
                ..spec
            }
            .command()
            .err(),
            Some(InvalidParameter::ValueLimits)
        );
        assert_eq!(
            CreateValueFile {
                value: -101,
                ..spec
            }
            .command()
            .err(),
            Some(InvalidParameter::ValueLimits)
        );
        assert_eq!(
            CreateValueFile {
                value: 1001,
                ..spec
            }
            .command()
            .err(),
            Some(InvalidParameter::ValueLimits)
        );
        let point = CreateValueFile {
            lower_limit: 5,
            upper_limit: 5,
            value: 5,
            ..spec
        };
        assert!(point.command().is_ok());
    }

    #[test]
    fn create_record_files() {
        let spec = CreateRecordFile {
            file: file(3),
            iso_file_id: None,
            comm_mode: CommMode::Plain,
            access_rights: RIGHTS,
            record_size: u24(16),
            max_records: u24(10),
        };
        let linear = spec.linear().unwrap();
        assert_eq!(linear.ins, Ins::CREATE_LINEAR_RECORD_FILE);
        assert_eq!(&linear.header[..], hex!("03 00 3012 100000 0A0000"));
        let cyclic = CreateRecordFile {
            iso_file_id: Some(0xE105),
            ..spec
        }
        .cyclic()
        .unwrap();
        assert_eq!(cyclic.ins, Ins::CREATE_CYCLIC_RECORD_FILE);
        assert_eq!(&cyclic.header[..], hex!("03 05E1 00 3012 100000 0A0000"));
        assert_eq!(cyclic.mode, CommandMode::Mac);

        let one = CreateRecordFile {
            max_records: u24(1),
            ..spec
        };
        assert!(one.linear().is_ok());
        assert_eq!(
            one.cyclic().err(),
            Some(InvalidParameter::CyclicRecordCount)
        );
        assert!(
            CreateRecordFile {
                max_records: u24(2),
                ..spec
            }
            .cyclic()
            .is_ok()
        );
        assert_eq!(
            CreateRecordFile {
                max_records: u24(0),
                ..spec
            }
            .linear()
            .err(),
            Some(InvalidParameter::Zero)
        );
        assert_eq!(
            CreateRecordFile {
                record_size: u24(0),
                ..spec
            }
            .cyclic()
            .err(),
            Some(InvalidParameter::Zero)
        );
    }

    #[test]
    fn delete_file_header() {
        let cmd = delete_file(file(31));
        assert_eq!(cmd.ins, Ins::DELETE_FILE);
        assert_eq!(&cmd.header[..], [0x1F]);
        assert_eq!(cmd.mode, CommandMode::Mac);
    }
}
