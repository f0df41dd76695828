//! What can be wrong with an image ([`ImageError`]: where and what) or its file ([`FileError`]).

use std::path::PathBuf;

use desfire_core::wire::Status;

use super::FORMAT;
use crate::hex_text::HexError;

/// What is wrong at a place in an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// `format` is not [`FORMAT`].
    #[error("unknown format {0:?}, expected {FORMAT:?}")]
    UnknownFormat(String),
    /// Not hex.
    #[error("{0}")]
    Hex(HexError),
    /// Hex of the wrong length.
    #[error("expected {expected} byte(s), got {got}")]
    Length {
        /// What the field takes.
        expected: &'static str,
        /// What it had.
        got: usize,
    },
    /// Not an access right.
    #[error("expected a key number 0 to 13, \"free\" or \"never\"")]
    BadAccess,
    /// `{"test_key": false}`.
    #[error("test_key can only be true; give private_key or signature instead")]
    TestKeyFalse,
    /// A private key that is not a valid secp224r1 scalar.
    #[error("not a valid secp224r1 private key")]
    BadPrivateKey,
    /// An application with one of `iso_fid` and `df_name` but not the other.
    #[error("iso_fid and df_name go together (an ISO application has both)")]
    IsoPair,
    /// A required field of this file type is missing.
    #[error("missing for this file type")]
    Missing,
    /// A field that this file type does not have.
    #[error("not a field of this file type")]
    NotForType,
    /// Limits out of order or the value outside them.
    #[error("needs lower_limit <= value <= upper_limit")]
    Limits,
    /// Data longer than the file.
    #[error("{got} bytes of data for a file of {size}")]
    DataTooLong {
        /// Data bytes.
        got: usize,
        /// File size.
        size: u32,
    },
    /// More records than the file can hold.
    #[error("{got} records, the file holds at most {max}")]
    TooManyRecords {
        /// Records given.
        got: usize,
        /// Capacity (cyclic: `max_records - 1`).
        max: u32,
    },
    /// The same AID, file number, ISO FID or DF name twice.
    #[error("duplicate (AID, file number, ISO FID or DF name already used)")]
    Duplicate,
    /// The card's memory (8192 bytes) or object limits are exceeded.
    #[error("does not fit: the card's memory or object limits are exceeded")]
    OutOfMemory,
    /// The card would refuse to create it, with this status.
    #[error("the card refuses it: {0}")]
    Refused(Status),
}

/// An invalid image: where (a JSON path such as `applications[0].files[2].data`) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct ImageError {
    /// JSON path of the offending field.
    pub path: String,
    /// What is wrong with it.
    pub problem: Problem,
}

/// Why an image file could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not JSON of the image's shape (the message gives line and column).
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The error.
        source: serde_json::Error,
    },
    /// JSON of the right shape, but not a valid card.
    #[error("{path}: {source}")]
    Image {
        /// The file.
        path: PathBuf,
        /// The error.
        source: ImageError,
    },
}
