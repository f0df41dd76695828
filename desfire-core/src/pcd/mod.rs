//! The reader side (PCD, proximity coupling device).
//!
//! Sans-IO: [`auth`] and [`Session`] turn commands into frames and verified frames into
//! [`Response`]s; [`Desfire`] drives them over a [`Transport`], with additional-frame chaining.
//! Any failure (a card error status, a MAC mismatch, an unexpected frame) consumes the session:
//! the card drops its authentication on every error, and so does the reader.

pub mod auth;
mod client;
mod command;
pub mod commands;
mod error;
mod exchange;
mod session;
mod transport;

pub use self::client::{Desfire, FrameSize};
pub use self::command::{
    Command, CommandData, CommandMode, MAX_FRAMES, MAX_HEADER, MAX_INLINE_DATA, Response,
};
pub use self::error::{Error, ProtocolError};
pub use self::exchange::Exchange;
pub use self::session::{Session, open_unauthenticated};
pub use self::transport::{AsyncTransport, Transport};
