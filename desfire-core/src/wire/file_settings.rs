//! The settings of a file: the GetFileSettings response, a repr shared by the reader (which
//! parses it) and the card (which emits it). MF3D(H)x3 GetFileSettings; NT4H2421Gx §10.7.2.

use super::{AccessRights, CommMode, Error, FileType, Reader, U24, Writer};

/// What a file holds, by type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FileKind<'a> {
    /// Standard or backup data file.
    Data {
        /// File size in bytes.
        size: U24,
    },
    /// Value file.
    Value {
        /// Lowest value a Debit may reach.
        lower_limit: i32,
        /// Highest value a Credit may reach.
        upper_limit: i32,
        /// What LimitedCredit may still add.
        limited_credit_value: i32,
        /// Bit 0 of the last byte: LimitedCredit is enabled.
        limited_credit_enabled: bool,
        /// Bit 1 of the last byte: GetValue works without authentication.
        free_get_value: bool,
    },
    /// Linear or cyclic record file.
    Record {
        /// Size of one record.
        record_size: U24,
        /// Records the file can hold.
        max_records: U24,
        /// Records written so far.
        current_records: U24,
    },
    /// Transaction MAC file: everything after the access rights, as sent.
    TransactionMac {
        /// TMKeyOption, TMKeyVersion and, where present, TMCLimit.
        raw: &'a [u8],
    },
}

/// Additional access rights (EV2 and later): two bytes each, as [`AccessRights`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AdditionalAccessRights<'a>(pub(crate) &'a [u8]);

impl<'a> AdditionalAccessRights<'a> {
    /// The access right sets, in card order.
    pub fn iter(&self) -> impl Iterator<Item = AccessRights> + 'a {
        self.0
            .as_chunks::<2>()
            .0
            .iter()
            .map(|c| AccessRights::from_wire(*c))
    }

    /// How many.
    pub const fn len(&self) -> usize {
        self.0.len() / 2
    }

    /// Whether there are none.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The GetFileSettings response, parsed by the reader ([`Self::decode`]) and emitted by the card
/// ([`Self::emit`]).
///
/// `FileType FileOption AccessRights(2)`, then by type the size, the value limits or the record
/// geometry, then `NrAddARs AddARs(2 each)` when FileOption bit 7 is set, then the Secure
/// Dynamic Messaging settings when bit 6 is set (kept as sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FileSettings<'a> {
    /// File type.
    pub file_type: FileType,
    /// FileOption as sent: bits 1..0 comm mode, bit 6 SDM, bit 7 additional access rights.
    pub option: u8,
    /// The primary access rights.
    pub access_rights: AccessRights,
    /// Type-specific settings.
    pub kind: FileKind<'a>,
    /// Additional access rights (empty unless FileOption bit 7).
    pub additional_access_rights: AdditionalAccessRights<'a>,
    /// Secure Dynamic Messaging settings as sent (FileOption bit 6): SDMOptions,
    /// SDMAccessRights and the offsets they call for (NT4H2421Gx §10.7.2).
    pub sdm: Option<&'a [u8]>,
}

impl<'a> FileSettings<'a> {
    /// FileOption bit 7: additional access rights follow.
    pub const OPTION_ADDITIONAL_RIGHTS: u8 = 0x80;
    /// FileOption bit 6: Secure Dynamic Messaging settings follow.
    pub const OPTION_SDM: u8 = 0x40;

    /// Decodes the GetFileSettings response data.
    ///
    /// [`Error::BadValue`]: an unknown file type, a value file whose lower limit is above its
    /// upper limit, or a record file with more records than it can hold.
    pub fn decode(data: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(data);
        let file_type = FileType::from_byte(r.u8()?)?;
        let option = r.u8()?;
        let access_rights = AccessRights::from_wire(r.array()?);
        let kind = match file_type {
            FileType::StdData | FileType::BackupData => FileKind::Data {
                size: U24::from_wire(r.array()?),
            },
            FileType::Value => {
                let lower_limit = r.i32_le()?;
                let upper_limit = r.i32_le()?;
                let limited_credit_value = r.i32_le()?;
                let flags = r.u8()?;
                if lower_limit > upper_limit {
                    return Err(Error::BadValue);
                }
                FileKind::Value {
                    lower_limit,
                    upper_limit,
                    limited_credit_value,
                    limited_credit_enabled: flags & 0x01 != 0,
                    free_get_value: flags & 0x02 != 0,
                }
            }
            FileType::LinearRecord | FileType::CyclicRecord => {
                let record_size = U24::from_wire(r.array()?);
                let max_records = U24::from_wire(r.array()?);
                let current_records = U24::from_wire(r.array()?);
                if current_records > max_records {
                    return Err(Error::BadValue);
                }
                FileKind::Record {
                    record_size,
                    max_records,
                    current_records,
                }
            }
            FileType::TransactionMac => {
                return Ok(Self {
                    file_type,
                    option,
                    access_rights,
                    kind: FileKind::TransactionMac { raw: r.rest() },
                    additional_access_rights: AdditionalAccessRights::default(),
                    sdm: None,
                });
            }
        };
        let additional_access_rights = if option & Self::OPTION_ADDITIONAL_RIGHTS != 0 {
            let count = usize::from(r.u8()?);
            AdditionalAccessRights(r.take(count.saturating_mul(2))?)
        } else {
            AdditionalAccessRights::default()
        };
        let sdm = if option & Self::OPTION_SDM != 0 {
            // At least SDMOptions and SDMAccessRights.
            let rest = r.rest();
            if rest.len() < 3 {
                return Err(Error::Truncated);
            }
            Some(rest)
        } else {
            r.finish()?;
            None
        };
        Ok(Self {
            file_type,
            option,
            access_rights,
            kind,
            additional_access_rights,
            sdm,
        })
    }

