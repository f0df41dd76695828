//! The trace decoder: reads a sniffed exchange between a reader and a MIFARE DESFire EV2/EV3
//! card (ISO/IEC 7816-4 wrapped native commands), follows AuthenticateEV2First/NonFirst with keys
//! the user supplies, and verifies and decrypts EV2 secure messaging.
//!
//! ```
//! use host_tools::trace::{decode, DecodeConfig};
//! use host_tools::args::KeySpec;
//!
//! let config = DecodeConfig {
//!     keys: vec![KeySpec::parse("--key", "0=00000000000000000000000000000000").unwrap()],
//!     start: None,
//! };
//! // AN12196 Rev. 1.8 Table 14.
//! let trace = "> 9071000002000000\n\
//!              < A04C124213C186F22399D33AC2A3021591AF\n\
//!              > 90AF00002035C3E05A752E0144BAC0DE51C1F22C56B34408A23D8AEA266CAB947EA8E0118D00\n\
//!              < 3FA64DB5446D1F34CD6EA311167F5E4985B89690C04A05F17FA7AB2F081206639100\n";
//! let decoded = decode(trace, &config);
//! assert_eq!(decoded.sessions[0].ti.to_string(), "9D00C4DF");
//! assert!(decoded.fully_followed());
//! ```
//!
//! The decoder never panics on its input: every line that is not a frame becomes a
//! [`LineError`], every exchange it cannot follow carries an [`ExchangeError`], and it goes on
//! (unauthenticated) until the next authentication.

mod assemble;
pub mod commands;
mod decoder;
mod error;
mod report;
pub mod text;

pub use self::assemble::{Incomplete, RawFrame};
pub use self::decoder::DecodeConfig;
pub(crate) use self::decoder::status_name;
pub use self::error::ExchangeError;
pub use self::report::{Decoded, ExchangeReport, MacVerdict, SessionOrigin, SessionReport};
pub use self::text::{LineError, LineErrorKind};

use self::assemble::{Unit, assemble};

#[cfg(test)]
mod tests;

/// Decodes a whole trace.
pub fn decode(text: &str, config: &DecodeConfig) -> Decoded {
    let mut decoder = decoder::Decoder::new(config);
    let mut out = Decoded::default();
    for unit in assemble(text::parse(text)) {
        match unit {
            Unit::LineError(e) => out.line_errors.push(e),
            Unit::Exchange(ex) => {
                let report = decoder.exchange(ex, out.exchanges.len());
                out.exchanges.push(report);
            }
        }
    }
    out.sessions = std::mem::take(&mut decoder.sessions);
    out
}
