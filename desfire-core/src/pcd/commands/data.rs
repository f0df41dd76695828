//! Data manipulation: ReadData, WriteData, GetValue, Credit, Debit, LimitedCredit,
//! ReadRecords, WriteRecord, UpdateRecord, ClearRecordFile, CommitTransaction,
//! AbortTransaction (MF3D(H)x3 "Data manipulation commands"; NT4H2421Gx §10.8).
//!
//! File access travels in the file's comm mode, which the caller passes (from
//! GetFileSettings, or from how the file was created). When the access right used is free
//! (`E`) the card communicates Plain whatever the file's mode: pass [`CommMode::Plain`] then.
//! In Mac and Full mode the command is refused without a session.

use super::{Chaining, InvalidParameter, fixed, in_file_mode, inline, length24};
use crate::pcd::command::{Command, CommandData, Response};
use crate::wire::{CommMode, Error, FileNo, Ins, Reader, U24};

/// `ReadData` (`BD`, or `AD`): bytes of a standard or backup data file.
///
/// Header `FileNo Offset(3) Length(3)`; a length of 0 reads from the offset to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReadData {
    /// The file.
    pub file: FileNo,
    /// First byte to read.
    pub offset: U24,
    /// Bytes to read; 0 for "to the end of the file".
    pub length: U24,
    /// The file's comm mode.
    pub comm_mode: CommMode,
    /// Which command code.
    pub chaining: Chaining,
}

impl ReadData {
    /// Reads `length` bytes at `offset` with the native code.
    pub const fn new(file: FileNo, offset: U24, length: U24, comm_mode: CommMode) -> Self {
        Self {
            file,
            offset,
            length,
            comm_mode,
            chaining: Chaining::Native,
        }
    }

    /// The command.
    pub fn command(&self) -> Command<'static> {
        let [o0, o1, o2] = self.offset.to_wire();
        let [l0, l1, l2] = self.length.to_wire();
        let ins = self.chaining.pick(Ins::READ_DATA, Ins::READ_DATA_ISO);
        let header = [self.file.value(), o0, o1, o2, l0, l1, l2];
        in_file_mode(fixed(ins, header), self.comm_mode)
    }

    /// The bytes read. Unless the whole rest of the file was asked for, exactly `length`
    /// bytes must come back: fewer is [`Error::Truncated`], more [`Error::TrailingData`].
    pub fn parse<'a>(&self, resp: &Response<'a>) -> Result<&'a [u8], Error> {
        exact(resp.data(), self.length.value())
    }
}

/// `data` if it is `expected` bytes long (any length when `expected` is 0).
fn exact(data: &[u8], expected: u32) -> Result<&[u8], Error> {
    let expected = usize::try_from(expected).map_err(|_| Error::BadLength)?;
    match data.len() {
        _ if expected == 0 => Ok(data),
        n if n < expected => Err(Error::Truncated),
        n if n > expected => Err(Error::TrailingData),
        _ => Ok(data),
    }
}

/// `WriteData` (`3D`, or `8D`): bytes into a standard or backup data file.
///
/// Header `FileNo Offset(3) Length(3)`; data the bytes (encrypted in Full mode). AN12196
/// Table 18 writes an NDEF message this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WriteData<'a> {
    /// The file.
    pub file: FileNo,
    /// Where to write.
    pub offset: U24,
    /// What to write (1 byte to 16 MiB - 1).
    pub data: &'a [u8],
    /// The file's comm mode.
    pub comm_mode: CommMode,
    /// Which command code.
    pub chaining: Chaining,
}

/// WriteData and WriteRecord share one layout: `FileNo Offset(3) Length(3)` then the data.
fn write_at<'a>(
    ins: Ins,
    file: FileNo,
    offset: U24,
    data: &'a [u8],
    comm_mode: CommMode,
) -> Result<Command<'a>, InvalidParameter> {
    let [o0, o1, o2] = offset.to_wire();
    let [l0, l1, l2] = length24(data.len())?.to_wire();
    let header = [file.value(), o0, o1, o2, l0, l1, l2];
    let cmd = fixed(ins, header).with_data(CommandData::Borrowed(data));
    Ok(in_file_mode(cmd, comm_mode))
}

