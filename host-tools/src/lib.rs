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
pub mod dates;
pub mod framing;
pub mod gen_pacs;
pub mod hex_text;
pub mod hsm;
pub mod key_file;
#[cfg(feature = "pcsc")]
pub mod pcsc_reader;
pub mod pn532;
pub mod profile;
pub mod trace;
pub mod virtual_card;
pub mod vpcd;

/// Every public error of this crate prints itself and is a `std::error::Error`.
#[cfg(test)]
mod errors {
    fn is_error<E: std::error::Error + Send + Sync + 'static>() {}

    #[test]
    fn every_public_error_is_a_std_error() {
        is_error::<crate::args::ArgError>();
        is_error::<crate::args::KeyLoadError>();
        is_error::<crate::audit::cards::CardError>();
        is_error::<crate::audit::command::CommandError>();
        is_error::<crate::audit::firmware::FirmwareError>();
        is_error::<crate::audit::report::ReportError>();
        is_error::<crate::card_image::FileError>();
        is_error::<crate::card_image::ImageError>();
        is_error::<crate::cli::CliError>();
        is_error::<crate::cli::emulate::EmulateError>();
        is_error::<crate::gen_pacs::EncodeError>();
        is_error::<crate::hex_text::HexError>();
        is_error::<crate::hsm::HsmError>();
        is_error::<crate::key_file::KeyFileError>();
        is_error::<crate::pn532::LinkError>();
        is_error::<crate::pn532::frame::TooLong>();
        is_error::<crate::profile::ProfileError>();
        is_error::<crate::trace::text::LineError>();
        is_error::<crate::trace::text::LineErrorKind>();
        is_error::<crate::trace::ExchangeError>();
        is_error::<crate::vpcd::VpcdError>();
        #[cfg(feature = "pcsc")]
        {
            is_error::<crate::audit::pcsc::FieldError>();
            is_error::<crate::cli::card::CardCommandError>();
            is_error::<crate::pcsc_reader::PcscError>();
        }
    }

    #[test]
    fn a_key_file_read_failure_reads_as_the_command_line_reports_it() {
        let e = crate::args::KeyLoadError::Read {
            path: "keys.txt".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let shown = e.to_string();
        assert_eq!(shown, "cannot read keys.txt: entity not found");
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(crate::cli::CliError::from(e).to_string(), shown);
    }
}
