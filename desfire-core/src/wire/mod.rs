//! Bytes on the wire: ISO/IEC 7816-4 wrapping of native DESFire commands, status codes,
//! typed identifiers and a checked cursor over untrusted input.

mod apdu;
mod command;
mod file_settings;
mod ins;
mod key_settings;
mod reader;
mod status;
mod types;
mod version;

pub use self::apdu::{CLA_NATIVE, MAX_SHORT_LC, RApdu, emit_capdu};
pub use self::command::{
    CommandSpec, Completion, EndsSession, FileRight, Kind, ModeRule, completes, spec,
};
pub use self::file_settings::{AdditionalAccessRights, FileKind, FileSettings};
pub use self::ins::Ins;
pub use self::key_settings::{ChangeKeyAccess, KeySettings};
pub use self::reader::Reader;
pub use self::status::Status;
pub use self::types::*;
pub use self::version::{Product, StorageSize, Version, VersionPart};

/// Errors in the encoding of a frame, before any meaning is attached to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The input ended before a field was complete.
    Truncated,
    /// Bytes were left after the last field.
    TrailingData,
    /// A field has a length the command does not allow.
    BadLength,
    /// A field has a value outside its range.
    BadValue,
    /// The caller's output buffer is too small.
    BufferTooSmall,
    /// The R-APDU's SW1 is not `91` (native) or `90` (ISO).
    NotDesfireStatus {
        /// SW1
        sw1: u8,
        /// SW2
        sw2: u8,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Truncated => f.write_str("frame truncated"),
            Self::TrailingData => f.write_str("trailing bytes after the last field"),
            Self::BadLength => f.write_str("field length not allowed"),
            Self::BadValue => f.write_str("field value out of range"),
            Self::BufferTooSmall => f.write_str("output buffer too small"),
            Self::NotDesfireStatus { sw1, sw2 } => {
                write!(f, "status word {sw1:02X}{sw2:02X} is not a DESFire status")
            }
        }
    }
}

impl core::error::Error for Error {}

/// A little writer over a caller buffer; every write is checked.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Writer<'a> {
    /// Writes into `buf` from its start.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// Appends bytes.
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let end = self
            .len
            .checked_add(bytes.len())
            .ok_or(Error::BufferTooSmall)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(Error::BufferTooSmall)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Appends one byte.
    pub fn put_u8(&mut self, b: u8) -> Result<(), Error> {
        self.put(&[b])
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The written bytes.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// The unwritten rest of the buffer, for in-place transforms.
    pub fn buffer_mut(&mut self) -> &mut [u8] {
        self.buf
    }

    /// Marks `n` more bytes as written (after filling them through [`Self::buffer_mut`]).
    pub fn advance(&mut self, n: usize) -> Result<(), Error> {
        let end = self
            .len
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or(Error::BufferTooSmall)?;
        self.len = end;
        Ok(())
    }
}