impl<'a> WriteData<'a> {
    /// Writes `data` at `offset` with the native code.
    pub const fn new(file: FileNo, offset: U24, data: &'a [u8], comm_mode: CommMode) -> Self {
        Self {
            file,
            offset,
            data,
            comm_mode,
            chaining: Chaining::Native,
        }
    }

    /// The command; empty data is refused.
    pub fn command(&self) -> Result<Command<'a>, InvalidParameter> {
        let ins = self.chaining.pick(Ins::WRITE_DATA, Ins::WRITE_DATA_ISO);
        write_at(ins, self.file, self.offset, self.data, self.comm_mode)
    }
}

/// `GetValue` (`6C`): the value of a value file, in the file's comm mode.
pub fn get_value(file: FileNo, comm_mode: CommMode) -> Command<'static> {
    in_file_mode(fixed(Ins::GET_VALUE, [file.value()]), comm_mode)
}

/// The value of a value file (4 bytes, little endian, signed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FileValue(pub i32);

impl FileValue {
    /// Parses the GetValue response.
    pub fn parse(resp: &Response<'_>) -> Result<Self, Error> {
        let mut r = Reader::new(resp.data());
        let v = r.i32_le()?;
        r.finish()?;
        Ok(Self(v))
    }
}

impl core::fmt::Display for FileValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "value {}", self.0)
    }
}

/// The three value-changing commands. Each takes effect at CommitTransaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ValueOperation {
    /// `Credit` (`0C`): adds, up to the upper limit. Needs the read-write key.
    Credit,
    /// `Debit` (`DC`): subtracts, down to the lower limit.
    Debit,
    /// `LimitedCredit` (`1C`): adds back at most what was debited since the last full credit.
    LimitedCredit,
}

impl ValueOperation {
    /// The command code.
    pub const fn ins(self) -> Ins {
        match self {
            Self::Credit => Ins::CREDIT,
            Self::Debit => Ins::DEBIT,
            Self::LimitedCredit => Ins::LIMITED_CREDIT,
        }
    }
}

impl core::fmt::Display for ValueOperation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Credit => "Credit",
            Self::Debit => "Debit",
            Self::LimitedCredit => "LimitedCredit",
        })
    }
}

/// Credit, Debit or LimitedCredit of `amount` (non-negative; the operation gives the sign).
///
/// Header `FileNo`; data the amount, 4 bytes little endian (encrypted in Full mode).
pub fn value_operation(
    op: ValueOperation,
    file: FileNo,
    amount: i32,
    comm_mode: CommMode,
) -> Result<Command<'static>, InvalidParameter> {
    if amount < 0 {
        return Err(InvalidParameter::NegativeAmount);
    }
    let cmd = fixed(op.ins(), [file.value()]).with_data(inline(amount.to_le_bytes()));
    Ok(in_file_mode(cmd, comm_mode))
}

/// `Credit` (`0C`); see [`value_operation`].
pub fn credit(
    file: FileNo,
    amount: i32,
    comm_mode: CommMode,
) -> Result<Command<'static>, InvalidParameter> {
    value_operation(ValueOperation::Credit, file, amount, comm_mode)
}

/// `Debit` (`DC`); see [`value_operation`].
pub fn debit(
    file: FileNo,
    amount: i32,
    comm_mode: CommMode,
) -> Result<Command<'static>, InvalidParameter> {
    value_operation(ValueOperation::Debit, file, amount, comm_mode)
}

/// `LimitedCredit` (`1C`); see [`value_operation`].
pub fn limited_credit(
    file: FileNo,
    amount: i32,
    comm_mode: CommMode,
) -> Result<Command<'static>, InvalidParameter> {
    value_operation(ValueOperation::LimitedCredit, file, amount, comm_mode)
}

