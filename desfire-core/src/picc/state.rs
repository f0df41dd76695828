//! The card's persistent state: PICC settings, applications, keys, files and the data arena.
//!
//! Everything here survives a power cut (it mirrors the NVM image, see [`super::image`]); what
//! does not (session, selection, pending transaction) lives in [`super::Card`].

use crate::crypto::AesKey;
use crate::wire::{
    self, AccessRights, AdditionalAccessRights, Aid, CommMode, FileSettings, FileType, KeySettings,
    Status, U24,
};

/// The memory budget of the card: file data and the memory accounted for applications and file
/// headers (decision record 0003). An 8 KB EV3.
pub const MEMORY: usize = 8192;
/// Most applications on the virtual card (an EV3 is limited by memory only; a bound is needed
/// without a heap). One more is refused with `COUNT_ERROR`.
pub const MAX_APPS: usize = 28;
/// Most files over all applications; more are refused with `OUT_OF_EEPROM`.
pub const MAX_FILES: usize = 64;
/// Keys per application.
pub const MAX_KEYS: usize = 14;
/// Longest DF name.
pub const MAX_DF_NAME: usize = 16;
/// Longest ATS SetConfiguration option 02 accepts.
pub const MAX_ATS: usize = 20;

/// Accounting unit of the memory budget: every allocation is rounded up to 32 bytes.
pub const BLOCK: usize = 32;

/// PICC configuration bit 0: FormatPICC disabled.
pub const CONFIG_FORMAT_DISABLED: u8 = 0x01;
/// PICC configuration bit 1: random UID at anticollision.
pub const CONFIG_RANDOM_ID: u8 = 0x02;

/// An AES key and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySlot {
    /// The key.
    pub key: AesKey,
    /// Its version byte.
    pub version: u8,
}

impl KeySlot {
    /// The all-zero key, version 0.
    pub const fn zero() -> Self {
        Self {
            key: AesKey::zero(),
            version: 0,
        }
    }
}

/// How ReadSig answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Originality {
    /// Sign the UID with this secp224r1 private scalar (big-endian). The default is
    /// [`crate::crypto::originality::TEST_SECRET`], a labelled test key.
    Key([u8; 28]),
    /// Answer this signature as is (e.g. copied from a card image).
    Signature([u8; 56]),
}

/// One application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Its AID (never `000000`).
    pub aid: Aid,
    /// KeySett1.
    pub settings: KeySettings,
    /// Number of keys, 1 to 14.
    pub key_count: u8,
    /// Keys 0 to `key_count - 1`; the rest unused.
    pub keys: [KeySlot; MAX_KEYS],
    /// ISO/IEC 7816-4 file identifier of the DF.
    pub iso_fid: Option<u16>,
    /// DF name, empty when the application has none.
    pub df_name: heapless::Vec<u8, MAX_DF_NAME>,
}

impl App {
    /// KeySett2 as GetKeySettings reports it: AES, ISO flag, key count.
    pub fn key_sett2(&self) -> u8 {
        let iso = if self.iso_fid.is_some() { 0x20 } else { 0 };
        0x80 | iso | (self.key_count & 0x0F)
    }

    /// A key of this application.
    pub fn key(&self, no: u8) -> Option<&KeySlot> {
        if no < self.key_count {
            self.keys.get(usize::from(no))
        } else {
            None
        }
    }
}

/// What a file holds. Offsets are into [`State::arena`]; backup and record files own two
/// regions (committed and shadow), `active` says which one is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Standard (`backup == false`) or backup data file.
    Data {
        /// Backup file: transactional, two regions.
        backup: bool,
        /// File size.
        size: u32,
        /// Arena offset of region 0.
        offset: u32,
        /// Committed region (0 or 1) of a backup file.
        active: u8,
    },
    /// Value file.
    Value {
        /// Lower limit.
        lower: i32,
        /// Upper limit.
        upper: i32,
        /// Committed value.
        value: i32,
        /// What LimitedCredit may add now.
        limited_value: i32,
        /// LimitedCredit enabled.
        limited_enabled: bool,
        /// GetValue free whatever the access rights.
        free_get: bool,
    },
    /// Linear or cyclic record file; records stored oldest first.
    Record {
        /// Cyclic: the oldest record is overwritten when full.
        cyclic: bool,
        /// Record size.
        size: u32,
        /// Maximum number of records (a cyclic file keeps one free: `max - 1` valid records).
        max: u32,
        /// Committed number of records.
        count: u32,
        /// Arena offset of region 0.
        offset: u32,
        /// Committed region.
        active: u8,
    },
}

