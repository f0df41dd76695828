//! The command headers of the file data commands: a repr the reader emits and the card parses,
//! so both read the same layout (MF3D(H)x3 ReadData, WriteData, ReadRecords, WriteRecord,
//! UpdateRecord; NT4H2421Gx §10.8).
//!
//! The length field's offset is the command table's [`super::CommandSpec::length_at`]: the card
//! reads it there to know how long a chained write is.

/// `FileNo Offset(3) Length(3)`: ReadData, WriteData, WriteRecord, and ReadRecords (where the
/// offset is the first record and the length the record count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DataHeader {
    /// File number, as sent (the card answers a number it does not hold with FILE_NOT_FOUND).
    pub file: u8,
    /// Byte offset (ReadRecords: the first record, counted from the newest).
    pub offset: super::U24,
    /// Byte length, 0 for "to the end" on reads (ReadRecords: the record count).
    pub length: super::U24,
}

impl DataHeader {
    /// Header length.
    pub const LEN: usize = 7;
    /// Offset of the length field ([`super::CommandSpec::length_at`]).
    pub const LENGTH_AT: u8 = 4;

    /// From the seven header bytes.
    pub const fn from_wire(b: [u8; 7]) -> Self {
        let [file, o0, o1, o2, l0, l1, l2] = b;
        Self {
            file,
            offset: super::U24::from_wire([o0, o1, o2]),
            length: super::U24::from_wire([l0, l1, l2]),
        }
    }

    /// The seven header bytes.
    pub const fn to_wire(self) -> [u8; 7] {
        let [o0, o1, o2] = self.offset.to_wire();
        let [l0, l1, l2] = self.length.to_wire();
        [self.file, o0, o1, o2, l0, l1, l2]
    }
}

/// `FileNo RecNo(3) Offset(3) Length(3)`: UpdateRecord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RecordHeader {
    /// File number, as sent.
    pub file: u8,
    /// The record, counted from the newest.
    pub record: super::U24,
    /// Byte offset within the record.
    pub offset: super::U24,
    /// Byte length.
    pub length: super::U24,
}

impl RecordHeader {
    /// Header length.
    pub const LEN: usize = 10;
    /// Offset of the length field ([`super::CommandSpec::length_at`]).
    pub const LENGTH_AT: u8 = 7;

    /// From the ten header bytes.
    pub const fn from_wire(b: [u8; 10]) -> Self {
        let [file, r0, r1, r2, o0, o1, o2, l0, l1, l2] = b;
        Self {
            file,
            record: super::U24::from_wire([r0, r1, r2]),
            offset: super::U24::from_wire([o0, o1, o2]),
            length: super::U24::from_wire([l0, l1, l2]),
        }
    }

    /// The ten header bytes.
    pub const fn to_wire(self) -> [u8; 10] {
        let [r0, r1, r2] = self.record.to_wire();
        let [o0, o1, o2] = self.offset.to_wire();
        let [l0, l1, l2] = self.length.to_wire();
        [self.file, r0, r1, r2, o0, o1, o2, l0, l1, l2]
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CommandSpec, Ins, U24};
    use super::*;
    use hex_literal::hex;

    #[test]
    fn round_trips() {
        // AN12196 Rev. 1.8 Table 18: WriteData header of file 02, offset 0, 128 bytes.
        let bytes = hex!("02 000000 800000");
        let h = DataHeader::from_wire(bytes);
        assert_eq!(
            (h.file, h.offset, h.length.value()),
            (2, U24::default(), 0x80)
        );
        assert_eq!(h.to_wire(), bytes);
        // Spec section 12 step 9: ReadData of file 01, offset 0, 160 bytes.
        let bytes = hex!("01 000000 A00000");
        assert_eq!(DataHeader::from_wire(bytes).to_wire(), bytes);
        // UpdateRecord of our own: file 03, record 1, offset 2, 5 bytes.
        let bytes = hex!("03 010000 020000 050000");
        let r = RecordHeader::from_wire(bytes);
        assert_eq!(
            (r.record.value(), r.offset.value(), r.length.value()),
            (1, 2, 5)
        );
        assert_eq!(r.to_wire(), bytes);
    }

    #[test]
    fn the_table_reads_the_length_where_the_headers_put_it() {
        for ins in [Ins::WRITE_DATA, Ins::WRITE_DATA_ISO, Ins::WRITE_RECORD] {
            let spec = CommandSpec::lookup(ins).unwrap();
            assert_eq!(spec.length_at, Some(DataHeader::LENGTH_AT));
            assert_eq!(usize::from(spec.header_len), DataHeader::LEN);
        }
        let update = CommandSpec::lookup(Ins::UPDATE_RECORD_ISO).unwrap();
        assert_eq!(update.length_at, Some(RecordHeader::LENGTH_AT));
        assert_eq!(usize::from(update.header_len), RecordHeader::LEN);
        for ins in [Ins::READ_DATA, Ins::READ_RECORDS_ISO] {
            let spec = CommandSpec::lookup(ins).unwrap();
            assert_eq!(usize::from(spec.header_len), DataHeader::LEN);
        }
    }
}