/// `ReadRecords` (`BB`, or `AB`): records of a linear or cyclic record file, oldest first.
///
/// Header `FileNo RecNo(3) RecCount(3)`: `RecNo` counts back from the newest record (0 is the
/// newest), `RecCount` 0 reads every record from there back to the oldest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReadRecords {
    /// The file.
    pub file: FileNo,
    /// The newest record to read, counted back from the newest (0).
    pub record: U24,
    /// How many records; 0 for all.
    pub count: U24,
    /// The file's comm mode.
    pub comm_mode: CommMode,
    /// Which command code.
    pub chaining: Chaining,
}

impl ReadRecords {
    /// Reads `count` records from `record` back, with the native code.
    pub const fn new(file: FileNo, record: U24, count: U24, comm_mode: CommMode) -> Self {
        Self {
            file,
            record,
            count,
            comm_mode,
            chaining: Chaining::Native,
        }
    }

    /// The command.
    pub fn command(&self) -> Command<'static> {
        let [r0, r1, r2] = self.record.to_wire();
        let [c0, c1, c2] = self.count.to_wire();
        let ins = self.chaining.pick(Ins::READ_RECORDS, Ins::READ_RECORDS_ISO);
        let header = [self.file.value(), r0, r1, r2, c0, c1, c2];
        in_file_mode(fixed(ins, header), self.comm_mode)
    }

    /// The records read, of `record_size` bytes each (from GetFileSettings).
    ///
    /// A length that is not a whole number of records is [`Error::BadLength`]; with a non-zero
    /// count, fewer records than asked for is [`Error::Truncated`], more
    /// [`Error::TrailingData`]. A record size of 0 is [`Error::BadValue`].
    pub fn parse<'a>(&self, resp: &Response<'a>, record_size: U24) -> Result<Records<'a>, Error> {
        let size = usize::try_from(record_size.value()).map_err(|_| Error::BadValue)?;
        if size == 0 {
            return Err(Error::BadValue);
        }
        let data = resp.data();
        if !data.len().is_multiple_of(size) {
            return Err(Error::BadLength);
        }
        let expected = self
            .count
            .value()
            .checked_mul(record_size.value())
            .ok_or(Error::BadLength)?;
        Ok(Records {
            data: exact(data, expected)?,
            size,
        })
    }
}

/// Records of equal size, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Records<'a> {
    data: &'a [u8],
    size: usize,
}

impl<'a> Records<'a> {
    /// The records.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.data.chunks_exact(self.size.max(1))
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.size).unwrap_or(0)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// All records, concatenated.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.data
    }
}

impl core::fmt::Display for Records<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} records of {} bytes", self.len(), self.size)
    }
}

/// `WriteRecord` (`3B`, or `8B`): bytes into the record being written (a new one after each
/// CommitTransaction).
///
/// Header `FileNo Offset(3) Length(3)`; data the bytes (encrypted in Full mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WriteRecord<'a> {
    /// The file.
    pub file: FileNo,
    /// Offset within the record.
    pub offset: U24,
    /// What to write (at least 1 byte).
    pub data: &'a [u8],
    /// The file's comm mode.
    pub comm_mode: CommMode,
    /// Which command code.
    pub chaining: Chaining,
}

impl<'a> WriteRecord<'a> {
    /// Writes `data` at `offset` of the new record, with the native code.
    pub const fn new(file: FileNo, offset: U24, data: &'a [u8], comm_mode: CommMode) -> Self {
        Self {
            file,
            offset,
            data,
            comm_mode,
            chaining: Chaining::Native,
        }
    }

    /// The command; empty data is refused.
    pub fn command(&self) -> Result<Command<'a>, InvalidParameter> {
        let ins = self.chaining.pick(Ins::WRITE_RECORD, Ins::WRITE_RECORD_ISO);
        write_at(ins, self.file, self.offset, self.data, self.comm_mode)
    }
}

/// `UpdateRecord` (`DB`, or `BA`; EV2 and later): bytes into an existing record.
///
/// Header `FileNo RecNo(3) Offset(3) Length(3)`; data the bytes (encrypted in Full mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UpdateRecord<'a> {
    /// The file.
    pub file: FileNo,
    /// The record, counted back from the newest (0).
    pub record: U24,
    /// Offset within the record.
    pub offset: U24,
    /// What to write (at least 1 byte).
    pub data: &'a [u8],
    /// The file's comm mode.
    pub comm_mode: CommMode,
    /// Which command code.
    pub chaining: Chaining,
}

