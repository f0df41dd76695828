//! The `desfire` command-line tool as a library: key diversification, the trace decoder, and the
//! command-line front end, so that the fuzz crate and the tests can drive each part directly.
//!
//! - [`trace`]: decodes a sniffed ISO-wrapped DESFire EV2/EV3 exchange, follows EV2
//!   authentications and secure messaging with keys the user supplies, and reports every
//!   exchange (human text or JSON).
//! - [`args`]: typed parsing of hex keys, key specifications and session specifications given on
//!   the command line; secrets are zeroized.
//! - [`cli`]: the clap front end, one module per subcommand.
//! - [`virtual_card`]: the card traits the emulators drive and [`virtual_card::EmulatedCard`],
//!   desfire-core's card model behind them.
//! - [`vpcd`]: the vpcd client that puts a [`virtual_card::VirtualCard`] behind pcscd's virtual
//!   reader.
//! - [`pn532`]: an emulated PN532 on a Unix socket or a pty, with virtual cards in its field.
//! - `pcsc_reader` (cargo feature `pcsc`): a PC/SC reader as a `desfire_core::pcd::Transport`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Trace files come from the field and from the fuzzer: nothing in the parsers may panic.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

pub mod args;
pub mod audit;
pub mod card_image;
pub mod cli;
pub mod gen_pacs;
pub mod hex_text;
pub mod hsm;
#[cfg(feature = "pcsc")]
pub mod pcsc_reader;
pub mod pn532;
pub mod profile;
pub mod trace;
pub mod virtual_card;
pub mod vpcd;
