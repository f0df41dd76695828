//! The client side of the vpcd protocol (vsmartcard's virtual PC/SC reader driver): a virtual
//! card connects to pcscd's `vpcd` reader over TCP and from then on looks to every PC/SC program
//! like a card in a contactless reader.
//!
//! The protocol, as the vsmartcard documentation describes it: every message in either direction
//! is a 2-byte big-endian length and that many bytes. vpcd sends
//! - a 1-byte control message: `00` power off, `01` power on, `02` reset (no answer to any of
//!   them), `04` get ATR (answered with the ATR);
//! - anything else: a C-APDU, answered with the R-APDU. A 1-byte message with another value is
//!   a command a PC/SC client sent (a native DESFire command such as GetVersion `60`): pcscd
//!   waits for its answer, and every later connect waits behind it, so it must get one.
//!
//! vpcd also sends GET ATR now and then to see whether the card is still there.
//!
//! The layers, as in smoltcp: [`Message`] is the checked view of one payload; [`Session`] turns
//! a message into the answer, without I/O; [`serve`] moves frames over a socket until vpcd
//! closes it or a [`Stopper`] stops it. Nothing here panics on anything vpcd sends.
//!
//! The session answers the PC/SC GET DATA pseudo-APDU itself (see [`get_data`]), as a
//! contactless reader's firmware does, so that UID-reading software sees the anticollision UID
//! it would see on a real reader.

mod atr;
mod get_data;
mod io;

pub use self::atr::historical_bytes;
pub use self::get_data::{GET_DATA_CLA, GET_DATA_INS, get_data};
pub use self::io::{DEFAULT_ADDR, ServeEnd, Stopper, VpcdError, connect, serve, serve_stream};

use crate::virtual_card::VirtualCard;

/// Largest R-APDU passed through: the largest payload one vpcd frame can carry.
pub const MAX_RAPDU: usize = u16::MAX as usize;

/// `6F 00`, "no precise diagnosis": what vpcd gets when the card says nothing or too much.
pub const SW_NO_PRECISE_DIAGNOSIS: [u8; 2] = [0x6F, 0x00];

/// A vpcd control code: the payload of a 1-byte message with one of the four values vpcd uses
/// ([`Control::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Control(pub u8);

impl Control {
    /// The field goes off.
    pub const POWER_OFF: Control = Control(0x00);
    /// The field comes on.
    pub const POWER_ON: Control = Control(0x01);
    /// Warm reset.
    pub const RESET: Control = Control(0x02);
    /// Asks for the ATR (also vpcd's presence check).
    pub const GET_ATR: Control = Control(0x04);

    /// The control code `byte` is, if it is one of vpcd's four.
    pub fn of(byte: u8) -> Option<Control> {
        [
            Control::POWER_OFF,
            Control::POWER_ON,
            Control::RESET,
            Control::GET_ATR,
        ]
        .into_iter()
        .find(|c| c.0 == byte)
    }
}

impl core::fmt::Display for Control {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Self::POWER_OFF => f.write_str("power off"),
            Self::POWER_ON => f.write_str("power on"),
            Self::RESET => f.write_str("reset"),
            Self::GET_ATR => f.write_str("get ATR"),
            Self(code) => write!(f, "unknown control {code:02X}"),
        }
    }
}

/// One message from vpcd, a view over its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// A 1-byte control message.
    Control(Control),
    /// A C-APDU: two bytes or more, or one byte that is not a control code (a native command).
    Apdu(&'a [u8]),
    /// An empty payload: not part of the protocol, ignored.
    Empty,
}

impl<'a> Message<'a> {
    /// Classifies a payload; every payload is one of the three.
    pub fn parse(payload: &'a [u8]) -> Self {
        match payload {
            [] => Self::Empty,
            [code] => match Control::of(*code) {
                Some(c) => Self::Control(c),
                None => Self::Apdu(payload),
            },
            apdu => Self::Apdu(apdu),
        }
    }
}

/// The card side of a vpcd connection without I/O: messages in, answers out.
#[derive(Debug)]
pub struct Session<C> {
    card: C,
    powered: bool,
}

impl<C: VirtualCard> Session<C> {
    /// A session with the card out of the field.
    pub fn new(card: C) -> Self {
        Self {
            card,
            powered: false,
        }
    }

    /// The card.
    pub fn card(&self) -> &C {
        &self.card
    }

    /// The card back, e.g. to save its state.
    pub fn into_card(self) -> C {
        self.card
    }

    /// Whether the field is on.
    pub fn is_powered(&self) -> bool {
        self.powered
    }

    /// Handles one payload from vpcd; writes the answer into `out` and returns its length, or
    /// `None` when the message gets no answer. `out` must hold [`MAX_RAPDU`] bytes for every
    /// R-APDU to fit; a longer answer is replaced by `6F 00`.
    ///
    /// A C-APDU while the field is off is answered `6F 00`: pcscd powers the card on before it
    /// sends any APDU, so this only happens when vpcd misbehaves.
    pub fn handle(&mut self, payload: &[u8], out: &mut [u8]) -> Option<usize> {
        match Message::parse(payload) {
            Message::Empty => None,
            Message::Control(Control::POWER_OFF) => {
                self.card.power_off();
                self.powered = false;
                None
            }
            Message::Control(Control::POWER_ON) => {
                // vpcd powers on a card that is already on when a client reconnects; a real
                // field stays on, so the card keeps its state.
                if !self.powered {
                    self.card.power_on();
                    self.powered = true;
                }
                None
            }
            Message::Control(Control::RESET) => {
                self.card.reset();
                self.powered = true;
                None
            }
            Message::Control(Control::GET_ATR) => copy_into(self.card.atr(), out),
            Message::Control(_) => None,
            Message::Apdu(_) if !self.powered => copy_into(&SW_NO_PRECISE_DIAGNOSIS, out),
            Message::Apdu(capdu) => {
                if let Some(n) = get_data(
                    capdu,
                    self.card.anticollision_uid(),
                    historical_bytes(self.card.atr()),
                    out,
                ) {
                    let n = if n == 0 {
                        copy_into(&SW_NO_PRECISE_DIAGNOSIS, out)?
                    } else {
                        n
                    };
                    self.card
                        .answered_by_reader(capdu, out.get(..n).unwrap_or_default());
                    return Some(n);
                }
                let n = self.card.transmit(capdu, out);
                if n == 0 || n > out.len() {
                    // Mute, or claims more than it wrote: a card model bug, not vpcd's.
                    return copy_into(&SW_NO_PRECISE_DIAGNOSIS, out);
                }
                Some(n)
            }
        }
    }
}

/// Copies `bytes` to the start of `out`; `6F 00` when they do not fit.
fn copy_into(bytes: &[u8], out: &mut [u8]) -> Option<usize> {
    let source = if bytes.len() <= out.len() {
        bytes
    } else {
        &SW_NO_PRECISE_DIAGNOSIS[..]
    };
    out.get_mut(..source.len())?.copy_from_slice(source);
    Some(source.len())
}

#[cfg(test)]
mod tests;