impl<'a> UpdateRecord<'a> {
    /// Writes `data` at `offset` of `record`, with the native code.
    pub const fn new(
        file: FileNo,
        record: U24,
        offset: U24,
        data: &'a [u8],
        comm_mode: CommMode,
    ) -> Self {
        Self {
            file,
            record,
            offset,
            data,
            comm_mode,
            chaining: Chaining::Native,
        }
    }

    /// The command; empty data is refused.
    pub fn command(&self) -> Result<Command<'a>, InvalidParameter> {
        let [r0, r1, r2] = self.record.to_wire();
        let [o0, o1, o2] = self.offset.to_wire();
        let [l0, l1, l2] = length24(self.data.len())?.to_wire();
        let ins = self
            .chaining
            .pick(Ins::UPDATE_RECORD, Ins::UPDATE_RECORD_ISO);
        let header = [self.file.value(), r0, r1, r2, o0, o1, o2, l0, l1, l2];
        let cmd = fixed(ins, header).with_data(CommandData::Borrowed(self.data));
        Ok(in_file_mode(cmd, self.comm_mode))
    }
}

/// `ClearRecordFile` (`EB`): empties a record file at CommitTransaction. MACed when
/// authenticated.
pub fn clear_record_file(file: FileNo) -> Command<'static> {
    fixed(Ins::CLEAR_RECORD_FILE, [file.value()])
}

/// `CommitTransaction` (`C7`): makes every change to backup, value and record files of the
/// transaction permanent. MACed when authenticated.
pub fn commit_transaction() -> Command<'static> {
    fixed(Ins::COMMIT_TRANSACTION, [])
}

/// `CommitTransaction` (`C7`) with option `01`: also returns the Transaction MAC counter and
/// value of an application with a Transaction MAC file ([`TransactionMacValue`]).
pub fn commit_transaction_returning_tmac() -> Command<'static> {
    fixed(Ins::COMMIT_TRANSACTION, [0x01])
}

/// `TMC || TMV` from CommitTransaction with option `01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TransactionMacValue {
    /// Transaction MAC counter (4 bytes, little endian).
    pub counter: u32,
    /// Transaction MAC value.
    pub value: [u8; 8],
}

impl TransactionMacValue {
    /// Parses the response: 12 bytes.
    pub fn parse(resp: &Response<'_>) -> Result<Self, Error> {
        let mut r = Reader::new(resp.data());
        let counter = u32::from_le_bytes(r.array()?);
        let value = r.array()?;
        r.finish()?;
        Ok(Self { counter, value })
    }
}

impl core::fmt::Display for TransactionMacValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "TMC {} TMV {}", self.counter, super::Hex(&self.value))
    }
}