impl FileKind {
    /// The file type byte of GetFileSettings.
    pub fn type_byte(&self) -> u8 {
        match self {
            Self::Data { backup: false, .. } => 0,
            Self::Data { backup: true, .. } => 1,
            Self::Value { .. } => 2,
            Self::Record { cyclic: false, .. } => 3,
            Self::Record { cyclic: true, .. } => 4,
        }
    }

    /// Whether changes wait for CommitTransaction.
    pub fn is_transactional(&self) -> bool {
        !matches!(self, Self::Data { backup: false, .. })
    }
}

/// One file of one application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct File {
    /// The application it belongs to.
    pub aid: Aid,
    /// File number, 0 to 31.
    pub no: u8,
    /// ISO/IEC 7816-4 file identifier.
    pub iso_fid: Option<u16>,
    /// Communication mode.
    pub comm: CommMode,
    /// Access rights.
    pub rights: AccessRights,
    /// Type and contents.
    pub kind: FileKind,
}

impl File {
    /// The file's settings as GetFileSettings reports them (no additional access rights, no
    /// SDM: the card does not model them).
    pub fn settings(&self) -> FileSettings<'static> {
        let u24 = |v: u32| U24::new(v).unwrap_or_default();
        let (file_type, kind) = match self.kind {
            FileKind::Data { backup, size, .. } => (
                if backup {
                    FileType::BackupData
                } else {
                    FileType::StdData
                },
                wire::FileKind::Data { size: u24(size) },
            ),
            FileKind::Value {
                lower,
                upper,
                limited_value,
                limited_enabled,
                free_get,
                ..
            } => (
                FileType::Value,
                wire::FileKind::Value {
                    lower_limit: lower,
                    upper_limit: upper,
                    limited_credit_value: limited_value,
                    limited_credit_enabled: limited_enabled,
                    free_get_value: free_get,
                },
            ),
            FileKind::Record {
                cyclic,
                size,
                max,
                count,
                ..
            } => (
                if cyclic {
                    FileType::CyclicRecord
                } else {
                    FileType::LinearRecord
                },
                wire::FileKind::Record {
                    record_size: u24(size),
                    max_records: u24(max),
                    current_records: u24(count),
                },
            ),
        };
        FileSettings {
            file_type,
            option: self.comm.bits(),
            access_rights: self.rights,
            kind,
            additional_access_rights: AdditionalAccessRights::default(),
            sdm: None,
        }
    }
}

/// The persistent state of the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// The 7-byte UID (GetCardUID, ReadSig, anticollision without random ID).
    pub uid: [u8; 7],
    /// SetConfiguration option 00 bits ([`CONFIG_FORMAT_DISABLED`], [`CONFIG_RANDOM_ID`]).
    pub config: u8,
    /// PICC master key.
    pub picc_key: KeySlot,
    /// PICC KeySett1.
    pub picc_settings: KeySettings,
    /// Key given to the keys of a new application (SetConfiguration option 01).
    pub default_key: KeySlot,
    /// ATS (SetConfiguration option 02); empty for the default ATS.
    pub ats: heapless::Vec<u8, MAX_ATS>,
    /// Bytes of the budget used; only FormatPICC gives memory back.
    pub used: u32,
    /// How ReadSig answers.
    pub originality: Originality,
    /// Applications in creation order.
    pub apps: heapless::Vec<App, MAX_APPS>,
    /// Files of all applications in creation order.
    pub files: heapless::Vec<File, MAX_FILES>,
    /// File contents.
    pub arena: [u8; MEMORY],
}

