//! Errors of the reader side, split by layer.

use crate::crypto::CryptoError;
use crate::wire::{self, Status};
use core::convert::Infallible;

/// Violations of the protocol by the other side, or misuse that the engine refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProtocolError {
    /// The response MAC did not verify; the data was discarded unread.
    ResponseMacMismatch,
    /// The card's RndA' is not our RndA rotated: the card does not know the key.
    RndAMismatch,
    /// CmdCtr reached `0xFFFF`: the session can carry no further command.
    CounterExhausted,
    /// The card asked for or offered an additional frame where none belongs.
    UnexpectedAdditionalFrame,
    /// A response is longer than the caller's buffer or the command allows.
    ResponseTooLong,
    /// A response that must carry a MAC is shorter than the MAC.
    MissingMac,
    /// Decrypted Full-mode data has malformed padding (after a valid MAC: a card bug).
    BadPadding,
    /// The command needs an authenticated session.
    NotAuthenticated,
    /// A command frame would exceed the largest frame the caller allows, even with chaining.
    CommandTooLong,
    /// A signature or public key does not decode (r or s out of range, a point off the curve):
    /// [`CryptoError::MalformedSignature`].
    MalformedSignature,
}

impl core::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::ResponseMacMismatch => "response MAC mismatch",
            Self::RndAMismatch => "card's RndA' does not match: wrong key or not a genuine card",
            Self::CounterExhausted => "command counter exhausted; authenticate again",
            Self::UnexpectedAdditionalFrame => "unexpected additional frame",
            Self::ResponseTooLong => "response too long",
            Self::MissingMac => "response too short to carry a MAC",
            Self::BadPadding => "bad padding in decrypted response",
            Self::NotAuthenticated => "not authenticated",
            Self::CommandTooLong => "command too long",
            Self::MalformedSignature => "malformed public key or signature",
        })
    }
}

impl core::error::Error for ProtocolError {}

/// An error of the reader side. `E` is the transport's error; sans-IO calls use `Error<Infallible>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error<E = Infallible> {
    /// A frame was malformed.
    Wire(wire::Error),
    /// The card answered with an error status.
    Card(Status),
    /// The exchange broke the protocol.
    Protocol(ProtocolError),
    /// The transport failed to move a frame.
    Transport(E),
}

impl Error<Infallible> {
    /// The same error in a context with a transport.
    pub fn lift<E>(self) -> Error<E> {
        match self {
            Self::Wire(e) => Error::Wire(e),
            Self::Card(s) => Error::Card(s),
            Self::Protocol(p) => Error::Protocol(p),
            Self::Transport(never) => match never {},
        }
    }
}

impl<E> From<wire::Error> for Error<E> {
    fn from(e: wire::Error) -> Self {
        Self::Wire(e)
    }
}

impl<E> From<ProtocolError> for Error<E> {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

impl<E> From<CryptoError> for Error<E> {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::BufferTooSmall => Self::Wire(wire::Error::BufferTooSmall),
            CryptoError::NotBlockAligned => Self::Wire(wire::Error::BadLength),
            CryptoError::BadPadding => Self::Protocol(ProtocolError::BadPadding),
            CryptoError::MalformedSignature => Self::Protocol(ProtocolError::MalformedSignature),
        }
    }
}

impl<E: core::fmt::Display> core::fmt::Display for Error<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Wire(e) => write!(f, "malformed frame: {e}"),
            Self::Card(s) => write!(f, "card error {s}"),
            Self::Protocol(p) => write!(f, "protocol error: {p}"),
            Self::Transport(e) => write!(f, "transport error: {e}"),
        }
    }
}

impl<E: core::fmt::Debug + core::fmt::Display> core::error::Error for Error<E> {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    /// Each cryptographic failure keeps its meaning in the engine's error: a malformed
    /// signature is not a length error.
    #[test]
    fn crypto_errors_keep_their_cause() {
        let lift = |e: CryptoError| -> Error { e.into() };
        assert_eq!(
            lift(CryptoError::MalformedSignature),
            Error::Protocol(ProtocolError::MalformedSignature)
        );
        assert_eq!(
            lift(CryptoError::NotBlockAligned),
            Error::Wire(wire::Error::BadLength)
        );
        assert_eq!(
            lift(CryptoError::BufferTooSmall),
            Error::Wire(wire::Error::BufferTooSmall)
        );
        assert_eq!(
            lift(CryptoError::BadPadding),
            Error::Protocol(ProtocolError::BadPadding)
        );
        assert_eq!(
            std::format!("{}", ProtocolError::MalformedSignature),
            std::format!("{}", CryptoError::MalformedSignature)
        );
    }
}
