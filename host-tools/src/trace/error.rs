//! Why the decoder could not follow an exchange.

use desfire_core::wire::CommMode;

use super::assemble::Incomplete;

/// A reason an exchange could not be followed. The decoder reports it and goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// The command has no response in the trace.
    #[error("no response from the card")]
    NoResponse,
    /// `91AF` without the `90 AF` continuation.
    #[error("the card asked for more frames (91AF) but the trace does not continue the exchange")]
    ChainNotFinished,
    /// An `AF` frame with nothing awaiting it.
    #[error("AdditionalFrame without a command awaiting it (frames missing?)")]
    StrayAdditionalFrame,
    /// Neither a native (`90`) nor an ISO (`00`) command.
    #[error("class byte {0:02X} is neither 90 (native DESFire) nor 00 (ISO/IEC 7816-4)")]
    UnsupportedClass(u8),
    /// An authentication without its key number byte.
    #[error("authentication command without a key number")]
    NoKeyNumber,
    /// The card's challenge is not one AES block.
    #[error("challenge E(K, RndB) has {0} byte(s), expected 16")]
    ChallengeLength(usize),
    /// The reader's answer is not two AES blocks.
    #[error("the reader's E(K, RndA || RndB') has {0} byte(s), expected 32")]
    TokenLength(usize),
    /// The card's confirmation has the wrong length.
    #[error("the card's confirmation has {got} byte(s), expected {expected}")]
    ConfirmationLength {
        /// 32 (EV2First) or 16 (EV2NonFirst).
        expected: usize,
        /// Bytes present.
        got: usize,
    },
    /// No key was supplied for this key number.
    #[error("no key given for key {0} (use --key {0}=HEX or --key HEX)")]
    NoKey(u8),
    /// RndB' did not verify under any supplied key.
    #[error("none of the {candidates} key(s) tried for key {key_no} verifies RndB' (wrong key?)")]
    RndBMismatch {
        /// The key number authenticated.
        key_no: u8,
        /// How many keys were tried.
        candidates: usize,
    },
    /// RndB' verified but the card's RndA' did not.
    #[error("RndA' in the card's confirmation does not verify")]
    RndAMismatch,
    /// AuthenticateLRPFirst.
    #[error("LRP authentication (AuthenticateLRPFirst) is not followed by this decoder")]
    Lrp,
    /// EV1 AES/ISO or legacy authentication.
    #[error("{0} (EV1 or legacy authentication) is not followed by this decoder")]
    LegacyAuthentication(&'static str),
    /// AuthenticateEV2NonFirst needs the TI and counter of a followed session.
    #[error("AuthenticateEV2NonFirst outside a followed session: TI and CmdCtr are unknown")]
    NonFirstWithoutSession,
    /// The MACs verified only at a later counter value.
    #[error(
        "MACs verify at CmdCtr {found}, not at {expected}: exchanges are missing from the trace"
    )]
    CounterSkipped {
        /// The counter the decoder expected.
        expected: u16,
        /// The counter the MACs verified at.
        found: u16,
    },
    /// The command MAC did not verify (the response MAC did).
    #[error("command MAC does not verify")]
    CommandMac,
    /// The response MAC did not verify (the command MAC did).
    #[error("response MAC does not verify")]
    ResponseMac,
    /// The response has no room for a MAC.
    #[error("response MAC missing")]
    MissingResponseMac,
    /// The command must be secured, but no MAC verifies.
    #[error(
        "no MAC verifies although the command is in CommMode.{0:?} (wrong session state or frames missing?)"
    )]
    NoMac(CommMode),
    /// Command data decrypted to something without valid padding.
    #[error("decrypted command data has no valid ISO/IEC 9797-1 method 2 padding")]
    CommandPadding,
    /// Response data decrypted to something without valid padding.
    #[error("decrypted response data has no valid ISO/IEC 9797-1 method 2 padding")]
    ResponsePadding,
}

impl From<Incomplete> for ExchangeError {
    fn from(i: Incomplete) -> Self {
        match i {
            Incomplete::NoResponse => Self::NoResponse,
            Incomplete::ChainNotFinished => Self::ChainNotFinished,
        }
    }
}