impl State {
    /// A card in delivery state: zero PICC master key, settings `0F`, no applications.
    pub fn factory(uid: [u8; 7]) -> Self {
        Self {
            uid,
            config: 0,
            picc_key: KeySlot::zero(),
            picc_settings: KeySettings::DEFAULT,
            default_key: KeySlot::zero(),
            ats: heapless::Vec::new(),
            used: 0,
            originality: Originality::Key(crate::crypto::originality::TEST_SECRET),
            apps: heapless::Vec::new(),
            files: heapless::Vec::new(),
            arena: [0; MEMORY],
        }
    }

    /// Index of an application.
    pub fn app_index(&self, aid: Aid) -> Option<usize> {
        self.apps.iter().position(|a| a.aid == aid)
    }

    /// Index of a file of an application.
    pub fn file_index(&self, aid: Aid, no: u8) -> Option<usize> {
        self.files.iter().position(|f| f.aid == aid && f.no == no)
    }

    /// Free memory.
    pub fn free_memory(&self) -> u32 {
        u32::try_from(MEMORY)
            .unwrap_or(u32::MAX)
            .saturating_sub(self.used)
    }

    /// Takes `cost` bytes (rounded up to [`BLOCK`]) of the budget; returns where they start.
    pub fn allocate(&mut self, cost: u64) -> Result<u32, Status> {
        const MASK: u64 = BLOCK as u64 - 1;
        let rounded = cost
            .checked_add(MASK)
            .map(|c| c & !MASK)
            .ok_or(Status::OUT_OF_EEPROM)?;
        let start = self.used;
        let end = u64::from(start)
            .checked_add(rounded)
            .filter(|e| *e <= MEMORY as u64)
            .ok_or(Status::OUT_OF_EEPROM)?;
        self.used = u32::try_from(end).map_err(|_| Status::OUT_OF_EEPROM)?;
        Ok(start)
    }

    /// Adds an application as CreateApplication does, after the command's wire checks: its keys
    /// get the default key ([`State::default_key`]), its memory ([`app_cost`]) is taken from the
    /// budget. The one place that decides whether an application fits, so a card built by
    /// commands and one loaded from a card image lay out memory identically.
    pub fn add_application(
        &mut self,
        aid: Aid,
        settings: KeySettings,
        key_count: u8,
        iso_fid: Option<u16>,
        df_name: &[u8],
    ) -> Result<&mut App, Status> {
        if aid == Aid::PICC || !(1..=MAX_KEYS as u8).contains(&key_count) {
            return Err(Status::PARAMETER_ERROR);
        }
        if iso_fid.is_some_and(reserved_fid) {
            return Err(Status::PARAMETER_ERROR);
        }
        let df_name: heapless::Vec<u8, MAX_DF_NAME> =
            heapless::Vec::from_slice(df_name).map_err(|_| Status::LENGTH_ERROR)?;
        if self.app_index(aid).is_some()
            || (iso_fid.is_some() && self.apps.iter().any(|a| a.iso_fid == iso_fid))
            || (!df_name.is_empty() && self.apps.iter().any(|a| a.df_name == df_name))
        {
            return Err(Status::DUPLICATE_ERROR);
        }
        if self.apps.is_full() {
            return Err(Status::COUNT_ERROR);
        }
        self.allocate(app_cost(key_count))?;
        let default = &self.default_key;
        let app = App {
            aid,
            settings,
            key_count,
            keys: core::array::from_fn(|_| default.clone()),
            iso_fid,
            df_name,
        };
        self.apps.push(app).map_err(|_| Status::COUNT_ERROR)?;
        self.apps.last_mut().ok_or(Status::COUNT_ERROR)
    }

