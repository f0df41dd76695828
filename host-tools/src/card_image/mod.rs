//! The card image: a virtual card's persistent state as a JSON file a person can read and edit
//! (`specs/card-image.md`).
//!
//! [`CardImage`] mirrors the file; [`CardImage::from_state`] and [`CardImage::to_state`] convert
//! to and from [`desfire_core::picc::State`]. Loading adds every application and file through
//! [`State::add_application`] and [`State::add_file`], the functions CreateApplication and
//! Create*File use, so a loaded card lays out memory as the card itself does when the same
//! objects are created application by application, each followed by its files.
//!
//! Images hold keys in clear by design: they are lab artefacts for test cards. [`save`] writes
//! them readable by the owner only; key fields print as `[redacted]` in `Debug` and no error
//! message echoes one.

/// The `format` string of this version of the image.
pub const FORMAT: &str = "desfire-card-image/1";

mod convert;
mod error;
mod file;
mod schema;

pub use self::error::{FileError, ImageError, Problem};
pub(crate) use self::file::sync_dir;
pub use self::file::{load, save};
pub use self::schema::{
    Application, CardImage, CommMode, FileImage, FileType, Key, LimitedCredit, Originality, Picc,
    Rights, SecretHex,
};

#[cfg(test)]
mod tests;