/// `AbortTransaction` (`A7`): drops every uncommitted change. MACed when authenticated.
pub fn abort_transaction() -> Command<'static> {
    fixed(Ins::ABORT_TRANSACTION, [])
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{response, show};
    use super::*;
    use crate::pcd::CommandMode;
    use crate::wire::emit_capdu;
    use hex_literal::hex;

    fn file(n: u8) -> FileNo {
        FileNo::new(n).unwrap()
    }

    fn u24(v: u32) -> U24 {
        U24::new(v).unwrap()
    }

    #[test]
    fn read_data_codes_and_modes() {
        let read = ReadData::new(file(1), u24(0), u24(0x14), CommMode::Full);
        let cmd = read.command();
        assert_eq!(cmd.ins, Ins::READ_DATA);
        assert_eq!(&cmd.header[..], hex!("01 000000 140000"));
        assert_eq!(cmd.mode, CommandMode::Full);
        assert!(cmd.needs_session && !cmd.ends_session);

        let iso = ReadData {
            chaining: Chaining::Iso,
            comm_mode: CommMode::Plain,
            ..ReadData::new(file(2), u24(0x20), u24(0), CommMode::Plain)
        }
        .command();
        assert_eq!(iso.ins, Ins::READ_DATA_ISO);
        assert_eq!(iso.mode, CommandMode::Plain);
        assert!(!iso.needs_session);
        let mut apdu = [0u8; 16];
        let n = emit_capdu(iso.ins, &iso.header, &mut apdu).unwrap();
        assert_eq!(&apdu[..n], hex!("90AD00000702200000000000 00"));

        let mac = ReadData::new(file(3), u24(0x010203), u24(0x0A0B0C), CommMode::Mac).command();
        assert_eq!(&mac.header[..], hex!("03 030201 0C0B0A"));
        assert_eq!(mac.mode, CommandMode::Mac);
        assert!(mac.needs_session);
    }

    #[test]
    fn read_data_parse() {
        let read = ReadData::new(file(1), u24(0), u24(4), CommMode::Plain);
        let data = hex!("0102030405");
        assert_eq!(read.parse(&response(&data[..4])), Ok(&data[..4]));
        assert_eq!(read.parse(&response(&data[..3])), Err(Error::Truncated));
        assert_eq!(read.parse(&response(&data)), Err(Error::TrailingData));
        let to_end = ReadData::new(file(1), u24(2), u24(0), CommMode::Plain);
        assert_eq!(to_end.parse(&response(&data)), Ok(&data[..]));
        assert_eq!(to_end.parse(&response(&[])), Ok(&[][..]));
    }

    /// AN12196 Rev. 1.8 §6.8.2 Table 18: WriteData `8D`, file 02, offset 0, 128 bytes, Full.
    #[test]
    fn write_data_an12196_t18_header() {
        let ndef = [0x5Au8; 128];
        let cmd = WriteData {
            chaining: Chaining::Iso,
            ..WriteData::new(file(2), u24(0), &ndef, CommMode::Full)
        }
        .command()
        .unwrap();
        assert_eq!(cmd.ins, Ins::WRITE_DATA_ISO);
        assert_eq!(&cmd.header[..], hex!("02000000800000"));
        assert_eq!(cmd.data.as_bytes(), ndef);
        assert!(matches!(cmd.data, CommandData::Borrowed(_)));
        assert_eq!(cmd.mode, CommandMode::Full);
        assert!(cmd.needs_session);
    }

    #[test]
    fn write_data_plain_capdu() {
        let cmd = WriteData::new(file(1), u24(0x10), &hex!("AABBCC"), CommMode::Plain)
            .command()
            .unwrap();
        assert_eq!(cmd.ins, Ins::WRITE_DATA);
        assert_eq!(&cmd.header[..], hex!("01 100000 030000"));
        assert!(!cmd.needs_session);
        let mut apdu = [0u8; 32];
        let n = emit_capdu(cmd.ins, &hex!("01 100000 030000 AABBCC"), &mut apdu).unwrap();
        assert_eq!(&apdu[..n], hex!("903D00000A01100000030000AABBCC00"));
        assert_eq!(
            WriteData::new(file(1), u24(0), &[], CommMode::Plain)
                .command()
                .err(),
            Some(InvalidParameter::Zero)
        );
    }

    #[test]
    fn get_value_and_parse() {
        let cmd = get_value(file(4), CommMode::Mac);
        assert_eq!(cmd.ins, Ins::GET_VALUE);
        assert_eq!(&cmd.header[..], [0x04]);
        assert_eq!(cmd.mode, CommandMode::Mac);
        assert!(cmd.needs_session);
        let plain = get_value(file(4), CommMode::Plain);
        assert!(!plain.needs_session && plain.mode == CommandMode::Plain);

        assert_eq!(
            FileValue::parse(&response(&hex!("E8030000"))),
            Ok(FileValue(1000))
        );
        let neg = FileValue::parse(&response(&hex!("9CFFFFFF"))).unwrap();
        assert_eq!(neg, FileValue(-100));
        assert_eq!(show(&neg), "value -100");
        assert_eq!(
            FileValue::parse(&response(&hex!("E80300"))),
            Err(Error::Truncated)
        );
        assert_eq!(
            FileValue::parse(&response(&hex!("E803000000"))),
            Err(Error::TrailingData)
        );
    }

    #[test]
    fn value_operations() {
        let c = credit(file(4), 1000, CommMode::Full).unwrap();
        assert_eq!(c.ins, Ins::CREDIT);
        assert_eq!(&c.header[..], [0x04]);
        assert_eq!(c.data.as_bytes(), hex!("E8030000"));
        assert_eq!(c.mode, CommandMode::Full);
        assert!(c.needs_session);
        let d = debit(file(4), 0x01020304, CommMode::Plain).unwrap();
        assert_eq!(d.ins, Ins::DEBIT);
        assert_eq!(d.data.as_bytes(), hex!("04030201"));
        assert!(!d.needs_session);
        let mut apdu = [0u8; 16];
        let n = emit_capdu(d.ins, &hex!("04 04030201"), &mut apdu).unwrap();
        assert_eq!(&apdu[..n], hex!("90DC0000050404030201 00"));
        let l = limited_credit(file(4), 0, CommMode::Mac).unwrap();
        assert_eq!(l.ins, Ins::LIMITED_CREDIT);
        assert_eq!(l.data.as_bytes(), hex!("00000000"));
        assert_eq!(l.mode, CommandMode::Mac);
        assert_eq!(
            credit(file(4), i32::MAX, CommMode::Plain)
                .unwrap()
                .data
                .as_bytes(),
            hex!("FFFFFF7F")
        );
        for (op, ins, name) in [
            (ValueOperation::Credit, Ins::CREDIT, "Credit"),
            (ValueOperation::Debit, Ins::DEBIT, "Debit"),
            (
                ValueOperation::LimitedCredit,
                Ins::LIMITED_CREDIT,
                "LimitedCredit",
            ),
        ] {
            assert_eq!(op.ins(), ins);
            assert_eq!(
                value_operation(op, file(4), 1, CommMode::Plain)
                    .unwrap()
                    .ins,
                op.ins()
            );
            assert_eq!(show(&op), name);
            assert_eq!(
                value_operation(op, file(4), -1, CommMode::Plain).err(),
                Some(InvalidParameter::NegativeAmount)
            );
        }
    }

    #[test]
    fn read_records_codes_and_parse() {
        let rr = ReadRecords::new(file(5), u24(0), u24(2), CommMode::Mac);
        let cmd = rr.command();
        assert_eq!(cmd.ins, Ins::READ_RECORDS);
        assert_eq!(&cmd.header[..], hex!("05 000000 020000"));
        assert!(cmd.needs_session);
        let iso = ReadRecords {
            chaining: Chaining::Iso,
            ..ReadRecords::new(file(5), u24(1), u24(0), CommMode::Plain)
        }
        .command();
        assert_eq!(iso.ins, Ins::READ_RECORDS_ISO);
        assert_eq!(&iso.header[..], hex!("05 010000 000000"));

        let data = hex!("01020304 05060708 090A0B0C");
        let records = rr.parse(&response(&data[..8]), u24(4)).unwrap();
        assert_eq!(records.len(), 2);
        let mut it = records.iter();
        assert_eq!(it.next(), Some(&data[..4]));
        assert_eq!(it.next(), Some(&data[4..8]));
        assert_eq!(it.next(), None);
        assert_eq!(records.as_bytes(), &data[..8]);
        assert_eq!(show(&records), "2 records of 4 bytes");
        assert_eq!(
            rr.parse(&response(&data[..4]), u24(4)),
            Err(Error::Truncated)
        );
        assert_eq!(rr.parse(&response(&data), u24(4)), Err(Error::TrailingData));
        assert_eq!(
            rr.parse(&response(&data[..7]), u24(4)),
            Err(Error::BadLength)
        );
        assert_eq!(rr.parse(&response(&data), u24(0)), Err(Error::BadValue));
        let all = ReadRecords::new(file(5), u24(0), u24(0), CommMode::Plain);
        assert_eq!(all.parse(&response(&data), u24(4)).unwrap().len(), 3);
        assert!(all.parse(&response(&[]), u24(4)).unwrap().is_empty());
    }

    #[test]
    fn write_and_update_records() {
        let w = WriteRecord::new(file(6), u24(2), &hex!("CAFE"), CommMode::Full)
            .command()
            .unwrap();
        assert_eq!(w.ins, Ins::WRITE_RECORD);
        assert_eq!(&w.header[..], hex!("06 020000 020000"));
        assert_eq!(w.data.as_bytes(), hex!("CAFE"));
        assert!(w.needs_session && w.mode == CommandMode::Full);
        let wi = WriteRecord {
            chaining: Chaining::Iso,
            ..WriteRecord::new(file(6), u24(0), &hex!("01"), CommMode::Plain)
        }
        .command()
        .unwrap();
        assert_eq!(wi.ins, Ins::WRITE_RECORD_ISO);
        assert_eq!(
            WriteRecord::new(file(6), u24(0), &[], CommMode::Plain)
                .command()
                .err(),
            Some(InvalidParameter::Zero)
        );

        let u = UpdateRecord::new(file(6), u24(1), u24(3), &hex!("BEEF00"), CommMode::Mac)
            .command()
            .unwrap();
        assert_eq!(u.ins, Ins::UPDATE_RECORD);
        assert_eq!(&u.header[..], hex!("06 010000 030000 030000"));
        assert_eq!(u.data.as_bytes(), hex!("BEEF00"));
        assert!(u.needs_session && u.mode == CommandMode::Mac);
        let ui = UpdateRecord {
            chaining: Chaining::Iso,
            ..UpdateRecord::new(file(6), u24(0), u24(0), &hex!("01"), CommMode::Plain)
        }
        .command()
        .unwrap();
        assert_eq!(ui.ins, Ins::UPDATE_RECORD_ISO);
        assert!(!ui.needs_session);
        assert_eq!(
            UpdateRecord::new(file(6), u24(0), u24(0), &[], CommMode::Plain)
                .command()
                .err(),
            Some(InvalidParameter::Zero)
        );
    }

    #[test]
    fn transactions() {
        let clear = clear_record_file(file(6));
        assert_eq!(clear.ins, Ins::CLEAR_RECORD_FILE);
        assert_eq!(&clear.header[..], [0x06]);
        assert_eq!(clear.mode, CommandMode::Mac);
        let commit = commit_transaction();
        assert_eq!(commit.ins, Ins::COMMIT_TRANSACTION);
        assert!(commit.header.is_empty());
        assert_eq!(commit.mode, CommandMode::Mac);
        let mut apdu = [0u8; 8];
        let n = emit_capdu(commit.ins, &commit.header, &mut apdu).unwrap();
        assert_eq!(&apdu[..n], hex!("90C7000000"));
        let tmac = commit_transaction_returning_tmac();
        assert_eq!(&tmac.header[..], [0x01]);
        let n = emit_capdu(tmac.ins, &tmac.header, &mut apdu).unwrap();
        assert_eq!(&apdu[..n], hex!("90C70000010100"));
        let abort = abort_transaction();
        assert_eq!(
            (abort.ins, abort.mode),
            (Ins::ABORT_TRANSACTION, CommandMode::Mac)
        );
        assert!(abort.header.is_empty());

        let data = hex!("05000000 0102030405060708");
        let v = TransactionMacValue::parse(&response(&data)).unwrap();
        assert_eq!(v.counter, 5);
        assert_eq!(v.value, hex!("0102030405060708"));
        assert_eq!(show(&v), "TMC 5 TMV 0102030405060708");
        assert_eq!(
            TransactionMacValue::parse(&response(&data[..11])),
            Err(Error::Truncated)
        );
        let mut long = [0u8; 13];
        long[..12].copy_from_slice(&data);
        assert_eq!(
            TransactionMacValue::parse(&response(&long)),
            Err(Error::TrailingData)
        );
    }
}