    /// Adds a file to its application as the Create*File commands do, after their wire checks:
    /// checks `file` against the card's rules, takes its header and data regions from the
    /// budget and places it there (the arena offset, committed region 0). The data reads as
    /// fresh memory: zeros. Record counts and value fields are kept as given (a new file has
    /// no records and no LimitedCredit), so a card image can load them; the caller fills the
    /// regions. Returns the file as placed.
    pub fn add_file(&mut self, file: File) -> Result<File, Status> {
        if file.no >= 32 {
            return Err(Status::PARAMETER_ERROR);
        }
        let app = self
            .app_index(file.aid)
            .and_then(|i| self.apps.get(i))
            .ok_or(Status::APPLICATION_NOT_FOUND)?;
        if let Some(fid) = file.iso_fid
            && (app.iso_fid.is_none() || reserved_fid(fid))
        {
            return Err(Status::PARAMETER_ERROR);
        }
        if self.file_index(file.aid, file.no).is_some()
            || (file.iso_fid.is_some()
                && self
                    .files
                    .iter()
                    .any(|f| f.aid == file.aid && f.iso_fid == file.iso_fid))
        {
            return Err(Status::DUPLICATE_ERROR);
        }
        let mut placed = file;
        let data_len = match &mut placed.kind {
            FileKind::Data {
                backup,
                size,
                offset,
                active,
            } => {
                if *size == 0 {
                    return Err(Status::PARAMETER_ERROR);
                }
                *offset = 0;
                *active = 0;
                let regions = if *backup { 2 } else { 1 };
                data_cost(u64::from(*size)).saturating_mul(regions)
            }
            FileKind::Value {
                lower,
                upper,
                value,
                limited_value,
                ..
            } => {
                if lower > upper || !(*lower..=*upper).contains(value) || *limited_value < 0 {
                    return Err(Status::PARAMETER_ERROR);
                }
                0
            }
            FileKind::Record {
                cyclic,
                size,
                max,
                count,
                offset,
                active,
            } => {
                if *size == 0 || *max == 0 || (*cyclic && *max < 2) {
                    return Err(Status::PARAMETER_ERROR);
                }
                let capacity = if *cyclic { max.saturating_sub(1) } else { *max };
                if *count > capacity {
                    return Err(Status::BOUNDARY_ERROR);
                }
                *offset = 0;
                *active = 0;
                let len = u64::from(*size).saturating_mul(u64::from(*max));
                data_cost(len).saturating_mul(2)
            }
        };
        if self.files.is_full() {
            return Err(Status::OUT_OF_EEPROM);
        }
        let start = self.allocate(FILE_HEADER_COST.saturating_add(data_len))?;
        let data_at = start
            .checked_add(FILE_HEADER_COST as u32)
            .ok_or(Status::OUT_OF_EEPROM)?;
        match &mut placed.kind {
            FileKind::Data { offset, .. } | FileKind::Record { offset, .. } => *offset = data_at,
            FileKind::Value { .. } => {}
        }
        // Fresh memory reads as zeros (FormatPICC zeroes; allocation never reuses).
        self.files.push(placed).map_err(|_| Status::OUT_OF_EEPROM)?;
        Ok(placed)
    }

    /// A region of the arena.
    pub fn region(&self, offset: u32, len: u32) -> Option<&[u8]> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.arena.get(start..end)
    }

    /// A region of the arena, mutable.
    pub fn region_mut(&mut self, offset: u32, len: u32) -> Option<&mut [u8]> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.arena.get_mut(start..end)
    }
}

/// Memory accounted for an application with `keys` keys: a 32-byte directory entry and 24 bytes
/// per key (key, version, counters), rounded up to 32.
pub fn app_cost(keys: u8) -> u64 {
    24u64.saturating_mul(u64::from(keys)).saturating_add(32)
}

/// Memory accounted for a file header.
pub const FILE_HEADER_COST: u64 = 32;

/// Memory a data region of `len` bytes takes (rounded to the 32-byte block).
pub fn data_cost(len: u64) -> u64 {
    len.div_ceil(BLOCK as u64).saturating_mul(BLOCK as u64)
}

