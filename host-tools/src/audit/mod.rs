//! The reader audit (`desfire audit`, `desfire demo`): the test cards of
//! `specs/generic-encoding.md` §17 played against a reader under test, one verdict per card.
//!
//! - [`card_id`]: the cards' IDs ([`card_id::CardId`]), as reports and `--cards` write them.
//! - [`cards`]: the card set T0..T15, S1..S4, one catalogue entry each, built from a profile by
//!   the GEN-PACS encoder.
//! - [`behaviour`]: what a test card does wrong on purpose, as a wrapper around any
//!   [`crate::virtual_card::VirtualCard`] (in process, behind vpcd, behind a PN532 emulator).
//! - [`reader`]: the reader under test ([`reader::ReaderUnderTest`]), the reference reader and
//!   the UID-only reader model.
//! - [`command`]: an external reader command (`--reader-cmd`): how it runs and what its exit
//!   means.
//! - `pcsc` (cargo feature `pcsc`): the cards behind pcscd's vpcd reader, the command reading
//!   them through PC/SC.
//! - [`firmware`]: the reader firmware under QEMU as the reader under test, observed at its
//!   OSDP output (`--firmware ELF`).
//! - [`recorder`]: writes down each exchange between the reader and a test card, the commands
//!   named in NXP's terms.
//! - [`run`]: presents the cards, records the exchanges, compares with the conforming verdicts.
//! - [`model`]: what an audit found, the data every report format renders.
//! - [`report`]: the terminal table and the report files (JSON, Markdown, HTML, JUnit XML).

pub mod behaviour;
pub mod card_id;
pub mod cards;
pub mod command;
pub mod firmware;
pub mod model;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod reader;
pub mod recorder;
pub mod report;
pub mod run;