    /// Length of the encoding.
    pub fn buffer_len(&self) -> usize {
        let kind = match self.kind {
            FileKind::Data { .. } => 3,
            FileKind::Value { .. } => 13,
            FileKind::Record { .. } => 9,
            FileKind::TransactionMac { raw } => raw.len(),
        };
        let additional = if self.option & Self::OPTION_ADDITIONAL_RIGHTS != 0
            && !matches!(self.kind, FileKind::TransactionMac { .. })
        {
            1usize.saturating_add(self.additional_access_rights.0.len())
        } else {
            0
        };
        4usize
            .saturating_add(kind)
            .saturating_add(additional)
            .saturating_add(self.sdm.map_or(0, <[u8]>::len))
    }

    /// Emits the GetFileSettings response data: the inverse of [`Self::decode`].
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.put(&[self.file_type.byte(), self.option])?;
        w.put(&self.access_rights.to_wire())?;
        match self.kind {
            FileKind::Data { size } => w.put(&size.to_wire())?,
            FileKind::Value {
                lower_limit,
                upper_limit,
                limited_credit_value,
                limited_credit_enabled,
                free_get_value,
            } => {
                w.put(&lower_limit.to_le_bytes())?;
                w.put(&upper_limit.to_le_bytes())?;
                w.put(&limited_credit_value.to_le_bytes())?;
                w.put_u8(u8::from(limited_credit_enabled) | (u8::from(free_get_value) << 1))?;
            }
            FileKind::Record {
                record_size,
                max_records,
                current_records,
            } => {
                w.put(&record_size.to_wire())?;
                w.put(&max_records.to_wire())?;
                w.put(&current_records.to_wire())?;
            }
            FileKind::TransactionMac { raw } => return w.put(raw),
        }
        if self.option & Self::OPTION_ADDITIONAL_RIGHTS != 0 {
            let rights = self.additional_access_rights.0;
            w.put_u8(u8::try_from(rights.len() / 2).map_err(|_| Error::BadLength)?)?;
            w.put(rights)?;
        }
        if let Some(sdm) = self.sdm {
            w.put(sdm)?;
        }
        Ok(())
    }

    /// The file's comm mode (FileOption bits 1..0).
    pub const fn comm_mode(&self) -> CommMode {
        CommMode::from_bits(self.option)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn round_trip(bytes: &[u8]) {
        let s = FileSettings::decode(bytes).unwrap();
        let mut buf = [0u8; 64];
        let mut w = Writer::new(&mut buf);
        s.emit(&mut w).unwrap();
        assert_eq!(w.written(), bytes, "emit(decode(bytes)) == bytes");
        assert_eq!(s.buffer_len(), bytes.len());
        assert_eq!(
            FileSettings::decode(w.written()).unwrap(),
            s,
            "decode(emit(x)) == x"
        );
    }

    #[test]
    fn published_and_own_vectors_round_trip() {
        // AN12196 Rev. 1.8 Table 8: GetFileSettings of file 02 (standard data file, Plain, all
        // rights free, 256 bytes, SDM settings).
        round_trip(&hex!("0040EEEE000100D1FE001F00004400004400002000006A0000"));
        // A standard data file without SDM (our own).
        round_trip(&hex!("0000E0EE000100"));
        // Value file, limits -10..=1000, limited credit 5 enabled, free GetValue (our own).
        round_trip(&hex!("0203 0012 F6FFFFFF E8030000 05000000 03"));
        // Cyclic record file, 16-byte records, 5 max, 2 written, one additional right set.
        round_trip(&hex!("0481 1023 100000 050000 020000 01 3412"));
        // Backup data file with SDM settings kept as sent.
        round_trip(&hex!("0140 EEEE 200000 C1 F121 2000"));
        // Transaction MAC file: everything after the rights as sent.
        round_trip(&hex!("0500 F0FF 02 00"));
    }

    #[test]
    fn emit_needs_room() {
        let s = FileSettings::decode(&hex!("0000E0EE000100")).unwrap();
        let mut buf = [0u8; 6];
        assert_eq!(
            s.emit(&mut Writer::new(&mut buf)),
            Err(Error::BufferTooSmall)
        );
    }
}