/// ISO/IEC 7816-4 file identifiers an application or file cannot take: the MF (`3F00`), and
/// `3FFF`, `FFFF` (reserved by ISO/IEC 7816-4).
pub fn reserved_fid(fid: u16) -> bool {
    matches!(fid, 0x3F00 | 0x3FFF | 0xFFFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Access, AccessRights};

    fn aid(v: u32) -> Aid {
        Aid::new(v).unwrap()
    }

    fn file(no: u8, kind: FileKind) -> File {
        File {
            aid: aid(0x0AC501),
            no,
            iso_fid: None,
            comm: CommMode::Plain,
            rights: AccessRights {
                read: Access::Free,
                write: Access::Free,
                read_write: Access::Free,
                change: Access::Free,
            },
            kind,
        }
    }

    #[test]
    fn add_application_and_file_take_memory_in_blocks() {
        let mut s = State::factory([4, 1, 2, 3, 4, 5, 6]);
        s.default_key.version = 7;
        let app = s
            .add_application(
                aid(0x0AC501),
                KeySettings::DEFAULT,
                3,
                Some(0xE105),
                b"NAME",
            )
            .unwrap();
        assert_eq!(app.keys[2].version, 7, "new keys are the default key");
        assert_eq!(s.used, 128, "32 + 3 x 24 = 104, rounded up");
        let data = FileKind::Data {
            backup: true,
            size: 33,
            offset: 0,
            active: 1,
        };
        let placed = s.add_file(file(1, data)).unwrap();
        assert_eq!(
            placed.kind,
            FileKind::Data {
                backup: true,
                size: 33,
                offset: 160,
                active: 0
            }
        );
        assert_eq!(s.used, 128 + 32 + 2 * 64);
        assert_eq!(
            s.add_file(file(1, data)),
            Err(Status::DUPLICATE_ERROR),
            "same number"
        );
        assert_eq!(
            s.add_application(aid(0x0AC502), KeySettings::DEFAULT, 1, None, b"NAME")
                .map(|_| ()),
            Err(Status::DUPLICATE_ERROR),
            "same DF name"
        );
    }

    #[test]
    fn add_file_checks_the_card_rules() {
        let mut s = State::factory([4, 1, 2, 3, 4, 5, 6]);
        let value = |lower, upper, value| FileKind::Value {
            lower,
            upper,
            value,
            limited_value: 0,
            limited_enabled: false,
            free_get: false,
        };
        assert_eq!(
            s.add_file(file(0, value(0, 1, 0))),
            Err(Status::APPLICATION_NOT_FOUND)
        );
        s.add_application(aid(0x0AC501), KeySettings::DEFAULT, 1, None, &[])
            .unwrap();
        let used = s.used;
        assert_eq!(
            s.add_file(file(0, value(1, 0, 0))),
            Err(Status::PARAMETER_ERROR)
        );
        assert_eq!(
            s.add_file(file(0, value(0, 10, 11))),
            Err(Status::PARAMETER_ERROR)
        );
        let cyclic = |max, count| FileKind::Record {
            cyclic: true,
            size: 4,
            max,
            count,
            offset: 0,
            active: 0,
        };
        assert_eq!(
            s.add_file(file(0, cyclic(1, 0))),
            Err(Status::PARAMETER_ERROR)
        );
        assert_eq!(
            s.add_file(file(0, cyclic(3, 3))),
            Err(Status::BOUNDARY_ERROR),
            "a cyclic file keeps one record free"
        );
        let mut with_fid = file(0, value(0, 1, 0));
        with_fid.iso_fid = Some(0xE101);
        assert_eq!(
            s.add_file(with_fid),
            Err(Status::PARAMETER_ERROR),
            "an ISO FID needs an ISO application"
        );
        let big = FileKind::Data {
            backup: false,
            size: 9000,
            offset: 0,
            active: 0,
        };
        assert_eq!(s.add_file(file(0, big)), Err(Status::OUT_OF_EEPROM));
        assert_eq!(s.used, used, "a refused file takes no memory");
        assert!(s.files.is_empty());
    }
}
